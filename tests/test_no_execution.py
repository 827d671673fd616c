"""The analyzed code is never imported or run (issue 8, point 4).

The project below writes a marker file and exits the process with a distinctive code from
everywhere Python would run code: module top level, package ``__init__``, decorators,
default arguments, class bodies, metaclasses, ``if __name__ == "__main__"``. Next to it sit
modules named like what the tool itself imports (``click``, ``libcst``, ``multiprocessing``,
``typing_extensions``...) and the hooks Python runs by itself (``sitecustomize``,
``usercustomize``, ``__main__``). The review runs from inside the project, as pre-commit and
CI run it, in one process and with the process pool, and must finish normally with the
project's findings while no marker ever appears.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CLI_TIMEOUT = 300
# modules the tool or its pool imports, and modules Python imports by itself
SHADOWS = ("click", "libcst", "multiprocessing", "concurrent", "typing_extensions", "pydantic", "anthropic",
           "fastapi_arch_lint_helpers", "sitecustomize", "usercustomize", "tomllib", "hashlib", "json",
           "pickle", "tempfile", "threading", "__main__", "setup", "conftest")


def payload(markers: Path, name: str, code: int) -> str:
    """Code that leaves ``markers/name`` behind and ends the process with ``code``."""
    return (f"import os as _os\n"
            f"open(_os.path.join({str(markers)!r}, {name!r}), 'w').write('executed')\n"
            f"_os._exit({code})\n")


def build(root: Path, markers: Path) -> Path:
    app = root / "app"
    (app / "routers").mkdir(parents=True)
    markers.mkdir()
    w = lambda rel, text: (root / rel).write_text(textwrap.dedent(text))  # noqa: E731
    w("app/__init__.py", payload(markers, "package-init", 4))
    w("app/routers/__init__.py", payload(markers, "subpackage-init", 4))
    w("app/main.py", f"""\
        import os
        import sys

        from fastapi import Depends, FastAPI

        from app.routers import items

        open(os.path.join({str(markers)!r}, "main-top-level"), "w").write("executed")
        sys.exit(3)


        def side_effect(tag):
            open(os.path.join({str(markers)!r}, tag), "w").write("executed")
            os._exit(5)


        def writes_on_decoration(fn):
            side_effect("decorator")
            return fn


        class Meta(type):
            def __new__(mcs, name, bases, ns):
                side_effect("metaclass")
                return super().__new__(mcs, name, bases, ns)


        class Settings(metaclass=Meta):
            side_effect("class-body")
            debug = True


        app = FastAPI(dependencies=[Depends(side_effect("dependency-argument"))])
        app.include_router(items.router, prefix="/api")


        @app.post("/run-job")
        @writes_on_decoration
        async def run_job(payload: dict = side_effect("default-argument")) -> dict:
            return payload


        if __name__ == "__main__":
            side_effect("dunder-main")
        """)
    w("app/routers/items.py", f"""\
        import os

        from fastapi import APIRouter

        router = APIRouter(prefix=open(os.path.join({str(markers)!r}, "router-prefix"), "w").name)
        os._exit(6)


        @router.get("/get-items")
        async def get_items() -> list[dict]:
            return []
        """)
    for i in range(6):  # enough files for the process pool (8 or more)
        w(f"app/extra_{i}.py", payload(markers, f"extra-{i}", 7))
    for name in SHADOWS:
        w(f"{name}.py", payload(markers, f"shadow-{name}", 9))
    return root


def console_script() -> str:
    found = shutil.which("fastapi-arch-lint", path=str(Path(sys.executable).parent))
    if found is None:  # pragma: no cover - the package is always installed with its script
        pytest.fail("the fastapi-arch-lint console script is not installed next to this interpreter")
    return found


def review(cwd: Path, command: list[str], jobs: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.run([*command, "review", ".", "--format", "json", "--no-cache", "--jobs", str(jobs)],
                          cwd=cwd, capture_output=True, text=True, timeout=CLI_TIMEOUT, env=env)


def test_the_payloads_do_run_when_python_runs_them(tmp_path: Path) -> None:
    """The planted code is live: run by Python it leaves its marker and exits with its code."""
    root = build(tmp_path / "proj", tmp_path / "markers")
    p = subprocess.run([sys.executable, "-c", "import app.main"], cwd=root, capture_output=True, timeout=60)
    assert p.returncode == 4  # the package's __init__ ran first
    assert sorted(os.listdir(tmp_path / "markers")) == ["package-init"]


@pytest.mark.parametrize("jobs", [1, 2], ids=["in-process", "process-pool"])
def test_review_never_runs_the_analyzed_code(tmp_path: Path, jobs: int) -> None:
    markers = tmp_path / "markers"
    root = build(tmp_path / "proj", markers)
    p = review(root, [console_script()], jobs)
    assert sorted(os.listdir(markers)) == [], "analyzed code was executed"
    # finished normally (0 or 1, never 2): the one finding it used to have (FAL401 on POST /run-job) is
    # withheld now that the app's dependency, a runtime value, may authenticate
    assert p.returncode in (0, 1), p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    doc = json.loads(p.stdout)
    assert [d for d in doc["diagnostics"] if d["kind"] != "unresolved"] == []  # every file analyzed
    # the prefix (a file opened at import) and the app's dependency (a call's result) are runtime
    # values: said, not guessed
    [note] = [d for d in doc["diagnostics"] if d["kind"] == "unresolved"]
    assert note["count"] == 2, note
    n_files = 2 + 2 + 6 + len(SHADOWS)
    assert doc["summary"]["files"] == n_files
    # both routes are in the model (``/get-items`` through the include chain), each under a runtime value
    assert note["routes"] == 2, note


def test_python_dash_m_never_runs_the_analyzed_code(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    root = build(tmp_path / "proj", markers)
    p = review(root, [sys.executable, "-m", "fastapi_arch_lint"], 1)
    assert sorted(os.listdir(markers)) == [], "analyzed code was executed"
    assert p.returncode in (0, 1), p.stderr[-2000:]  # finished normally (see above)
