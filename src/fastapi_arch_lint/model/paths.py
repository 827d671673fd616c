"""What a module's path says about it."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=16384)  # asked for every function, call and assignment: a project has far fewer paths
def is_test_path(path: str) -> bool:
    """Test code (``tests/``, ``test_*.py``, ``*_test.py``, ``conftest.py``) is not shipped."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return any(p in ("tests", "test") for p in parts[:-1])
