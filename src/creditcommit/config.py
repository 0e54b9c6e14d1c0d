"""The configuration file ``creditcommit.toml`` (配置): city, store, rules and plugin settings.

:meth:`Config.load` reads the file through the strict converter: every problem is reported
with the file and the path inside it (``plugins.builtin.credit``), all at once. Relative
paths are relative to the directory of the file, never to the working directory.

**Secrets never live in the file.** A plugin setting ending in ``_env`` names the
environment variable that holds the secret (``token_env = "CREDITCOMMIT_CREDIT_TOKEN"``) and
:meth:`PluginSettings.secret` reads it when the plugin asks; a key that looks like a secret
(``password``, ``token``, ``api_key``, ...) is rejected when the file is loaded, and so is a
store URL with a password in it (use ``store_env``).

See ``docs/configuration.md`` for every key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import attrs

from creditcommit._converter import describe, read_toml, structure
from creditcommit.errors import DataFileError, InvalidIdentifier, Problem
from creditcommit.identifiers import USCC, ResidentId
from creditcommit.policy import GRADE_SCALE_PRESETS

__all__ = [
    "BuiltinSettings",
    "CONFIG_FILE",
    "Config",
    "DEFAULT_STORE",
    "PluginSettings",
    "SECRET_WORDS",
]

CONFIG_FILE = "creditcommit.toml"
"""The usual name of the configuration file."""

DEFAULT_STORE = "sqlite:creditcommit.db"
"""The event store used when ``store`` is not set: a SQLite file next to the config file."""

SECRET_WORDS: tuple[str, ...] = (
    "api_key",
    "apikey",
    "access_key",
    "client_secret",
    "credential",
    "credentials",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "pwd",
    "secret",
    "secret_key",
    "token",
    "authorization",
    "cookie",
)
"""A settings key ending in one of these words (ignoring case, ``_`` and ``-``) is taken for a
secret and rejected; ``<key>_env`` names the environment variable instead."""

_CITY = re.compile(r"[0-9]{6}")
# GB/T 2260 province-level prefixes (省级行政区划代码).
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63"}
    | {"64", "65", "71", "81", "82"}
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAMED_POLICIES = ("sample", "national")


def _frozen(value: Any) -> Any:
    """Deep-freeze TOML data: tables become read-only mappings, arrays tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


def _squash(text: str) -> str:
    return text.casefold().replace("-", "").replace("_", "")


def _is_env_key(key: str) -> bool:
    return key.casefold().replace("-", "_").endswith("_env")


def _is_secret_key(key: str) -> bool:
    # Separators are ignored, so that "apiKey", "api-key" and "authtoken" are caught too.
    if _is_env_key(key):
        return False
    name = _squash(key)
    return any(name.endswith(_squash(word)) for word in SECRET_WORDS)


# --------------------------------------------------------------------------- schemas


@attrs.frozen
class _BuiltinSchema:
    credit: str = "credit.db"
    credit_scale: str = "yangzhou-a-e"
    unavailable_subjects: list[str] = attrs.Factory(list)
    licences: str = "licences.db"
    channel: str = "publications.jsonl"
    channel_name: str = "jsonl"
    signing_key_file: str | None = None


@attrs.frozen
class _DeliverySchema:
    max_attempts: int = 10


@attrs.frozen
class _ConfigSchema:
    city: str
    store: str | None = None
    store_env: str | None = None
    catalog: str | None = None
    policy: Any = None
    calendar_overrides: list[str] = attrs.Factory(list)
    plugins: Any = attrs.Factory(dict)
    delivery: _DeliverySchema = attrs.Factory(_DeliverySchema)


@attrs.frozen(kw_only=True)
class BuiltinSettings:
    """Settings of the built-in plugin, from ``[plugins.builtin]`` (paths made absolute).

    The built-in adapters (:mod:`creditcommit.builtin`) answer for the configured city only,
    and only when no installed plugin does (see ``docs/plugins.md``).
    """

    credit: Path
    """SQLite file of credit grades and records (credit source and credit registry)."""
    credit_scale: str = "yangzhou-a-e"
    """Name of the grade scale the grades in the credit file are on."""
    unavailable_subjects: frozenset[str] = frozenset()
    """Testing aid: subjects whose lookup fails as if the credit source were down."""
    licences: Path
    """SQLite file of the e-licence store."""
    channel: Path
    """JSON-lines file the built-in publishing channel appends to."""
    channel_name: str = "jsonl"
    """Name of that channel (outbox destination ``channel:<name>``)."""
    signing_key_file: Path | None = None
    """A file holding the key commitment letters are signed with (instead of the environment
    variable ``CREDITCOMMIT_SIGNING_KEY``); keep it readable by the service only."""


def _builtin_settings(
    raw: object, root: Path, source: str
) -> tuple[BuiltinSettings, list[Problem]]:
    prefix = "plugins.builtin"
    try:
        schema = structure(raw, _BuiltinSchema, source=source)
    except DataFileError as exc:
        moved = [
            Problem(f"{prefix}.{p.path}" if p.path else prefix, p.message) for p in exc.problems
        ]
        return _builtin_from(_BuiltinSchema(), root), moved
    problems: list[Problem] = []
    if schema.credit_scale not in GRADE_SCALE_PRESETS:
        known = ", ".join(repr(name) for name in sorted(GRADE_SCALE_PRESETS))
        problems.append(
            Problem(
                f"{prefix}.credit_scale",
                f"expected one of {known}, got {schema.credit_scale!r}",
            )
        )
    for key in ("credit", "licences", "channel", "channel_name"):
        value = getattr(schema, key)
        if not value.strip():
            problems.append(Problem(f"{prefix}.{key}", "expected a non-empty string"))
    subjects: list[str] = []
    for i, subject in enumerate(schema.unavailable_subjects):
        if not subject.strip():
            problems.append(
                Problem(f"{prefix}.unavailable_subjects[{i}]", "expected a non-empty subject")
            )
            continue
        # Stored as an Applicant holds it, so a typed spelling still matches the applicant.
        try:
            subjects.append(USCC.parse(subject).value)
        except InvalidIdentifier as as_uscc:
            try:
                subjects.append(ResidentId.parse(subject).value)
            except InvalidIdentifier as as_rid:
                problems.append(
                    Problem(
                        f"{prefix}.unavailable_subjects[{i}]",
                        "expected a USCC or a resident identity number; as a USCC: "
                        f"{as_uscc.detail} (rule: {as_uscc.rule}); as a resident identity "
                        f"number: {as_rid.detail} (rule: {as_rid.rule})",
                    )
                )
    schema = attrs.evolve(schema, unavailable_subjects=subjects)
    return _builtin_from(schema, root), problems


def _builtin_from(schema: _BuiltinSchema, root: Path) -> BuiltinSettings:
    return BuiltinSettings(
        credit=root / schema.credit,
        credit_scale=schema.credit_scale,
        unavailable_subjects=frozenset(schema.unavailable_subjects),
        licences=root / schema.licences,
        channel=root / schema.channel,
        channel_name=schema.channel_name,
        signing_key_file=None
        if schema.signing_key_file is None
        else root / schema.signing_key_file,
    )


# --------------------------------------------------------------------------- plugin settings


@attrs.frozen(eq=False)
class PluginSettings(Mapping[str, Mapping[str, Any]]):
    """The ``[plugins.<name>]`` tables of the configuration, passed to every hook.

    A mapping from plugin name to its (read-only) table; a plugin reads its own:
    ``settings.get("yangzhou", {})``. ``city`` is the configured city, ``root`` the
    directory relative paths are resolved against. Secrets are not in the tables: call
    :meth:`secret`.
    """

    city: str
    root: Path
    source: str
    """The configuration file (or ``"<dict>"``), for error messages."""
    builtin: BuiltinSettings
    """The checked settings of the built-in plugin (``[plugins.builtin]``)."""
    _tables: Mapping[str, Mapping[str, Any]] = attrs.field(
        factory=dict, converter=_frozen, alias="tables"
    )

    def __getitem__(self, plugin: str) -> Mapping[str, Any]:
        return self._tables[plugin]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables)

    def __len__(self) -> int:
        return len(self._tables)

    def table(self, plugin: str) -> Mapping[str, Any]:
        """The plugin's table, or an empty mapping if the configuration has none."""
        return self._tables.get(plugin, MappingProxyType({}))

    def path(self, plugin: str, key: str, default: str | None = None) -> Path | None:
        """A path setting of ``plugin`` made absolute against :attr:`root` (or ``default``).

        :raises DataFileError: the value is not a string.
        """
        value = self.table(plugin).get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise DataFileError(
                self.source,
                [Problem(f"plugins.{plugin}.{key}", f"expected a path, got {describe(value)}")],
            )
        return self.root / value

    def secret(self, plugin: str, key: str, *, environ: Mapping[str, str] | None = None) -> str:
        """The secret ``key`` of ``plugin``, read from the variable that ``<key>_env`` names.

        ``environ`` defaults to :data:`os.environ`, read at the time of the call.

        :raises DataFileError: the table has no ``<key>_env``, or the variable is unset or
            empty; the problem names the key and the variable.
        """
        env_key = key if key.endswith("_env") else f"{key}_env"
        what = env_key.removesuffix("_env")
        path = f"plugins.{plugin}.{env_key}"
        variable = self.table(plugin).get(env_key)
        if variable is None:
            raise DataFileError(
                self.source,
                [
                    Problem(
                        path,
                        f"required key is missing: name the environment variable that holds "
                        f'the {what} ({env_key} = "...")',
                    )
                ],
            )
        env = os.environ if environ is None else environ
        value = env.get(variable)
        if not value:
            raise DataFileError(
                self.source,
                [Problem(path, f"environment variable {variable} (the {what}) is not set")],
            )
        return value


def _plugin_problems(plugins: object) -> list[Problem]:
    if not isinstance(plugins, Mapping):
        return [Problem("plugins", f"expected a table, got {describe(plugins)}")]
    problems: list[Problem] = []
    for name, table in plugins.items():
        path = f"plugins.{name}"
        if not isinstance(table, Mapping):
            problems.append(Problem(path, f"expected a table, got {describe(table)}"))
            continue
        problems += _secret_problems(table, path)
    return problems


def _secret_problems(value: object, path: str) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(value, Mapping):
        for key, sub in value.items():
            here = f"{path}.{key}"
            if _is_secret_key(key):
                problems.append(
                    Problem(
                        here,
                        f"looks like a secret: secrets must not be written in the file; put it "
                        f'in an environment variable and name that with {key}_env = "..."',
                    )
                )
            elif _is_env_key(key) and not (isinstance(sub, str) and _ENV_NAME.fullmatch(sub)):
                problems.append(
                    Problem(
                        here,
                        f"expected the name of an environment variable, got {describe(sub)}",
                    )
                )
            else:
                problems += _secret_problems(sub, here)
    elif isinstance(value, list | tuple):
        for i, sub in enumerate(value):
            problems += _secret_problems(sub, f"{path}[{i}]")
    elif isinstance(value, str):
        problems += _secret_value_problems(value, path)
    return problems


# An HTTP authorization value (RFC 9110 §11.6.2 schemes in use) written in the file.
_AUTH_VALUE = re.compile(
    r"(?i)\s*(basic|bearer|digest|token|negotiate|hmac)\s+[A-Za-z0-9._~+/=:,\"-]{12,}\s*"
)


def _secret_value_problems(value: str, path: str) -> list[Problem]:
    """A setting whose value is a secret whatever its key: credentials in a URL (also in its
    query string) or an ``Authorization`` header value such as ``"Bearer ..."``."""
    key = path.rpartition(".")[2].partition("[")[0]
    hint = f'put it in an environment variable and name that with {key}_env = "..."'
    if _AUTH_VALUE.fullmatch(value):
        return [Problem(path, f"looks like an authorization header value (a secret); {hint}")]
    try:
        url = urlsplit(value.strip())
        password = url.password if url.scheme and url.netloc else None
    except ValueError:
        return []
    if password is not None:
        return [Problem(path, f"the URL contains a password (user:password@host); {hint}")]
    if url.scheme and url.netloc:
        for pair in url.query.split("&"):
            name = pair.partition("=")[0]
            if name and "=" in pair and _is_secret_key(name):
                return [Problem(path, f"the URL's query holds a secret ({name}=...); {hint}")]
    return []


# --------------------------------------------------------------------------- the config


def _city_problems(city: str) -> list[Problem]:
    if not _CITY.fullmatch(city) or city[:2] not in _PROVINCES:
        return [
            Problem(
                "city",
                "expected the 6-digit administrative division code of a city or county "
                f'(GB/T 2260), e.g. "321000" for Yangzhou, got {city!r}',
            )
        ]
    return []


def _resolve_store(url: str, root: Path) -> str:
    """``sqlite:relative.db`` becomes ``sqlite:///<root>/relative.db``; others are kept."""
    if not url.startswith("sqlite:") or url.startswith("sqlite://"):
        return url
    rest = url.removeprefix("sqlite:")
    if rest == ":memory:" or Path(rest).is_absolute():
        return url
    posix = (root / rest).as_posix()
    # The store decodes percent-escapes, so a path with "%", "?" or "#" must be quoted.
    return "sqlite://" + quote(posix if posix.startswith("/") else "/" + posix, safe="/:")


def _store_problems(schema: _ConfigSchema) -> list[Problem]:
    problems: list[Problem] = []
    if schema.store is not None and schema.store_env is not None:
        problems.append(Problem("store_env", "set either store or store_env, not both"))
    if schema.store is not None:
        if not schema.store.strip() or ":" not in schema.store:
            problems.append(
                Problem(
                    "store",
                    f'expected a store URL such as "sqlite:creditcommit.db", got {schema.store!r}',
                )
            )
        else:
            try:
                password = urlsplit(schema.store).password
            except ValueError:
                password = None
            if password is not None:
                problems.append(
                    Problem(
                        "store",
                        "the URL contains a password: put the whole URL in an environment "
                        'variable and name it with store_env = "..."',
                    )
                )
    if schema.store_env is not None and not _ENV_NAME.fullmatch(schema.store_env):
        problems.append(
            Problem(
                "store_env",
                f"expected the name of an environment variable, got {schema.store_env!r}",
            )
        )
    return problems


def _file(root: Path, value: str, path: str) -> tuple[Path, list[Problem]]:
    resolved = root / value
    if not value.strip():
        return resolved, [Problem(path, "expected a file path, got an empty string")]
    if not resolved.is_file():
        return resolved, [Problem(path, f"no such file: {resolved}")]
    return resolved, []


def _policy(raw: object, root: Path) -> tuple[tuple[str, ...], list[Problem]]:
    if raw is None:
        return (), []
    if isinstance(raw, str):
        if raw in _NAMED_POLICIES:
            return (raw,), []
        resolved, problems = _file(root, raw, "policy")
        return (str(resolved),), problems
    if isinstance(raw, list) and raw and all(isinstance(v, str) for v in raw):
        paths: list[str] = []
        problems = []
        for i, value in enumerate(raw):
            if value in _NAMED_POLICIES:
                problems.append(
                    Problem(
                        f"policy[{i}]",
                        f'{value!r} cannot be combined with files; write policy = "{value}" '
                        "alone, or list only files (the national defaults are always included)",
                    )
                )
                continue
            resolved, found = _file(root, value, f"policy[{i}]")
            paths.append(str(resolved))
            problems += found
        return tuple(paths), problems
    return (), [
        Problem(
            "policy",
            'expected "sample", "national", a policy file or an array of policy files, '
            f"got {describe(raw)}",
        )
    ]


@attrs.frozen(kw_only=True)
class Config:
    """A city's configuration (配置), as read from ``creditcommit.toml``.

    Build it with :meth:`load` (a file) or :meth:`from_dict` (data, e.g. in tests or when
    embedding). Paths are absolute; ``catalog`` is ``"sample"``, an absolute path or None;
    ``policy`` is ``("sample",)``, ``("national",)``, absolute paths of city (and district)
    overlays on the national defaults, or ``()`` when unset.
    """

    city: str
    """The administrative division code (行政区划代码) of the city, e.g. ``"321000"``."""
    root: Path
    source: str
    store: str | None
    """The event-store URL, ``sqlite:`` paths made absolute (None when ``store_env`` is set)."""
    store_env: str | None = None
    catalog: str | None = None
    policy: tuple[str, ...] = ()
    calendar_overrides: tuple[Path, ...] = ()
    max_attempts: int = 10
    """``[delivery] max_attempts``: failed attempts after which an outbox message is a dead
    letter, no longer retried until retried by hand."""
    plugins: PluginSettings

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Read ``creditcommit.toml``; paths in it are relative to its directory.

        :raises DataFileError: the file is unreadable or malformed; every problem is listed
            with its path (``plugins.builtin.credit``).
        """
        name = os.fspath(path)
        root = Path(name).resolve().parent
        return cls.from_dict(read_toml(name), root=root, source=name)

    @classmethod
    def from_dict(
        cls, data: object, *, root: str | os.PathLike[str], source: str = "<dict>"
    ) -> Self:
        """Configuration from data shaped like the file; relative paths resolve against ``root``.

        :raises DataFileError: every problem, with its path.
        """
        base = Path(root).resolve()
        schema = structure(data, _ConfigSchema, source=source)
        problems = _city_problems(schema.city)
        problems += _store_problems(schema)
        catalog: str | None = None
        if schema.catalog is not None:
            if schema.catalog == "sample":
                catalog = "sample"
            else:
                resolved, found = _file(base, schema.catalog, "catalog")
                catalog = str(resolved)
                problems += found
        policy, found = _policy(schema.policy, base)
        problems += found
        overrides: list[Path] = []
        for i, value in enumerate(schema.calendar_overrides):
            resolved, found = _file(base, value, f"calendar_overrides[{i}]")
            overrides.append(resolved)
            problems += found
        problems += _plugin_problems(schema.plugins)
        if schema.delivery.max_attempts < 1:
            problems.append(
                Problem(
                    "delivery.max_attempts",
                    f"expected a whole number of at least 1, got {schema.delivery.max_attempts}",
                )
            )
        tables = schema.plugins if isinstance(schema.plugins, Mapping) else {}
        own = tables.get("builtin", {})
        # A [plugins.builtin] that is not a table was reported above.
        builtin, found = _builtin_settings(own if isinstance(own, Mapping) else {}, base, source)
        problems += found
        if problems:
            raise DataFileError(source, problems)
        store = None
        if schema.store_env is None:
            store = _resolve_store(schema.store or DEFAULT_STORE, base)
        return cls(
            city=schema.city,
            root=base,
            source=source,
            store=store,
            store_env=schema.store_env,
            catalog=catalog,
            policy=policy,
            calendar_overrides=tuple(overrides),
            max_attempts=schema.delivery.max_attempts,
            plugins=PluginSettings(
                city=schema.city, root=base, source=source, builtin=builtin, tables=tables
            ),
        )

    def store_url(self, *, environ: Mapping[str, str] | None = None) -> str:
        """The event-store URL: :attr:`store`, or the variable :attr:`store_env` names.

        :raises DataFileError: ``store_env`` names a variable that is unset or empty.
        """
        if self.store is not None:
            return self.store
        if self.store_env is None:
            return _resolve_store(DEFAULT_STORE, self.root)
        env = os.environ if environ is None else environ
        value = env.get(self.store_env)
        if not value:
            raise DataFileError(
                self.source,
                [Problem("store_env", f"environment variable {self.store_env} is not set")],
            )
        return _resolve_store(value, self.root)

    def secret(self, plugin: str, key: str, *, environ: Mapping[str, str] | None = None) -> str:
        """The secret ``key`` of ``plugin``; see :meth:`PluginSettings.secret`."""
        return self.plugins.secret(plugin, key, environ=environ)
