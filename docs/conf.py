"""Sphinx configuration: the site is built from the Markdown pages in docs/ with MyST.

``make docs`` builds it with warnings as errors into build/docs.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from creditcommit.__about__ import __version__

project = "creditcommit"
author = "creditcommit developers"
copyright = "creditcommit developers"
version = release = __version__
language = "en"

extensions = ["myst_parser", "ccdocs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "reference/_generated", "**/.pytest_cache"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings: list[str] = []

html_theme = "furo"
html_title = f"creditcommit {__version__}"
html_static_path: list[str] = []
