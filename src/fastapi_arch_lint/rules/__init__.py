"""The rules, one module per rule, grouped by category. Importing this package registers them all."""

from __future__ import annotations

import importlib
import pkgutil

for _mod in sorted(pkgutil.walk_packages(__path__, prefix=__name__ + "."), key=lambda m: m.name):
    importlib.import_module(_mod.name)
