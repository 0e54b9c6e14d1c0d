"""The generated reference pages (docs/_ext/ccdocs_gen.py) agree with the code.

Hooks: every hook specification has a section with its exact signature, a docstring that
documents each of its parameters and nothing else, and a hand-written section in
docs/plugins.md whose title gives the same parameters. File formats: every schema class
the loaders structure files with is documented, key by key. CLI: every command and option
of the parser. Lifecycle: every state, action and event type, and the state each event
leads to, checked by replaying real cases.
"""

from __future__ import annotations

import importlib.util
import inspect
import io
import re
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest

from creditcommit import _demo, case, hookspecs
from creditcommit._codec import event_from_record
from creditcommit.cli import build_parser
from creditcommit.service import Approvals

ROOT = Path(__file__).resolve().parent.parent


def _load_generator() -> ModuleType:
    path = ROOT / "docs" / "_ext" / "ccdocs_gen.py"
    spec = importlib.util.spec_from_file_location("ccdocs_gen", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ccdocs_gen", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


# --- hooks -----------------------------------------------------------------------------------


def _declared_hooks() -> list[Any]:
    return [
        value
        for value in vars(hookspecs).values()
        if inspect.isfunction(value) and hasattr(value, "creditcommit_spec")
    ]


def test_every_hook_is_found_and_exported() -> None:
    found = [hook.__name__ for hook in gen.hookspecs()]
    assert sorted(found) == sorted(hook.__name__ for hook in _declared_hooks())
    exported = {name for name in hookspecs.__all__ if name.startswith("creditcommit_")}
    assert set(found) == exported


@pytest.mark.parametrize("hook", _declared_hooks(), ids=lambda hook: hook.__name__)
def test_the_hook_reference_has_the_exact_signature(hook: Any) -> None:
    page = gen.hook_reference()
    section = page.split(f"## `{hook.__name__}`\n", 1)
    assert len(section) == 2, f"no section for {hook.__name__}"
    body = section[1].split("\n## ", 1)[0]
    params = ", ".join(
        f"{name}: {p.annotation}" for name, p in inspect.signature(hook).parameters.items()
    )
    returns = inspect.signature(hook).return_annotation
    assert f"{hook.__name__}({params}) -> {returns}" in body


@pytest.mark.parametrize("hook", _declared_hooks(), ids=lambda hook: hook.__name__)
def test_the_hook_contract_documents_each_parameter(hook: Any) -> None:
    doc = inspect.getdoc(hook) or ""
    summary = doc.split("\n", 1)[0]
    assert len(summary) > 10, f"{hook.__name__} has no summary line"
    documented = re.findall(r"^:param (\w+):", doc, flags=re.MULTILINE)
    assert documented == list(inspect.signature(hook).parameters), hook.__name__
    if inspect.signature(hook).return_annotation != "None":
        assert ":return:" in doc, f"{hook.__name__} does not say what it returns"


def test_plugins_page_has_a_section_per_hook_with_its_parameters() -> None:
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    titles = dict(re.findall(r"^### `(creditcommit_\w+)\(([^)]*)\)`", text, flags=re.MULTILINE))
    declared = {
        hook.__name__: ", ".join(inspect.signature(hook).parameters) for hook in _declared_hooks()
    }
    assert titles == declared


# --- file formats ----------------------------------------------------------------------------

SCHEMA_MODULES = (
    "creditcommit.catalog",
    "creditcommit.policy",
    "creditcommit.config",
    "creditcommit.testing.scenarios",
)


def _schema_classes() -> set[str]:
    found = {"creditcommit.cli._ApplicationInput"}
    for name in SCHEMA_MODULES:
        module = importlib.import_module(name)
        found |= {
            f"{name}.{attr}"
            for attr, value in vars(module).items()
            if attr.startswith("_") and attr.endswith("Schema") and attrs.has(value)
        }
    return found


def _documented_classes() -> set[str]:
    seen: set[str] = set()

    def walk(cls: type[Any]) -> None:
        seen.add(f"{cls.__module__}.{cls.__qualname__}")
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            nested = gen._nested(hints[field.name])
            if nested is not None:
                walk(nested[1])

    for fmt in gen.FORMATS:
        walk(gen._resolve(fmt.root))
        for _, dotted in fmt.extra:
            walk(gen._resolve(dotted))
    return seen


def test_every_schema_class_is_documented() -> None:
    assert _schema_classes() - _documented_classes() == set()


@pytest.mark.parametrize("fmt", gen.FORMATS, ids=lambda fmt: fmt.slug)
def test_every_key_of_the_format_is_documented(fmt: Any) -> None:
    page = gen.format_reference(fmt)
    for dotted in (fmt.root, *(d for _, d in fmt.extra)):
        for field in attrs.fields(gen._resolve(dotted)):
            assert f"| `{field.alias or field.name}` |" in page, (fmt.slug, field.name)


def test_required_and_enum_keys_say_so() -> None:
    page = gen.format_reference(gen.FORMATS[0])
    assert "| `commitment_mode` | one of `none`, `notify-and-commit`, `deferred-only` |" in page
    assert "| `code` | string | **required** |" in page
    assert "| `on_the_spot` | boolean | default `false` |" in page


# --- command line ----------------------------------------------------------------------------


def _parsers() -> list[tuple[str, Any]]:
    return list(gen._commands(build_parser(), "creditcommit"))


def test_every_command_and_option_is_in_the_cli_reference() -> None:
    page = gen.cli_reference()
    commands = _parsers()
    assert len(commands) > 10
    for prog, parser in commands:
        assert f"## `{prog}`" in page
        section = page.split(f"## `{prog}`\n", 1)[1].split("\n## ", 1)[0]
        for action in parser._actions:
            for option in action.option_strings:
                assert option in section, (prog, option)
    assert "html" in page.split("## `creditcommit report`", 1)[1].split("\n## ", 1)[0]


# --- lifecycle -------------------------------------------------------------------------------


def test_the_lifecycle_tables_name_every_state_action_and_event() -> None:
    page = gen.lifecycle_reference()
    for state in case.CaseState:
        assert f"| `{state.name}` |" in page
    for action in case.ACTIONS:
        assert f"| `{action}` |" in page
    for event_type in case._FOLD:
        assert f"| `{event_type.__name__}` |" in page


def _targets() -> dict[str, str]:
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|$", gen.lifecycle_reference(), re.M)
    return {event: target.strip() for event, target in rows}


def test_each_event_leads_where_the_table_says_on_the_demo_cases(tmp_path: Path) -> None:
    config = _demo.run(io.StringIO(), tmp_path / "demo") / "creditcommit.toml"
    targets = _targets()
    checked = set()
    with Approvals.from_config(config, autoload=False) as service:
        for one in service.cases():
            events = [
                event_from_record(stored.type, stored.payload, service.store.document)  # type: ignore[attr-defined]
                for stored in service.history(one.case_id)
            ]
            state = case.Case.from_events(events[:1])
            for event in events[1:]:
                before, state = state.state, state.apply(event)
                target = targets[type(event).__name__]
                if target == "same state":
                    assert state.state is before, type(event).__name__
                else:
                    assert target.startswith(f"`{state.state.name}`"), type(event).__name__
                checked.add(type(event).__name__)
    # The demo runs the whole story, so most event types are checked against the code.
    assert len(checked) >= 12, checked


def test_the_diagram_draws_every_state_and_every_transition() -> None:
    svg = gen.lifecycle_svg()
    for state in case.CaseState:
        assert f">{state.name}</text>" in svg
    edges = gen.transitions()
    assert ("ACCEPTED", "LicenceIssued", "ISSUED") in edges
    assert ("REVOCATION_PROPOSED", "Revoked", "REVOKED") in edges
    for source, event, target in edges:
        assert f"<title>{source} → {target}: {event}</title>" in svg
    assert svg.count('<path d="M') == len(set(edges)) + 1  # and the arrowhead
    assert svg in gen.lifecycle_reference()
