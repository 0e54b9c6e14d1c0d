"""Delivering the outbox (投递): take due messages from the store and hand them to the ports.

:func:`deliver` is the shell loop behind "a crash loses nothing": the events and the
messages they cause are written in one transaction (see
:class:`~creditcommit.ports.EventStore`), and this function sends each due message to its
destination, records success, or records the failure and schedules a retry with a
deterministic exponential :class:`Backoff`. A message is delivered **at least once**; the
receiving port is idempotent on ``message.key``, so each message takes effect exactly once.

Routing is by ``destination``: ``"channel:<name>"`` goes to the publishing channel of that
name (``publish``), ``"registry:<name>"`` to the credit registry of that name (``push``),
``"licences:<name>"`` to the e-licence store of that name (topic ``licence-issued`` →
``record``, ``licence-withdrawn`` → ``withdraw``). An
unknown destination is a failure recorded on the message, like any exception from a port:
:func:`deliver` never raises to its caller. A message that fails ``max_attempts`` times
(:data:`DEFAULT_MAX_ATTEMPTS`) becomes a **dead letter**: it is no longer retried until
someone retries it by hand (``EventStore.retry``, ``creditcommit outbox retry KEY``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import attrs

from creditcommit.errors import InvalidValue, Problem
from creditcommit.ports import (
    CreditRegistry,
    EventStore,
    IssuedLicence,
    LicenceStore,
    OutboxMessage,
    PendingMessage,
    PublishingChannel,
)

__all__ = [
    "Backoff",
    "DEFAULT_BACKOFF",
    "DEFAULT_MAX_ATTEMPTS",
    "DeliveryFailure",
    "DeliveryReport",
    "Destinations",
    "deliver",
    "deliver_all",
]


@attrs.frozen
class Backoff:
    """When to retry a failed delivery (重试退避): ``base``, then ``factor`` times longer each
    time, never more than ``cap``. No randomness, so a retry schedule can be replayed.

    >>> backoff = Backoff(base=dt.timedelta(seconds=30), factor=2, cap=dt.timedelta(minutes=2))
    >>> [backoff.delay(n).total_seconds() for n in (1, 2, 3, 4)]
    [30.0, 60.0, 120.0, 120.0]
    """

    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    cap: dt.timedelta = dt.timedelta(hours=1)

    def __attrs_post_init__(self) -> None:
        problems = []
        if self.base <= dt.timedelta(0):
            problems.append(Problem("base", f"expected a positive duration, got {self.base}"))
        if not self.factor >= 1:
            problems.append(Problem("factor", f"expected at least 1, got {self.factor}"))
        if self.cap < self.base:
            problems.append(Problem("cap", f"expected at least base ({self.base}), got {self.cap}"))
        if problems:
            raise InvalidValue("Backoff", problems)

    def delay(self, attempts: int) -> dt.timedelta:
        """How long to wait after the ``attempts``-th failed attempt (1 for the first).

        ``min(base * factor ** (attempts - 1), cap)``, computed without overflow.
        """
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        delay = self.base
        for _ in range(attempts - 1):
            if delay >= self.cap or self.factor == 1:
                break
            delay = delay * self.factor
        return min(delay, self.cap)


#: The backoff :func:`deliver` uses unless told otherwise: 30 s, doubling, at most 1 h.
DEFAULT_BACKOFF = Backoff()

#: After this many failed attempts a message is a dead letter (``[delivery] max_attempts``).
DEFAULT_MAX_ATTEMPTS = 10

Port = PublishingChannel | CreditRegistry | LicenceStore


def _frozen(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


T = TypeVar("T", PublishingChannel, CreditRegistry, LicenceStore)


def _file(found: dict[str, T], destination: str, port: T) -> None:
    name = destination.partition(":")[2]
    if name in found:
        raise ValueError(f"two ports are named {destination}")
    found[name] = port


@attrs.frozen
class Destinations:
    """Where outbox messages go: publishing channels and credit registries, by name.

    ``Destinations.of(site, registry)`` files each port under its ``name``, as a channel if
    it has ``publish`` and as a registry if it has ``push``.
    """

    channels: Mapping[str, PublishingChannel] = attrs.field(factory=dict, converter=_frozen)
    registries: Mapping[str, CreditRegistry] = attrs.field(factory=dict, converter=_frozen)
    licences: Mapping[str, LicenceStore] = attrs.field(factory=dict, converter=_frozen)

    @classmethod
    def of(cls, *ports: Port) -> Destinations:
        """File ``ports`` by kind and ``name``; two ports of one kind with one name are an
        error (``ValueError``), as is an object that is no kind of port (``TypeError``)."""
        channels: dict[str, PublishingChannel] = {}
        registries: dict[str, CreditRegistry] = {}
        licences: dict[str, LicenceStore] = {}
        for port in ports:
            filed = False
            if isinstance(port, LicenceStore):
                _file(licences, f"licences:{port.name}", port)
                filed = True
            if isinstance(port, PublishingChannel):
                _file(channels, f"channel:{port.name}", port)
                filed = True
            if isinstance(port, CreditRegistry):
                _file(registries, f"registry:{port.name}", port)
                filed = True
            if not filed:
                raise TypeError(
                    f"{port!r} is neither a publishing channel (name, publish), a credit "
                    "registry (name, push) nor a licence store (name, holdings, record, withdraw)"
                )
        return cls(channels=channels, registries=registries, licences=licences)

    def names(self) -> tuple[str, ...]:
        """Every destination, as messages name them: ``channel:<name>``, ``registry:<name>``."""
        return (
            *(f"channel:{name}" for name in sorted(self.channels)),
            *(f"registry:{name}" for name in sorted(self.registries)),
            *(f"licences:{name}" for name in sorted(self.licences)),
        )

    def route(self, destination: str) -> Callable[[OutboxMessage], None]:
        """The call that delivers to ``destination``; ``LookupError`` when there is none."""
        kind, _, name = destination.partition(":")
        if kind == "channel" and name in self.channels:
            return self.channels[name].publish
        if kind == "registry" and name in self.registries:
            return self.registries[name].push
        if kind == "licences" and name in self.licences:
            return _licence_delivery(self.licences[name])
        known = ", ".join(self.names()) or "none"
        raise LookupError(f"no destination {destination!r} is configured (known: {known})")


def _licence_delivery(store: LicenceStore) -> Callable[[OutboxMessage], None]:
    def deliver(message: OutboxMessage) -> None:
        payload = message.payload
        if message.topic == "licence-issued":
            valid_until = payload.get("valid_until")
            store.record(
                IssuedLicence(
                    reference=str(payload["reference"]),
                    licence_type=str(payload["licence_type"]),
                    subject=str(payload["subject"]),
                    item_code=str(payload["item_code"]),
                    case_id=str(payload["case_id"]),
                    issued_on=dt.date.fromisoformat(str(payload["issued_on"])),
                    valid_until=None
                    if valid_until is None
                    else dt.date.fromisoformat(str(valid_until)),
                ),
                city=message.city,
            )
        elif message.topic == "licence-withdrawn":
            if "holder" not in payload:
                raise ValueError(
                    f"the withdrawal {message.key!r} names no holder (it was queued before "
                    "withdrawals named the holder); check the holder and withdraw the licence "
                    "in the e-licence store by hand"
                )
            store.withdraw(
                str(payload["reference"]),
                city=message.city,
                holder=str(payload["holder"]),
                on=dt.date.fromisoformat(str(payload["withdrawn_on"])),
                reason=str(payload["reason"]),
            )
        else:
            raise ValueError(f"a licence store takes no message of topic {message.topic!r}")

    return deliver


@attrs.frozen
class DeliveryFailure:
    """A message that could not be delivered (or its delivery not recorded) this time.

    ``attempts`` counts the failed attempts so far, this one included; ``retry_at`` is when
    it is due again (``None``: when the store's lease on it runs out, or never for a dead
    letter); ``dead`` is true when this attempt made it a dead letter.
    """

    key: str
    destination: str
    error: str
    attempts: int
    retry_at: dt.datetime | None
    dead: bool = False


@attrs.frozen
class DeliveryReport:
    """What one delivery run did, by message key.

    - ``delivered``: handed to their port and recorded as delivered;
    - ``failed``: the port raised, the destination is unknown, or the store could not record
      the outcome (see :class:`DeliveryFailure`);
    - ``skipped``: not attempted because an earlier message to the same destination failed
      in this run (so a broken channel costs one failed attempt per run, not one per
      message); they stay leased and come back when the lease runs out;
    - ``drained``: nothing more was due when the run ended;
    - ``error``: the store could not be asked for due messages at all (nothing was done).

    ``dead`` lists the keys of the failures that became dead letters in this run.
    """

    delivered: tuple[str, ...] = ()
    failed: tuple[DeliveryFailure, ...] = ()
    skipped: tuple[str, ...] = ()
    drained: bool = True
    error: str | None = None

    @property
    def dead(self) -> tuple[str, ...]:
        return tuple(failure.key for failure in self.failed if failure.dead)

    def __str__(self) -> str:
        text = (
            f"{len(self.delivered)} delivered, {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped"
        )
        if self.dead:
            text += f", {len(self.dead)} now dead letters"
        if self.error is not None:
            text += f"; the store failed: {self.error}"
        elif not self.drained:
            text += "; more are due"
        return text

    def then(self, later: DeliveryReport) -> DeliveryReport:
        """This run followed by ``later``: lists joined, ``drained`` and ``error`` of the
        later run."""
        return DeliveryReport(
            delivered=self.delivered + later.delivered,
            failed=self.failed + later.failed,
            skipped=self.skipped + later.skipped,
            drained=later.drained,
            error=later.error,
        )


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def deliver(
    store: EventStore,
    destinations: Destinations,
    now: dt.datetime,
    *,
    limit: int = 100,
    backoff: Backoff = DEFAULT_BACKOFF,
    lease: dt.timedelta | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    city: str | None = None,
) -> DeliveryReport:
    """Deliver up to ``limit`` messages due at ``now``; never raises (``Exception``).

    Each due message (leased from ``store.pending`` for ``lease``, or the store's default;
    only ``city``'s messages when given) goes to its destination. Success is recorded with
    ``store.delivered``; any exception is recorded with ``store.failed`` and the message is
    due again at ``now + backoff.delay(attempts)`` — or, at its ``max_attempts``-th failed
    attempt, with ``store.dead_letter``: it is not retried again.
    """
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
    try:
        options: dict[str, Any] = {"limit": limit}
        if lease is not None:
            options["lease"] = lease
        if city is not None:
            options["city"] = city
        due = store.pending(now, **options)
    except Exception as exc:
        return DeliveryReport(drained=False, error=_describe(exc))

    delivered: list[str] = []
    failed: list[DeliveryFailure] = []
    skipped: list[str] = []
    broken: set[str] = set()
    for pending in due:
        message = pending.message
        if message.destination in broken:
            skipped.append(message.key)
            continue
        try:
            send = destinations.route(message.destination)
        except LookupError as exc:
            failed.append(_failed(store, pending, exc, now=now, backoff=backoff, most=max_attempts))
            continue
        try:
            send(message)
        except Exception as exc:
            broken.add(message.destination)
            failed.append(_failed(store, pending, exc, now=now, backoff=backoff, most=max_attempts))
            continue
        try:
            store.delivered(message.key, at=now)
        except Exception as exc:
            # The port has it; without the record it is delivered again after the lease,
            # and the port's idempotency on the key absorbs the repeat.
            failed.append(
                DeliveryFailure(
                    key=message.key,
                    destination=message.destination,
                    error=f"delivered, but the store could not record it: {_describe(exc)}",
                    attempts=pending.attempts,
                    retry_at=None,
                )
            )
            continue
        delivered.append(message.key)
    return DeliveryReport(
        delivered=tuple(delivered),
        failed=tuple(failed),
        skipped=tuple(skipped),
        drained=len(due) < limit,
    )


def _failed(
    store: EventStore,
    pending: PendingMessage,
    exc: Exception,
    *,
    now: dt.datetime,
    backoff: Backoff,
    most: int,
) -> DeliveryFailure:
    message, attempts = pending.message, pending.attempts
    error = _describe(exc)
    dead = attempts + 1 >= most
    retry_at = None if dead else now + backoff.delay(attempts + 1)
    try:
        if retry_at is None:
            store.dead_letter(message.key, at=now, error=error)
        else:
            store.failed(message.key, at=now, error=error, retry_at=retry_at)
    except Exception as store_exc:
        error += f"; the store could not record the failure: {_describe(store_exc)}"
        return DeliveryFailure(message.key, message.destination, error, attempts, None)
    return DeliveryFailure(
        message.key, message.destination, error, attempts + 1, retry_at, dead=dead
    )


def deliver_all(
    store: EventStore,
    destinations: Destinations,
    now: dt.datetime,
    *,
    limit: int = 100,
    backoff: Backoff = DEFAULT_BACKOFF,
    lease: dt.timedelta | None = None,
    max_rounds: int = 100,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    city: str | None = None,
) -> DeliveryReport:
    """Run :func:`deliver` until nothing is due at ``now``, at most ``max_rounds`` times.

    Every round takes fresh messages: failed ones are rescheduled after ``now`` and skipped
    ones stay leased. The report joins the rounds; ``drained`` is false when the bound
    stopped the loop with messages still due. ``max_attempts`` and ``city`` are passed to
    :func:`deliver`.
    """
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, got {max_rounds}")
    report = DeliveryReport(drained=False)
    for _ in range(max_rounds):
        report = report.then(
            deliver(
                store,
                destinations,
                now,
                limit=limit,
                backoff=backoff,
                lease=lease,
                max_attempts=max_attempts,
                city=city,
            )
        )
        if report.drained or report.error is not None:
            break
    return report
