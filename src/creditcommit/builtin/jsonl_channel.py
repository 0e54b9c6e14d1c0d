"""The built-in publishing channel: one JSON object per line in a file (JSON Lines).

:class:`JsonLinesChannel` appends each published message as a line and fsyncs it before
``publish`` returns, so an acknowledged message survives a crash. It is idempotent on the
message key: the keys already in the file are read when the channel is opened, and again
(from where it stopped) before every append, under an exclusive file lock on POSIX systems,
so several channel objects and processes may share one file. On Windows there is no file
lock: use one process per file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from creditcommit.errors import DataFileError, Problem
from creditcommit.ports import OutboxMessage

__all__ = ["JsonLinesChannel"]

if sys.platform == "win32":  # pragma: no cover - no advisory file locks on Windows

    def _lock(fh: IO[bytes]) -> None:
        pass

    def _unlock(fh: IO[bytes]) -> None:
        pass

else:
    import fcntl

    def _lock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)

    def _unlock(fh: IO[bytes]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _plain(value: object) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"a published payload must be JSON data, got {type(value).__name__}")


def _line(message: OutboxMessage) -> bytes:
    data = {
        "key": message.key,
        "destination": message.destination,
        "topic": message.topic,
        "city": message.city,
        "created_at": message.created_at.isoformat(),
        "payload": dict(message.payload),
    }
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=_plain)
    return text.encode("utf-8") + b"\n"


class JsonLinesChannel:
    """A publishing channel (公示渠道) that appends messages to a JSON-lines file.

    Each line is an object with ``key``, ``destination``, ``topic``, ``city``,
    ``created_at`` (ISO 8601) and ``payload``. A message whose key is already in the file
    is not written again. A last line cut short by a crash (no newline: never acknowledged)
    is removed before the next append.

    :param path: the file (created on the first publish).
    :param name: the channel name (outbox destination ``channel:<name>``).
    :raises DataFileError: a complete line of the file is not a message.
    """

    def __init__(self, path: str | os.PathLike[str], *, name: str = "jsonl") -> None:
        self.path = Path(path)
        self.name = name
        self._keys: set[str] = set()
        self._offset = 0
        self._lines = 0
        self._lock = threading.Lock()
        with self._lock:
            if self.path.exists():
                with open(self.path, "rb") as fh:
                    self._scan(fh)

    def __repr__(self) -> str:
        return f"JsonLinesChannel({str(self.path)!r}, name={self.name!r})"

    def publish(self, message: OutboxMessage) -> None:
        """Append ``message`` and fsync, unless its key is already in the file."""
        line = _line(message)
        with self._lock, open(self.path, "a+b") as fh:
            _lock(fh)
            try:
                self._scan(fh)
                if message.key in self._keys:
                    return
                fh.truncate(self._offset)  # drop a torn last line, if any
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
                self._offset += len(line)
                self._lines += 1
                self._keys.add(message.key)
            finally:
                _unlock(fh)

    def keys(self) -> frozenset[str]:
        """The keys of the messages in the file when it was last read or written."""
        with self._lock:
            return frozenset(self._keys)

    def messages(self) -> tuple[OutboxMessage, ...]:
        """Every message in the file, in order (a torn last line is skipped)."""
        if not self.path.exists():
            return ()
        found: list[OutboxMessage] = []
        with open(self.path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                if not raw.endswith(b"\n"):
                    break
                data = self._parse(raw, number)
                found.append(
                    OutboxMessage(
                        key=data["key"],
                        destination=data["destination"],
                        topic=data["topic"],
                        city=data["city"],
                        payload=data["payload"],
                        created_at=dt.datetime.fromisoformat(data["created_at"]),
                    )
                )
        return tuple(found)

    def _scan(self, fh: IO[bytes]) -> None:
        """Read the complete lines after the last offset and remember their keys."""
        fh.seek(self._offset)
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # torn (or still being written by a process without the lock)
            self._lines += 1
            self._keys.add(self._parse(raw, self._lines)["key"])
            self._offset += len(raw)

    def _parse(self, raw: bytes, number: int) -> dict[str, Any]:
        where = f"line[{number}]"
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise DataFileError(str(self.path), [Problem(where, f"not JSON: {exc}")]) from None
        if not isinstance(data, dict) or not isinstance(data.get("key"), str):
            raise DataFileError(
                str(self.path), [Problem(where, "expected a JSON object with a string key")]
            )
        return data
