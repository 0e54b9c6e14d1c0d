"""Reference pages generated from the code, so that they cannot drift from it.

Pure functions returning MyST Markdown; ``docs/_ext/ccdocs.py`` writes them into
``docs/reference/_generated/`` when Sphinx starts, and the tests in
``tests/test_docs_reference.py`` check them against the code.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import importlib
import inspect
import os
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from creditcommit import case
from creditcommit import hookspecs as module
from creditcommit.cli import build_parser

__all__ = [
    "FORMATS",
    "cli_reference",
    "format_reference",
    "hook_reference",
    "hook_signature",
    "hookspecs",
    "lifecycle_reference",
    "write_all",
]


# --- hooks -----------------------------------------------------------------------------------


def hookspecs() -> list[Any]:
    """Every hook specification in :mod:`creditcommit.hookspecs`, in source order.

    Found by pluggy's marker, not by name or ``__all__``, so a new hook is never missed.
    """

    marker = f"{module.PROJECT}_spec"
    found = [
        value
        for value in vars(module).values()
        if inspect.isfunction(value) and hasattr(value, marker)
    ]
    return sorted(found, key=lambda function: function.__code__.co_firstlineno)


def hook_signature(hook: Any) -> str:
    """``name(param: type, ...) -> type`` exactly as the specification declares it."""
    signature = inspect.signature(hook)

    def text(annotation: Any) -> str:
        return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)

    params = ", ".join(
        name if p.annotation is p.empty else f"{name}: {text(p.annotation)}"
        for name, p in signature.parameters.items()
    )
    returns = (
        ""
        if signature.return_annotation is signature.empty
        else (f" -> {text(signature.return_annotation)}")
    )
    return f"{hook.__name__}({params}){returns}"


def hook_reference() -> str:
    """One section per hook: its signature, whether the first answer wins, its docstring."""

    lines: list[str] = []
    for hook in hookspecs():
        options = getattr(hook, f"{module.PROJECT}_spec")
        lines += [f"## `{hook.__name__}`", "", "```python", hook_signature(hook), "```", ""]
        if options.get("firstresult"):
            lines += ["*First answer wins* (`firstresult=True`).", ""]
        lines += [_rst_to_myst(inspect.getdoc(hook) or ""), ""]
    return "\n".join(lines)


def _rst_to_myst(text: str) -> str:
    """Docstring reST with the little markup hookspecs use, as MyST Markdown."""

    text = re.sub(r":(?:class|func|data|mod|attr|meth):`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    out: list[str] = []
    for line in text.splitlines():
        field = re.match(r":(param (\w+)|return|raises (\w+)):\s*(.*)", line)
        if field:
            label = (
                f"`{field.group(2)}`"
                if field.group(2)
                else ("returns" if field.group(1) == "return" else f"raises `{field.group(3)}`")
            )
            out.append(f"- **{label}**: {field.group(4)}")
        elif out and out[-1].startswith("- **") and line.startswith("    "):
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


# --- file formats ------------------------------------------------------------------------------


@attrs.frozen
class Format:
    """A file format: its title, the schema class of the whole file, and nested schemas
    that the file's rules structure by hand (``extra``: key path -> schema class)."""

    slug: str
    title: str
    root: str
    extra: tuple[tuple[str, str], ...] = ()
    note: str = ""


FORMATS = (
    Format(
        "catalog",
        "Catalogue (TOML)",
        "creditcommit.catalog._CatalogSchema",
        note="Loaded by `Catalog.from_toml`; see [the catalogue](../catalog.md).",
    ),
    Format(
        "policy",
        "Policy (TOML)",
        "creditcommit.policy._FileSchema",
        extra=(
            ("<setting>[].reference", "creditcommit.policy._ReferenceSchema"),
            ("blocking_records[].value[]", "creditcommit.policy._BlockingRuleSchema"),
            ("reapplication_ban_months[].value[]", "creditcommit.policy._BanSchema"),
            ("publication_working_days[].value", "creditcommit.policy._PublicationSchema"),
            ("record_kinds.<code>", "creditcommit.policy._CityKindSchema"),
        ),
        note=(
            "Every setting is an array of dated entries with the keys `from`, `until`, "
            "`value` and `reference`; see [policies](../policy.md)."
        ),
    ),
    Format(
        "scenario",
        "Scenario file (TOML)",
        "creditcommit.testing.scenarios._FileSchema",
        extra=(
            ("defaults", "creditcommit.testing.scenarios._DefaultsSchema"),
            ("cases[]", "creditcommit.testing.scenarios._CaseSchema"),
            ("cases[].credit", "creditcommit.testing.scenarios._CreditSchema"),
            ("cases[].credit.records[]", "creditcommit.testing.scenarios._RecordSchema"),
        ),
        note="Run by `creditcommit scenarios check`; see [scenario files](../scenarios.md).",
    ),
    Format(
        "config",
        "`creditcommit.toml`",
        "creditcommit.config._ConfigSchema",
        extra=(("plugins.builtin", "creditcommit.config._BuiltinSchema"),),
        note="See [configuration](../configuration.md).",
    ),
    Format(
        "decide",
        "`creditcommit decide --file` (JSON)",
        "creditcommit.cli._ApplicationInput",
        note="The same keys as the flags of `creditcommit decide`.",
    ),
)


def _resolve(dotted: str) -> type[Any]:
    module_name, _, name = dotted.rpartition(".")
    found: type[Any] = getattr(importlib.import_module(module_name), name)
    return found


def _is_optional(tp: Any) -> tuple[bool, Any]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [arg for arg in args if arg is not type(None)]
        return True, rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
    return False, tp


def _type_text(tp: Any) -> str:
    _, tp = _is_optional(tp)
    origin = typing.get_origin(tp)
    if origin is list:
        inner = typing.get_args(tp)[0]
        return "array (see below)" if inner is Any else f"array of {_type_text(inner)}"
    if origin is dict:
        return f"table of {_type_text(typing.get_args(tp)[1])}"
    if tp is Any:
        return "see below"
    if attrs.has(tp):
        return "table"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(f"`{member.value}`" for member in tp)
    names = {str: "string", int: "integer", bool: "boolean", float: "number"}
    if tp in names:
        return names[tp]
    if tp is dt.date:
        return "date (`YYYY-MM-DD`)"
    return getattr(tp, "__name__", str(tp))


def _default_text(field: attrs.Attribute[Any]) -> str:
    if field.default is attrs.NOTHING:
        return "**required**"
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    if default is None:
        return "optional"
    if isinstance(default, enum.Enum):
        default = default.value
    if isinstance(default, bool):
        return f"default `{str(default).lower()}`"
    return f"default `{default!r}`" if not isinstance(default, str) else f'default `"{default}"`'


def _nested(tp: Any) -> tuple[str, Any] | None:
    _, tp = _is_optional(tp)
    origin = typing.get_origin(tp)
    if origin is list:
        inner = _nested(typing.get_args(tp)[0])
        return None if inner is None else ("[]" + inner[0], inner[1])
    if origin is dict:
        inner = _nested(typing.get_args(tp)[1])
        return None if inner is None else (".<key>" + inner[0], inner[1])
    if attrs.has(tp):
        return "", tp
    return None


def _tables(path: str, cls: type[Any]) -> Iterator[str]:
    hints = typing.get_type_hints(cls)
    yield f"### `{path or '(top level)'}`"
    yield ""
    yield "| key | type | |"
    yield "|---|---|---|"
    nested: list[tuple[str, type[Any]]] = []
    for field in attrs.fields(cls):
        key = field.alias or field.name
        yield f"| `{key}` | {_type_text(hints[field.name])} | {_default_text(field)} |"
        inner = _nested(hints[field.name])
        if inner is not None:
            nested.append((f"{path}.{key}".lstrip(".") + inner[0], inner[1]))
    yield ""
    for sub_path, sub in nested:
        yield from _tables(sub_path, sub)


def format_reference(fmt: Format) -> str:
    """The keys of one file format, table by table, from its schema classes."""
    lines = [f"## {fmt.title}", "", fmt.note, ""] if fmt.note else [f"## {fmt.title}", ""]
    lines += _tables("", _resolve(fmt.root))
    for path, dotted in fmt.extra:
        lines += _tables(path, _resolve(dotted))
    return "\n".join(lines)


# --- command line --------------------------------------------------------------------------------


def _commands(
    parser: argparse.ArgumentParser, prog: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, f"{prog} {name}")


def cli_reference() -> str:
    """Every command's ``--help``, from the parser ``creditcommit.cli.build_parser`` builds."""

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        lines: list[str] = []
        for prog, parser in _commands(build_parser(), "creditcommit"):
            parser.prog = prog
            lines += [f"## `{prog}`", "", "```text", parser.format_help().rstrip(), "```", ""]
        return "\n".join(lines)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


# --- case lifecycle ------------------------------------------------------------------------------


def lifecycle_reference() -> str:
    """The transition table of :mod:`creditcommit.case`: a diagram and three MyST tables."""
    states = list(case.CaseState)
    lines = [
        "### Diagram",
        "",
        "Each arrow is an event type that moves a case from one state to another (events",
        "that keep the state are in the last table). Ends are drawn with a double border.",
        "",
        lifecycle_svg(),
        "",
        "### States",
        "",
        "| state | value | in progress | supervised |",
        "|---|---|---|---|",
    ]
    for state in states:
        lines.append(
            f"| `{state.name}` | `{state.value}` | {'✓' if state.in_progress else ''} "
            f"| {'✓' if state.supervised else ''} |"
        )
    lines += [
        "",
        "### Actions and the states that allow them",
        "",
        "| action | allowed in |",
        "|---|---|",
    ]
    for action, allowed in sorted(case.ACTIONS.items()):
        names = ", ".join(f"`{s.name}`" for s in states if s in allowed)
        lines.append(f"| `{action}` | {names} |")
    lines += [
        "",
        "### Events and the states they may follow",
        "",
        "| event | may follow | leads to |",
        "|---|---|---|",
    ]
    for event_type, (allowed, fold) in case._FOLD.items():
        names = ", ".join(f"`{s.name}`" for s in states if s in allowed) or "(none)"
        target = _leads_to(event_type, fold, allowed)
        lines.append(f"| `{event_type.__name__}` | {names} | {target} |")
    return "\n".join(lines) + "\n"


def transitions() -> list[tuple[str, str, str]]:
    """``(from state, event type, to state)`` for every event that changes the state."""
    found: list[tuple[str, str, str]] = []
    for event_type, (allowed, fold) in case._FOLD.items():
        target = _leads_to(event_type, fold, allowed)
        if not allowed or target == "same state":
            continue
        to = target.strip("`")
        for state in case.CaseState:
            if state in allowed and state.name != to:
                found.append((state.name, event_type.__name__, to))
    return found


def lifecycle_svg() -> str:
    """The state diagram as inline SVG: states in columns by their distance from
    ``SUBMITTED``, an arrow per transition. Drawn from :func:`transitions`."""
    edges = transitions()
    names = [state.name for state in case.CaseState]
    rank = {"SUBMITTED": 0}
    frontier = ["SUBMITTED"]
    while frontier:
        nxt = []
        for name in frontier:
            for source, _, target in edges:
                if source == name and target not in rank:
                    rank[target] = rank[name] + 1
                    nxt.append(target)
        frontier = nxt
    ends = {name for name in names if not any(edge[0] == name for edge in edges)}
    for name in ends & set(rank):  # an end goes right of every state that leads to it
        rank[name] = 1 + max(rank[source] for source, _, target in edges if target == name)
    columns: dict[int, list[str]] = {}
    for name in names:
        columns.setdefault(rank.get(name, max(rank.values()) + 1), []).append(name)
    box_w, box_h, gap_x, gap_y = 176, 34, 40, 22
    height = max(len(col) for col in columns.values()) * (box_h + gap_y) + gap_y
    width = len(columns) * (box_w + gap_x) + gap_x
    where: dict[str, tuple[float, float]] = {}
    for column, members in sorted(columns.items()):
        top = (height - len(members) * (box_h + gap_y) + gap_y) / 2
        for row, name in enumerate(members):
            where[name] = (gap_x + column * (box_w + gap_x), top + row * (box_h + gap_y))
    parts = [
        f'<svg class="lifecycle" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">',
        "<title>creditcommit case lifecycle</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#666"/></marker></defs>',
    ]
    for source, event, target in sorted(set(edges)):
        (x1, y1), (x2, y2) = where[source], where[target]
        if x2 > x1:
            a, b = (x1 + box_w, y1 + box_h / 2), (x2, y2 + box_h / 2)
        elif x2 < x1:
            a, b = (x1, y1 + box_h / 2 + 6), (x2 + box_w, y2 + box_h / 2 + 6)
        else:
            a, b = (
                (x1 + box_w - 20, y1 + (box_h if y2 > y1 else 0)),
                (
                    x2 + box_w - 20,
                    y2 + (0 if y2 > y1 else box_h),
                ),
            )
        bend = 0 if x2 > x1 else 40
        mx, my = (a[0] + b[0]) / 2 + bend, (a[1] + b[1]) / 2 + bend / 2
        parts.append(
            f'<path d="M{a[0]:.0f},{a[1]:.0f} Q{mx:.0f},{my:.0f} {b[0]:.0f},{b[1]:.0f}" '
            f'fill="none" stroke="#888" stroke-width="1.2" marker-end="url(#arrow)">'
            f"<title>{source} → {target}: {event}</title></path>"
        )
    for name, (x, y) in where.items():
        double = (
            f'<rect x="{x - 3}" y="{y - 3}" width="{box_w + 6}" height="{box_h + 6}" rx="9" '
            'fill="none" stroke="#0072B2"/>'
            if name in ends
            else ""
        )
        parts.append(
            f'{double}<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="7" '
            f'fill="#eef5fb" stroke="#0072B2"/><text x="{x + box_w / 2}" y="{y + 22}" '
            f'font-size="13" font-family="monospace" text-anchor="middle">{name}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _leads_to(event_type: type[Any], fold: Any, allowed: frozenset[Any]) -> str:
    """The state a fold function sets, read from the function itself (its source, or the
    state a ``_closed(state)`` closure holds), so the table follows the code."""

    if not allowed:
        return f"`{case.CaseState.SUBMITTED.name}` (starts the case)"
    for cell in fold.__closure__ or ():
        if isinstance(cell.cell_contents, case.CaseState):
            return f"`{cell.cell_contents.name}`"
    found = re.search(r"state=CaseState\.([A-Z_]+)", inspect.getsource(fold))
    return "same state" if found is None else f"`{found.group(1)}`"


def write_all(directory: str | os.PathLike[str]) -> list[str]:
    """Write every generated page into ``directory``; returns the file names written."""

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    pages = {
        "hooks.md": hook_reference(),
        "cli.md": cli_reference(),
        "lifecycle.md": lifecycle_reference(),
    }
    for fmt in FORMATS:
        pages[f"format-{fmt.slug}.md"] = format_reference(fmt)
    for name, text in pages.items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return sorted(pages)
