"""Sphinx extension: writes the generated reference pages before Sphinx reads the sources.

The pages are included by the hand-written pages under ``docs/reference/`` with MyST's
``{include}`` directive; they are regenerated on every build, so they follow the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ccdocs_gen

GENERATED = Path(__file__).resolve().parent.parent / "reference" / "_generated"


def _generate(app: Any) -> None:
    ccdocs_gen.write_all(GENERATED)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
