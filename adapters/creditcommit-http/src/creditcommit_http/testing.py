"""A fake upstream implementing the JSON contract, with switchable faults, for tests.

:class:`FakeUpstream` is the contract in memory: a credit platform (grades and records, which
records pushed to its registry join), an e-licence system and a publication site. Serve it
through ``httpx.MockTransport`` (:meth:`FakeUpstream.transport`) or on a real socket on
127.0.0.1 (:class:`FakeUpstreamServer`). Faults are switched on per path prefix
(:meth:`FakeUpstream.fail`): a delay, an HTTP status, a reply that is not JSON, a reply with
the wrong types, a reply about another subject. With ``bearer`` or ``gateway_secrets`` set,
requests without a valid token or signature get 401.

The pytest plugin of this distribution (entry point ``pytest11``) provides the fixtures
``fake_upstream`` and ``fake_upstream_server``.
"""

from __future__ import annotations

import email.message
import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any, Self

import attrs
import httpx

from creditcommit.credit import CreditRecord
from creditcommit_http.auth import verify_signature

__all__ = ["Fault", "FakeUpstream", "FakeUpstreamServer"]

_FAULTS = frozenset({"delay", "status", "not-json", "wrong-types", "wrong-subject"})


@attrs.frozen
class Fault:
    """A fault the fake upstream injects.

    ``kind``: ``"delay"`` (wait ``seconds`` before answering), ``"status"`` (answer
    ``status``), ``"not-json"``, ``"wrong-types"`` (valid JSON, wrong shape),
    ``"wrong-subject"`` (a credit reply about another subject).
    """

    kind: str
    seconds: float = 0.0
    status: int = 503

    def __attrs_post_init__(self) -> None:
        if self.kind not in _FAULTS:
            raise ValueError(f"unknown fault {self.kind!r}; expected one of {sorted(_FAULTS)}")


@attrs.define
class _Armed:
    fault: Fault
    prefix: str
    times: int | None


@attrs.frozen
class Reply:
    """What the fake answers: status, JSON-ready body (or raw bytes) and a delay."""

    status: int
    body: Any = None
    raw: bytes | None = None
    delay: float = 0.0

    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, ensure_ascii=False).encode()


class FakeUpstream:
    """The JSON contract in memory (thread-safe)."""

    def __init__(
        self,
        *,
        scale: str = "yangzhou-a-e",
        bearer: str | None = None,
        gateway_secrets: Mapping[str, str] | None = None,
    ) -> None:
        self.scale = scale
        self.bearer = bearer
        self.gateway_secrets = None if gateway_secrets is None else dict(gateway_secrets)
        self._lock = threading.Lock()
        self._grades: dict[tuple[str, str], str] = {}
        self._records: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._registry: dict[str, dict[str, Any]] = {}
        self._licences: dict[tuple[str, str], dict[str, Any]] = {}
        self._withdrawn: dict[tuple[str, str], dict[str, Any]] = {}
        self._published: list[str] = []
        self._publications: dict[str, dict[str, Any]] = {}
        self._faults: list[_Armed] = []
        self._nonces: set[str] = set()
        #: Every request seen, as (method, path): tests count calls with it.
        self.requests: list[tuple[str, str]] = []

    # -- set-up -----------------------------------------------------------------------

    def set_grade(self, subject: str, grade: str | None, *, city: str) -> None:
        with self._lock:
            if grade is None:
                self._grades.pop((city, subject), None)
            else:
                self._grades[(city, subject)] = grade

    def add_record(self, record: CreditRecord, *, city: str) -> None:
        with self._lock:
            self._records.setdefault((city, record.subject), {})[record.record_id] = (
                record.to_dict()
            )

    def fail(self, fault: Fault, *, prefix: str = "/", times: int | None = None) -> None:
        """Inject ``fault`` into requests whose path starts with ``prefix``; ``times``
        requests, or until :meth:`heal` when ``None``."""
        with self._lock:
            self._faults.append(_Armed(fault, prefix, times))

    def heal(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    # -- what the fake holds ------------------------------------------------------------

    def published(self) -> list[str]:
        """Keys published, once per effect, in order."""
        with self._lock:
            return list(self._published)

    def publication(self, key: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._publications[key])

    def registry_records(self, subject: str) -> list[CreditRecord]:
        with self._lock:
            found = [m["record"] for m in self._registry.values()]
        return [CreditRecord.from_dict(r) for r in found if r.get("subject") == subject]

    def licence(self, reference: str, *, city: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._licences.get((city, reference))
            return None if found is None else dict(found)

    def withdrawal(self, reference: str, *, city: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._withdrawn.get((city, reference))
            return None if found is None else dict(found)

    # -- serving --------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        """Answer one request (``raw_path`` with its query string)."""
        path, _, query_text = raw_path.partition("?")
        query = urllib.parse.parse_qsl(query_text, keep_blank_values=True)
        with self._lock:
            self.requests.append((method, path))
            refused = self._check_auth(method, path, query, headers, body)
            if refused is not None:
                return Reply(401, {"error": refused})
            fault = self._take_fault(path)
        reply = self._route(method, path, dict(query), body)
        if fault is None:
            return reply
        return self._faulty(fault, reply, path)

    def _check_auth(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> str | None:
        if self.bearer is not None and headers.get("Authorization") != f"Bearer {self.bearer}":
            return "bad token"
        if self.gateway_secrets is not None:
            return verify_signature(
                method=method,
                path=path,
                query=query,
                body=body,
                headers=headers,
                secrets_by_key=self.gateway_secrets,
                now=time.time(),
                seen_nonces=self._nonces,
            )
        return None

    def _take_fault(self, path: str) -> Fault | None:
        for armed in self._faults:
            if path.startswith(armed.prefix):
                if armed.times is not None:
                    armed.times -= 1
                    if armed.times <= 0:
                        self._faults.remove(armed)
                return armed.fault
        return None

    @staticmethod
    def _faulty(fault: Fault, reply: Reply, path: str) -> Reply:
        if fault.kind == "delay":
            return attrs.evolve(reply, delay=fault.seconds)
        if fault.kind == "status":
            return Reply(fault.status, {"error": "injected"})
        if fault.kind == "not-json":
            return Reply(200, raw=b"<html>gateway error</html>")
        if fault.kind == "wrong-types":
            return Reply(200, {"subject": 42, "scale": [], "grade": 7, "records": "none"})
        # wrong-subject
        body = dict(reply.body) if isinstance(reply.body, dict) else {}
        body["subject"] = "91320000000000000X"
        return Reply(reply.status, body)

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return Reply(400, {"error": "body is not JSON"})
        with self._lock:
            match (method, parts):
                case ("GET", ["credit", "v1", "subjects", subject]):
                    return self._lookup(subject, query.get("city", ""))
                case ("PUT", ["registry", "v1", "records", key]):
                    return self._push(key, data)
                case ("GET", ["licences", "v1", "holdings"]):
                    return self._holdings(query)
                case ("PUT", ["licences", "v1", "licences", reference]):
                    return self._record(reference, query.get("city", ""), data)
                case ("PUT", ["licences", "v1", "licences", reference, "withdrawal"]):
                    return self._withdraw(reference, query.get("city", ""), data)
                case ("PUT", ["publications", "v1", "messages", key]):
                    return self._publish(key, data)
        return Reply(404, {"error": "no such endpoint"})

    def _lookup(self, subject: str, city: str) -> Reply:
        records = list(self._records.get((city, subject), {}).values())
        for message in self._registry.values():
            record = message["record"]
            if message["city"] == city and record["subject"] == subject:
                records.append(record)
        return Reply(
            200,
            {
                "subject": subject,
                "scale": self.scale,
                "grade": self._grades.get((city, subject)),
                "records": records,
            },
        )

    def _push(self, key: str, data: Any) -> Reply:
        if not isinstance(data, dict) or not isinstance(data.get("record"), dict):
            return Reply(400, {"error": "expected a record"})
        self._registry.setdefault(key, data)
        return Reply(204)

    def _holdings(self, query: dict[str, str]) -> Reply:
        subject, city, on = query.get("subject", ""), query.get("city", ""), query.get("on", "")
        found = []
        for (where, reference), licence in sorted(self._licences.items()):
            if where != city or licence["subject"] != subject:
                continue
            if (where, reference) in self._withdrawn:
                continue
            if licence["issued_on"] > on:
                continue
            until = licence.get("valid_until")
            found.append(
                {
                    "licence_type": licence["licence_type"],
                    "reference": reference,
                    "valid_until": until,
                }
            )
        return Reply(200, {"subject": subject, "holdings": found})

    def _record(self, reference: str, city: str, data: Any) -> Reply:
        if not isinstance(data, dict) or data.get("reference") != reference:
            return Reply(400, {"error": "expected the licence"})
        held = self._licences.get((city, reference))
        if held is not None and held != data:
            return Reply(409, {"error": "another licence holds this reference"})
        self._licences[(city, reference)] = data
        return Reply(204)

    def _withdraw(self, reference: str, city: str, data: Any) -> Reply:
        held = self._licences.get((city, reference))
        if held is None:
            return Reply(404, {"error": "unknown licence"})
        if not isinstance(data, dict):
            return Reply(400, {"error": "expected a withdrawal"})
        holder = data.get("holder")
        if holder is not None and holder != held["subject"]:
            return Reply(409, {"error": "another holder"})
        self._withdrawn.setdefault((city, reference), data)
        return Reply(204)

    def _publish(self, key: str, data: Any) -> Reply:
        if not isinstance(data, dict) or data.get("key") != key:
            return Reply(400, {"error": "expected a message"})
        if key not in self._publications:
            self._publications[key] = data
            self._published.append(key)
        return Reply(204)

    # -- transports ---------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """An ``httpx.MockTransport`` serving this fake (a delay beyond the request's read
        timeout raises ``httpx.ReadTimeout`` at once instead of waiting)."""

        def handler(request: httpx.Request) -> httpx.Response:
            reply = self.handle(
                request.method,
                request.url.raw_path.decode("ascii"),
                request.headers,
                request.read(),
            )
            timeout = request.extensions.get("timeout", {}).get("read")
            if reply.delay and timeout is not None and reply.delay > timeout:
                raise httpx.ReadTimeout("injected delay", request=request)
            return httpx.Response(
                reply.status,
                content=reply.content(),
                headers={"Content-Type": "application/json"}
                if reply.raw is None
                else {"Content-Type": "text/html"},
            )

        return httpx.MockTransport(handler)


class _Handler(http.server.BaseHTTPRequestHandler):
    fake: FakeUpstream
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.fake.handle(self.command, self.path, _headers(self.headers), body)
        if reply.delay:
            time.sleep(reply.delay)
        content = reply.content()
        try:
            self.send_response(reply.status)
            kind = "application/json" if reply.raw is None else "text/html"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
            pass

    do_GET = do_PUT = do_POST = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet in tests


def _headers(message: email.message.Message) -> httpx.Headers:
    return httpx.Headers(list(message.items()))


class FakeUpstreamServer:
    """Serves a :class:`FakeUpstream` on a real socket at 127.0.0.1 (a free port)."""

    def __init__(self, fake: FakeUpstream) -> None:
        self.fake = fake
        handler = type("Handler", (_Handler,), {"fake": fake})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def running(cls, fake: FakeUpstream) -> Iterator[FakeUpstreamServer]:
        """A generator for fixtures: yields a started server and stops it afterwards."""
        with cls(fake) as server:
            yield server
