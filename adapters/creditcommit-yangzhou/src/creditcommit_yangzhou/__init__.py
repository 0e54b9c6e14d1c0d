"""creditcommit-yangzhou: the worked city plugin of creditcommit (扬州市, 江都区, 高邮市).

Yangzhou's catalogue and place-scoped policies as the plugin's data, and the HTTP adapter
(:mod:`creditcommit_http`) bound to 信用扬州, the e-licence system and the publication site
from a ``[plugins.yangzhou]`` table. The README is the walkthrough for writing a city's
plugin.
"""

from creditcommit_yangzhou.places import (
    CATALOG_FILE,
    CITY,
    DISTRICTS,
    PLACES,
    POLICY_FILES,
    catalog_for,
    data_file,
    policy,
)
from creditcommit_yangzhou.settings import NAME, NAMES, YangzhouSettings

__all__ = [
    "CATALOG_FILE",
    "CITY",
    "DISTRICTS",
    "NAME",
    "NAMES",
    "PLACES",
    "POLICY_FILES",
    "YangzhouSettings",
    "catalog_for",
    "data_file",
    "policy",
]
