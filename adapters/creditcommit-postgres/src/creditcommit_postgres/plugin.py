"""The pluggy plugin: opens :class:`~creditcommit_postgres.PostgresEventStore` for
``postgresql://`` and ``postgres://`` store URLs.

Registered on the ``creditcommit`` entry-point group as ``postgres``; for any other scheme it
returns ``None`` and the next plugin (the built-in one for ``sqlite:``) is asked.
"""

from __future__ import annotations

from creditcommit.hookspecs import hookimpl
from creditcommit.ports import EventStore
from creditcommit_postgres.store import SCHEMES, PostgresEventStore

__all__ = ["creditcommit_event_store"]


@hookimpl
def creditcommit_event_store(url: str) -> EventStore | None:
    """The PostgreSQL event store for ``postgresql://`` and ``postgres://`` URLs."""
    if url.partition(":")[0].lower() not in SCHEMES:
        return None
    return PostgresEventStore.from_url(url)
