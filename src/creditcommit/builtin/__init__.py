"""Embedded default adapters (内置适配器): the library works with nothing but Python.

- :class:`FileCreditSource` and :class:`FileCreditRegistry`: credit grades and records in
  one SQLite file; records pushed to the registry come back from the source.
- :class:`FileLicenceStore`: the e-licence store in a SQLite file.
- :class:`JsonLinesChannel`: a publishing channel appending JSON lines to a file.
- :class:`HmacSignatureProvider`: signs commitment letters with HMAC-SHA256 under the key
  in ``CREDITCOMMIT_SIGNING_KEY`` (a stand-in for a CA-issued SM2 signature).

The built-in plugin (:mod:`creditcommit.builtin.plugin`) provides them for the configured
city when no installed plugin does.
"""

from __future__ import annotations

from creditcommit.builtin.credit_file import (
    CSV_COLUMNS,
    CsvImport,
    FileCreditRegistry,
    FileCreditSource,
)
from creditcommit.builtin.jsonl_channel import JsonLinesChannel
from creditcommit.builtin.licence_file import FileLicenceStore
from creditcommit.builtin.signing import (
    SIGNING_KEY_ENV,
    HmacSignatureProvider,
    UnkeyedSignatureProvider,
)

__all__ = [
    "CSV_COLUMNS",
    "CsvImport",
    "FileCreditRegistry",
    "FileCreditSource",
    "FileLicenceStore",
    "HmacSignatureProvider",
    "JsonLinesChannel",
    "SIGNING_KEY_ENV",
    "UnkeyedSignatureProvider",
]
