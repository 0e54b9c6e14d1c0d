"""The publication site (双公示 / 信用网站) over HTTP.

Contract (``schemas/publication.schema.json``)::

    PUT /publications/v1/messages/{key}
        {"key": "...", "city": "...", "topic": "...", "created_at": "...", "payload": {...}}
                                                        → 200, 201 or 204

The site must publish a key once, however often it is sent (the outbox delivers at least once).
"""

from __future__ import annotations

import urllib.parse

from creditcommit.ports import OutboxMessage
from creditcommit_http.caller import Upstream

__all__ = ["HttpPublishingChannel"]

PUBLISH = "publication"


class HttpPublishingChannel:
    """A :class:`~creditcommit.ports.PublishingChannel` on a publication site's API."""

    def __init__(self, upstream: Upstream, *, name: str = "http-publication") -> None:
        self.upstream = upstream
        self.name = name

    def __repr__(self) -> str:
        return f"HttpPublishingChannel(name={self.name!r})"

    def publish(self, message: OutboxMessage) -> None:
        self.upstream.call(
            PUBLISH,
            "PUT",
            f"/publications/v1/messages/{urllib.parse.quote(message.key, safe='')}",
            body={
                "key": message.key,
                "city": message.city,
                "topic": message.topic,
                "created_at": message.created_at.isoformat(),
                "payload": dict(message.payload),
            },
        )
