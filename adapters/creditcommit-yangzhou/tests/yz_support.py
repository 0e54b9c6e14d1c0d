"""Constants and helpers shared by the Yangzhou plugin's tests (not a conftest: imported)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from creditcommit.config import Config
from creditcommit.decision import Applicant
from creditcommit.identifiers import uscc_check_char
from creditcommit.plugins import Integrations
from creditcommit.service import CHINA_TIME
from creditcommit_yangzhou import plugin

DAY = dt.date(2025, 9, 26)
AT = dt.datetime.combine(DAY, dt.time(9, 30), CHINA_TIME)

#: A key for the built-in signature provider in the tests' configurations. Not a secret.
SIGNING_KEY = "creditcommit-yangzhou test key - NOT SECRET"


def uscc(first17: str) -> str:
    return first17 + uscc_check_char(first17)


#: A Gaoyou hotel (public-place health permit, 321084-GGCSWSXK).
HOTEL = Applicant.parse(uscc("91321084MA1Y0000B"), "高邮某酒店管理有限公司")
#: A Gaoyou restaurant (food business licence, 321084-SPJY).
RESTAURANT = Applicant.parse(uscc("91321084MA1Y0001A"), "高邮某餐饮管理有限公司")
#: A Jiangdu builder (construction-project items of 321012).
BUILDER = Applicant.parse(uscc("91321012MA1W0002B"), "扬州某建设工程有限公司")


def toml_table(name: str, table: Mapping[str, Any]) -> str:
    """``[name]`` with string, number and list-of-strings values, as TOML text."""
    lines = [f"[{name}]"]
    for key, value in table.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, list):
            lines.append(f"{key} = [{', '.join(f'{v!r}' for v in value)}]".replace("'", '"'))
        else:
            lines.append(f"{key} = {value!r}")
    return "\n".join(lines) + "\n"


def installation(directory: Path, *, city: str, yangzhou: Mapping[str, Any] | None = None) -> Path:
    """A city's installation: a configuration file, a SQLite store and a signing key file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "signing.key").write_text(SIGNING_KEY + "\n", encoding="utf-8")
    text = f'city = "{city}"\nstore = "sqlite:cases.db"\n\n'
    text += toml_table("plugins.builtin", {"signing_key_file": "signing.key"})
    if yangzhou is not None:
        text += "\n" + toml_table("plugins.yangzhou", yangzhou)
    config = directory / "creditcommit.toml"
    config.write_text(text, encoding="utf-8")
    return config


def integrations(city: str, yangzhou: Mapping[str, Any] | None, root: Path) -> Integrations:
    """Integrations with only the built-in plugin and this one (no entry points loaded)."""
    data: dict[str, Any] = {"city": city}
    if yangzhou is not None:
        data["plugins"] = {"yangzhou": dict(yangzhou)}
    config = Config.from_dict(data, root=root)
    return Integrations.from_config(config, autoload=False, plugins={"yangzhou": plugin})
