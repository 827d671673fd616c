"""What the model could not resolve about routing is said once, in every format of ``review``.

tests/fixtures/plugin_app builds routers from runtime data: a prefix read from the environment,
a router loaded through an entry point, a route decorator on a router a plugin hook returns, an
include whose ``dependencies=`` are computed at startup. ``review`` must print one line saying so
(never a silent half model), and the exit code must not depend on it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fastapi_arch_lint.findings import Diagnostic, Related
from fastapi_arch_lint.model.app import Unresolved
from fastapi_arch_lint.model.unresolved import RoutingGaps, kind_of
from fastapi_arch_lint.report import github, jsonout, sarif, text

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = Path(__file__).resolve().parent / "schemas" / "sarif-schema-2.1.0.json"
MESSAGE = ("5 routing items could not be resolved statically (1 router, 2 includes, 1 route registration, "
           "1 dependency list): routes they add may be missing, and 4 routes may have a wrong path or lack auth; "
           "see `fastapi-arch-lint inspect`")


def review(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", ".", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("plugins") / "plugin_app"
    shutil.copytree(FIXTURES / "plugin_app", dst)
    return dst


def test_text_prints_one_footer_line_not_a_finding(app: Path) -> None:
    p = review(app, "--no-cache")
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert lines[-1] == f"note: {MESSAGE}"
    assert sum(MESSAGE in line for line in lines) == 1
    assert "not analyzed" not in p.stdout and "could not be analyzed" not in p.stdout


def test_the_exit_code_does_not_depend_on_it(app: Path) -> None:
    # FAL201 is a warning: with --fail-on error the run passes, note or not
    p = review(app, "--no-cache", "--select", "FAL201", "--fail-on", "error")
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.splitlines()[-1] == f"note: {MESSAGE}"
    p = review(app, "--no-cache", "--select", "FAL201", "--format", "json", "--exit-zero")
    assert p.returncode == 0


def test_json_has_one_diagnostic_with_count_routes_and_locations(app: Path) -> None:
    doc = json.loads(review(app, "--no-cache", "--format", "json").stdout)
    assert doc["summary"]["not_analyzed"] == 0
    [d] = doc["diagnostics"]
    assert d["kind"] == "unresolved" and d["message"] == MESSAGE and d["path"] == "<model>"
    assert d["count"] == 5 and d["routes"] == 4
    where = {(loc["path"], loc["line"]) for loc in d["locations"]}
    assert where == {("app/main.py", 11), ("app/main.py", 12), ("app/main.py", 13), ("app/routers/extra.py", 6),
                     ("app/routers/reports.py", 5)}
    kinds = sorted(loc["message"].split(":")[0] for loc in d["locations"])
    assert kinds == ["dependencies", "include", "include", "route", "router"]


def test_sarif_carries_it_as_a_tool_execution_notification(app: Path) -> None:
    import jsonschema

    doc = json.loads(review(app, "--no-cache", "--format", "sarif").stdout)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text(encoding="utf-8")))
    [invocation] = doc["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    [n] = invocation["toolExecutionNotifications"]
    assert n["level"] == "note" and n["message"]["text"] == MESSAGE and n["descriptor"]["id"] == "unresolved"
    assert n["properties"] == {"kind": "unresolved", "count": 5, "routes": 4}
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for loc in n["locations"]}
    assert uris == {"app/main.py", "app/routers/extra.py", "app/routers/reports.py"}
    assert all(r["ruleId"].startswith("FAL") for r in doc["runs"][0]["results"])


def test_github_prints_a_notice_and_the_summary_says_it(app: Path, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    p = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "review", ".", "--no-cache", "--format", "github"],
                       cwd=app, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)})
    notices = [line for line in p.stdout.splitlines() if line.startswith("::notice")]
    assert notices == [f"::notice title=fastapi-arch-lint (unresolved)::{github.escape_data(MESSAGE)}"]
    assert f"> **Note:** {MESSAGE}" in summary.read_text()


@pytest.mark.parametrize("fmt", ["gitlab", "junit"])
def test_formats_without_a_place_for_it_print_it_on_stderr(app: Path, fmt: str) -> None:
    p = review(app, "--no-cache", "--format", fmt)
    assert p.returncode == 1
    assert p.stderr.strip() == f"fastapi-arch-lint: note: {MESSAGE}"
    if fmt == "gitlab":
        issues = json.loads(p.stdout)
        assert issues and all(i["check_name"].startswith("FAL") for i in issues)
    else:
        root = ET.fromstring(p.stdout)
        assert all(s.get("name", "").startswith("app/") for s in root.findall("testsuite"))
        assert root.get("errors") == "0"


def test_a_run_answered_from_the_stored_result_says_it_too(app: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = review(app, "--format", "json", "--cache-dir", str(cache))
    second = review(app, "--format", "json", "--cache-dir", str(cache))
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert json.loads(second.stdout)["diagnostics"][0]["message"] == MESSAGE


def test_inspect_lists_each_item_with_its_kind_and_marks_the_routes(app: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "inspect", ".", "--no-cache"], cwd=app,
                       capture_output=True, text=True, timeout=300)
    out = p.stdout
    assert MESSAGE.removesuffix("; see `fastapi-arch-lint inspect`") in out
    assert "app/main.py:12: [include] included router `load_plugin_router()`" in out
    assert "app/routers/reports.py:5: [router] router prefix `os.environ['REPORTS_PREFIX']`" in out
    daily = next(line for line in out.splitlines() if "daily_report" in line)
    assert "(a prefix or the path is unresolved)" in daily
    reindex = next(line for line in out.splitlines() if " reindex " in line)
    assert "(unresolved dependencies above it)" in reindex
    # its auth line says unknown, not none: the rules say nothing about its auth either
    after = out.splitlines()[out.splitlines().index(reindex) + 1]
    assert after.strip() == "auth: unknown: an unresolved dependency list, router or include above it may add some"
    doc = json.loads(subprocess.run([sys.executable, "-m", "fastapi_arch_lint", "inspect", ".", "--no-cache",
                                     "--format", "json"], cwd=app, capture_output=True, text=True,
                                    timeout=300).stdout)
    routes = {r["function"].rsplit(".", 1)[1]: r for r in doc["apps"][0]["routes"]}
    assert routes["daily_report"]["path_unresolved"] is True and routes["list_items"]["path_unresolved"] is False
    assert {u["kind"] for u in doc["unresolved"]} == {"router", "include", "route", "dependencies", "other"}


def test_a_fully_resolved_app_gets_no_line(tmp_path: Path) -> None:
    dst = tmp_path / "good_app"
    shutil.copytree(FIXTURES / "good_app", dst)
    doc = json.loads(review(dst, "--no-cache", "--format", "json", "--exit-zero").stdout)
    assert doc["diagnostics"] == []


# -- the pieces ----------------------------------------------------------------------------

@pytest.mark.parametrize(("what", "kind"), [
    ("router prefix `settings.PREFIX`", "router"),
    ("router class `VersionedRouter`", "router"),
    ("router `api`", "router"),
    ("`APIRouter(**...)` arguments", "router"),
    ("included router `load()`", "include"),
    ("include prefix `cfg.prefix`", "include"),
    ("`plugin.app.include_router(...)`", "include"),
    ("route decorator `@hooks.post`", "route"),
    ("route path `PATHS[0]`", "route"),
    ("endpoint of `router.add_api_route`", "route"),
    ("methods `ALLOWED`", "route"),
    ("dependencies `configured()`", "dependencies"),
    ("dependency in `dependencies=`", "dependencies"),
    ("full path of `app.items.read`", ""),  # a consequence: counted as a route
    ("status code `CODES['ok']`", ""),
    ("path test `request.url.path in OPEN` in middleware `auth`", ""),
])
def test_notes_are_classified_by_what_they_are_about(what: str, kind: str) -> None:
    assert kind_of(Unresolved(what, "not a constant", "app/x.py", 1)) == kind


def test_the_message_names_only_what_is_there() -> None:
    def gaps(*kinds: str, routes: int = 0) -> RoutingGaps:
        return RoutingGaps(tuple((k, Unresolved("w", "r", "p.py", i)) for i, k in enumerate(kinds)), routes)

    assert gaps("include").message() == ("1 routing item could not be resolved statically (1 include): routes they "
                                         "add may be missing; see `fastapi-arch-lint inspect`")
    assert gaps("dependencies", "dependencies", routes=3).message() == (
        "2 routing items could not be resolved statically (2 dependency lists): 3 routes may have a wrong path or "
        "lack auth; see `fastapi-arch-lint inspect`")


def test_renderers_keep_it_apart_from_files_not_analyzed() -> None:
    note = Diagnostic("<model>", "2 routing items could not be resolved", "unresolved", count=2, routes=1,
                      locations=(Related("app/main.py", 3, "include: included router `x`: unknown"),))
    bad = Diagnostic("app/broken.py", "syntax error")
    out = text.render([], [bad, note], files=3)
    assert out.splitlines()[-2:] == ["1 file could not be analyzed (see above).",
                                     "note: 2 routing items could not be resolved"]
    doc = jsonout.document([], [bad, note], files=3)
    assert doc["summary"]["not_analyzed"] == 1
    assert [d["kind"] for d in doc["diagnostics"]] == ["not-analyzed", "unresolved"]
    run_ = sarif.document([], [bad, note], [], files=3)["runs"][0]
    levels = [n["level"] for n in run_["invocations"][0]["toolExecutionNotifications"]]
    assert levels == ["note", "warning"] and run_["invocations"][0]["executionSuccessful"] is True


def test_an_app_built_from_runtime_options_puts_every_route_in_doubt(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi_arch_lint.engine import analyze
    from fastapi_arch_lint.model.unresolved import routing_gaps

    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "__init__.py").write_text("")
    (tmp_path / "svc" / "items.py").write_text(
        "from fastapi import APIRouter\n\nrouter = APIRouter()\n\n\n@router.get('/items')\nasync def items():\n    return []\n")
    (tmp_path / "svc" / "main.py").write_text(
        "from fastapi import FastAPI\n\nfrom svc import items\nfrom svc.config import options\n\n\n"
        "def create_app() -> FastAPI:\n    application = FastAPI(**options())\n"
        "    application.include_router(items.router, prefix='/v1')\n    return application\n\n\napp = create_app()\n")
    (tmp_path / "svc" / "config.py").write_text("import os\n\n\ndef options():\n    return dict(os.environ)\n")
    monkeypatch.chdir(tmp_path)
    gaps = routing_gaps(analyze([tmp_path]).model)
    # the options may hold dependencies=, root_path=...: the app's one route is in doubt, none is missing
    assert [k for k, _ in gaps.notes] == ["router"] and gaps.routes == 1
    assert gaps.message() == ("1 routing item could not be resolved statically (1 router): 1 route may have a wrong "
                              "path or lack auth; see `fastapi-arch-lint inspect`")


def test_fal401_is_quiet_where_unresolved_dependencies_may_attach_auth(app: Path) -> None:
    doc = json.loads(review(app, "--no-cache", "--format", "json", "--select", "FAL401").stdout)
    flagged = sorted(f["message"].split("`")[1] for f in doc["findings"])
    # /admin/* sits under `include_router(admin.router, dependencies=configured_dependencies())`: unknown auth
    assert flagged == ["DELETE /items/{item_id}"], flagged


def test_a_dependency_made_from_a_class_loaded_at_runtime_leaves_auth_in_doubt(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``Depends(factory.verifier(["read"]))`` where the factory instantiates a class it loads by name
    (``getattr(importlib.import_module(...), name)(...)``): what FastAPI calls, and whether it checks a
    credential, is unknown. The dependency is unresolved, FAL401 stays quiet on the routes, and FAL536
    does not claim that anyone gets the error text; a route without that dependency still fires."""
    from fastapi_arch_lint.engine import analyze

    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "__init__.py").write_text("")
    (tmp_path / "svc" / "factory.py").write_text(
        "import importlib\nimport os\n\n\nclass Factory:\n    @staticmethod\n"
        "    def verifier(scopes: list[str]):\n        kind = os.environ.get('AUTH_TYPE', 'noauth')\n"
        "        module = importlib.import_module(f'svc.verifiers.{kind}')\n"
        "        verifier_class = getattr(module, 'Verifier')\n        resp = verifier_class(scopes)\n        return resp\n")
    (tmp_path / "svc" / "main.py").write_text(
        "from fastapi import Depends, FastAPI, HTTPException\n\nfrom svc.factory import Factory\n\napp = FastAPI()\n\n\n"
        "@app.delete('/items/{item_id}')\ndef delete_item(item_id: int, who=Depends(Factory.verifier(['write']))):\n"
        "    try:\n        return {'deleted': item_id}\n    except Exception as e:\n"
        "        raise HTTPException(status_code=500, detail=str(e))\n\n\n"
        "@app.post('/notes')\ndef add_note(text: str):\n    return {'text': text}\n")
    monkeypatch.chdir(tmp_path)
    route = next(r for r in analyze([tmp_path]).model.routes if r.path == "/items/{item_id}")
    assert [(d.kind, d.name) for d in route.dependencies] == [("unknown", "svc.factory.resp")]
    doc = json.loads(review(tmp_path, "--no-cache", "--format", "json", "--select", "FAL401,FAL536").stdout)
    got = {(f["rule"], f["message"].split("`")[1]) for f in doc["findings"]}
    assert ("FAL401", "DELETE /items/{item_id}") not in got and ("FAL401", "POST /notes") in got, got
    leak = [f["message"] for f in doc["findings"] if f["rule"] == "FAL536"]
    assert len(leak) == 1 and "anyone gets it" not in leak[0], leak


def test_the_editor_hover_says_unknown_auth_too(app: Path) -> None:
    """The language server's hover on such a route says its auth is unknown, not that none reaches it;
    a route of the same app with nothing unresolved above it still says none."""
    from fastapi_arch_lint.engine import analyze
    from fastapi_arch_lint.model.unresolved import auth_uncertain_routes
    from fastapi_arch_lint.server import hover_text

    model = analyze([app], base=app, jobs=1).model
    assert model is not None
    unknown = {id(r) for r in auth_uncertain_routes(model)}
    routes = {r.handler.qualname.rsplit(".", 1)[1]: r for a in model.apps for r in a.routes}
    reindex = routes["reindex"]
    assert id(reindex) in unknown and not reindex.auth.via
    assert "auth: `unknown` (an unresolved dependency list" in hover_text(reindex, True)
    quiet = [r for r in routes.values() if id(r) not in unknown and not r.auth.via]
    assert quiet and "auth: `none` (no authentication reaches this route)" in hover_text(quiet[0], False)
