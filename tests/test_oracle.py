"""Compare fastapi-arch-lint's static route table with the one FastAPI builds at runtime.

For every fixture app, ``tests/oracle_dump.py`` imports the app in a subprocess (the
fixtures share the top-level package name ``app``, so each needs a fresh interpreter)
and dumps the effective routes; ``python -m fastapi_arch_lint inspect <fixture>
--format json`` is run in another subprocess with the fixture as cwd.  The set of
``(method, path, kind)`` entries and the per-route ``auth`` flag must agree.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
ORACLE_SCRIPT = REPO_ROOT / "tests" / "oracle_dump.py"
SUBPROCESS_TIMEOUT = 180


@dataclass(frozen=True)
class FixtureApp:
    name: str  # directory under tests/fixtures/
    import_root: str  # relative to the fixture directory, POSIX style
    target: str  # MODULE:ATTR
    stubs: bool = False  # needs tests/stubs (stand-ins of small libraries) to import

    @property
    def directory(self) -> Path:
        return FIXTURES_DIR / self.name

    @property
    def import_root_dir(self) -> Path:
        return self.directory / self.import_root

    @property
    def app_attr(self) -> str:
        return self.target.partition(":")[2]

    def app_module_file(self) -> str:
        """The target module's file, relative to the fixture directory (POSIX)."""
        module = self.target.partition(":")[0]
        base = PurePosixPath(self.import_root) / PurePosixPath(*module.split("."))
        as_module = base.with_name(base.name + ".py")
        if (self.directory / as_module).is_file():
            return str(as_module)
        return str(base / "__init__.py")


FIXTURE_APPS = [
    FixtureApp("bigger_app", ".", "app.main:app"),
    FixtureApp("factory_app", ".", "app.main:app"),
    FixtureApp("src_layout", "src", "shopapi.app:app"),
    FixtureApp("annotated_app", ".", "app.main:app"),
    FixtureApp("good_app", ".", "app.main:app"),
    FixtureApp("auth_gap_app", ".", "app.main:app"),
    FixtureApp("evaluated_app", ".", "app.main:app"),
    FixtureApp("router_classes_app", ".", "app.main:app"),
    FixtureApp("class_views_app", ".", "app.main:app"),
    FixtureApp("auth_styles_components", ".", "clinic_api.main:app", stubs=True),
    # namespace package, src/ layout, relative imports past __init__ re-exports, __all__ and star
    # imports, ``import a.b as c``, ``import a.b`` then ``a.b.router``; the app is re-exported by main.py
    FixtureApp("modules_app", "src", "shop.factory:app"),
    FixtureApp("registration_forms_app", ".", "app.main:app"),
    # routers kept on instances (``self.router``), a server class registering through ``self`` methods,
    # a test module registering on the server's app (its own instance at runtime: not served)
    FixtureApp("instance_routers_app", ".", "app.server:app"),
]

PARAMS = [pytest.param(f, id=f.name) for f in FIXTURE_APPS]

# (method, path, kind); websocket routes use the pseudo-method "WS"
RouteKey = tuple[str, str, str]


def _subprocess_env(extra_pythonpath: list[Path] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONPATH", None)
    if extra_pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in extra_pythonpath)
    return env


def _describe_failure(what: str, proc: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{what} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )


@functools.cache
def oracle_routes(fixture: FixtureApp) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, str(ORACLE_SCRIPT), str(fixture.import_root_dir), fixture.target],
        cwd=fixture.directory,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=_subprocess_env([REPO_ROOT / "tests" / "stubs"] if fixture.stubs else None),
    )
    if proc.returncode != 0:
        pytest.fail(_describe_failure(f"oracle_dump for {fixture.name}", proc), pytrace=False)
    routes = json.loads(proc.stdout)
    assert isinstance(routes, list)
    return routes


def tool_report(fixture: FixtureApp) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "fastapi_arch_lint", "inspect", str(fixture.directory), "--format", "json"],
        cwd=fixture.directory,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        # the package may not be installed in the venv: make src/ importable either way
        env=_subprocess_env([REPO_ROOT / "src"]),
    )
    if proc.returncode != 0:
        pytest.fail(_describe_failure(f"fastapi-arch-lint inspect on {fixture.name}", proc), pytrace=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(
            f"fastapi-arch-lint inspect on {fixture.name} did not print JSON ({exc})\n"
            f"--- stdout ---\n{proc.stdout[:4000]}",
            pytrace=False,
        )
    assert isinstance(report, dict), f"expected a JSON object, got {type(report).__name__}"
    return report


def select_app(report: dict[str, Any], fixture: FixtureApp) -> dict[str, Any]:
    expected_file = fixture.app_module_file()
    apps = report.get("apps")
    assert isinstance(apps, list), f"report has no 'apps' list: keys={sorted(report)}"

    def norm(file: Any) -> str:
        return PurePosixPath(str(file).replace("\\", "/")).as_posix().removeprefix("./")

    candidates = [a for a in apps if norm(a.get("file")) == expected_file]
    if len(candidates) > 1:
        candidates = [a for a in candidates if a.get("name") == fixture.app_attr]
    found = [(a.get("name"), a.get("file"), a.get("line")) for a in apps]
    assert len(candidates) == 1, (
        f"expected exactly one app bound to {fixture.app_attr!r} in {expected_file}; "
        f"apps reported (name, file, line): {found}"
    )
    return candidates[0]


def _key(method: str, path: str, kind: str) -> RouteKey:
    return (method.upper(), path, kind)


def _fmt(key: RouteKey) -> str:
    method, path, kind = key
    return f"{method:7} {path}  [{kind}]"


def oracle_table(routes: list[dict[str, Any]]) -> dict[RouteKey, bool]:
    table: dict[RouteKey, bool] = {}
    for route in routes:
        methods = ["WS"] if route["kind"] == "websocket" else route["methods"]
        for method in methods:
            table[_key(method, route["path"], route["kind"])] = bool(route["auth"])
    return table


def tool_table(app: dict[str, Any]) -> tuple[dict[RouteKey, tuple[bool | None, Any]], list[str]]:
    """Map each (method, path, kind) to (auth.required, auth.via); also return shape problems.

    FastAPI's own docs routes are ``builtin_routes`` with ``source`` "docs": kind "docs" here, as
    the oracle dumps them; a library's routes keep their kind (the oracle sees them as API routes).
    """
    table: dict[RouteKey, tuple[bool | None, Any]] = {}
    problems: list[str] = []
    for route in app.get("builtin_routes", []):
        kind = "docs" if route.get("source") == "docs" else route.get("kind")
        methods = route.get("methods") or ["WS"]
        for method in methods:
            key = _key(method, route.get("path"), kind)
            if key in table:
                problems.append(f"duplicate route entry {_fmt(key)}")
            table[key] = (False if kind == "docs" else None, None)
    for route in app.get("routes", []):
        kind = route.get("kind")
        path = route.get("path")
        auth = route.get("auth")
        if isinstance(auth, dict) and isinstance(auth.get("required"), bool):
            via = auth.get("via")
            # FastAPI's runtime table sees security schemes only (what OpenAPI shows); decorator,
            # middleware and hand-rolled auth are invisible to it (tests/test_auth_styles.py).
            scheme = any(isinstance(v, dict) and v.get("kind") == "scheme" for v in via or [])
            if scheme and not auth["required"]:
                problems.append(f"route {route.get('methods')} {path} has a scheme but auth.required is false")
            required: bool | None = scheme
        else:
            required, via = None, None
            problems.append(f"route {route.get('methods')} {path} has malformed auth: {auth!r}")
        if kind == "websocket":
            if route.get("methods"):
                problems.append(f"websocket route {path} has non-empty methods {route.get('methods')!r}")
            methods = ["WS"]
        else:
            methods = list(route.get("methods") or [])
            if not methods:
                problems.append(f"http route {path} has no methods")
        for method in methods:
            key = _key(method, path, kind)
            if key in table:
                problems.append(f"duplicate route entry {_fmt(key)}")
            table[key] = (required, via)
    return table, problems


def compare(fixture: FixtureApp, runtime: dict[RouteKey, bool], static: dict[RouteKey, tuple[bool | None, Any]]) -> str:
    missing = sorted(set(runtime) - set(static))
    extra = sorted(set(static) - set(runtime))
    auth_diff = sorted(k for k in set(runtime) & set(static) if static[k][0] != runtime[k])
    if not (missing or extra or auth_diff):
        return ""
    lines = [
        f"route table mismatch for {fixture.name} ({fixture.target}): "
        f"{len(runtime)} runtime entries, {len(static)} static entries",
    ]
    if missing:
        lines.append(f"missing from fastapi-arch-lint ({len(missing)}), registered at runtime:")
        lines += [f"  - {_fmt(k)}  runtime auth={runtime[k]}" for k in missing]
    if extra:
        lines.append(f"extra in fastapi-arch-lint ({len(extra)}), not registered at runtime:")
        lines += [f"  + {_fmt(k)}  auth.required={static[k][0]}" for k in extra]
    if auth_diff:
        lines.append(f"auth differs ({len(auth_diff)}):")
        lines += [
            f"  ~ {_fmt(k)}  runtime auth={runtime[k]}, "
            f"fastapi-arch-lint auth.required={static[k][0]} via={static[k][1]!r}"
            for k in auth_diff
        ]
    return "\n".join(lines)


@pytest.mark.parametrize("fixture", PARAMS)
def test_oracle_fixture_is_non_trivial(fixture: FixtureApp) -> None:
    routes = oracle_routes(fixture)
    api = [r for r in routes if r["kind"] != "docs"]
    assert len(api) >= 8, f"{fixture.name}: only {len(api)} runtime routes"
    assert any(r["auth"] for r in api), f"{fixture.name}: no authenticated route"
    assert any(not r["auth"] for r in api), f"{fixture.name}: no unauthenticated route"
    for route in routes:
        assert set(route) == {"methods", "path", "kind", "auth"}, route
        assert route["kind"] in {"http", "websocket", "docs"}, route
        assert route["path"].startswith("/"), route
        if route["kind"] == "docs":  # FastAPI's own pages: GET (and the HEAD Starlette adds), no auth
            assert route["methods"] == ["GET", "HEAD"] and not route["auth"], route
        elif route["kind"] == "http":
            assert route["methods"] and route["methods"] == sorted(route["methods"]), route
        else:
            assert route["methods"] == [], route


@pytest.mark.parametrize("fixture", PARAMS)
def test_route_table_matches_fastapi_runtime(fixture: FixtureApp) -> None:
    runtime = oracle_table(oracle_routes(fixture))
    report = tool_report(fixture)
    app = select_app(report, fixture)
    static, problems = tool_table(app)
    mismatch = compare(fixture, runtime, static)
    message = "\n".join(filter(None, [mismatch, *(["malformed routes:", *problems] if problems else [])]))
    assert not message, message
