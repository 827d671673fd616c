"""``fastapi-arch-lint diff BASE [HEAD]``: the API change between two git revisions.

The main scenario is a temporary repository whose first commit is tests/fixtures/bigger_app
and whose second commit removes a router-level auth dependency (and the one on the admin
include), renames a route and adds two routes. Smaller cases compare in-process models.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fastapi_arch_lint.apidiff import compare, template
from fastapi_arch_lint.engine import analyze
from gitrepo import commit_all, edit, git, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "bigger_app"

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def run_diff(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(cwd, "diff", *args)


NEW_ROUTES = '''

@router.post("/{item_id}/archive", status_code=status.HTTP_204_NO_CONTENT)
async def archive_item(item_id: int, db: Annotated[Session, Depends(get_db)]) -> None:
    item_service.archive(db, item_id)


@router.get("/{item_id}/history")
async def item_history(
    item_id: int,
    current_user: Annotated[User, Depends(get_current_active_user)],
) -> list[str]:
    return []
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    # base: DELETE /items/{item_id} relies on the router-level dependency alone (the other
    # item handlers also take `current_user`, so they stay authenticated without it)
    items = root / "app" / "routers" / "items.py"
    text = items.read_text()
    head, tail = text.split("async def delete_item(", 1)
    tail = tail.replace("    current_user: Annotated[User, Depends(get_current_active_user)],\n", "", 1)
    tail = tail.replace("item_service.get_item(db, item_id, current_user)", "item_service.get_item(db, item_id, None)", 1)
    items.write_text(head + "async def delete_item(" + tail)
    commit_all(root, "base: bigger_app")
    return root


def second_commit_changes(root: Path) -> None:
    items = root / "app" / "routers" / "items.py"
    edit(items, "    dependencies=[Depends(get_current_active_user)],\n", "")  # the router-level auth
    items.write_text(items.read_text() + NEW_ROUTES)
    edit(root / "app" / "main.py", "    dependencies=[Depends(get_token_header)],\n", "")  # auth on the admin include
    edit(root / "app" / "routers" / "users.py", '@router.get("/{username}", response_model=PublicProfile)',
         '@router.get("/profiles/{username}", response_model=PublicProfile)')  # a renamed route


EXPECTED = {
    # (kind, methods, path): (breaking, security)
    ("auth-lost", ("DELETE",), "/items/{item_id}"): (False, True),
    ("auth-lost", ("POST",), "/admin/"): (False, True),
    ("auth-lost", ("GET",), "/admin/stats"): (False, True),
    ("auth-lost", ("POST",), "/admin/users/{user_id}/deactivate"): (False, True),
    ("path-changed", ("GET",), "/users/profiles/{username}"): (True, False),
    ("route-added", ("POST",), "/items/{item_id}/archive"): (False, True),
    ("route-added", ("GET",), "/items/{item_id}/history"): (False, False),
}


@needs_git
def test_diff_reports_lost_auth_and_the_rename(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    second_commit_changes(repo)
    # HEAD omitted: the working tree, changes not committed yet
    worktree = run_diff(repo, "main", "--format", "json")
    git(repo, "commit", "-q", "-am", "drop auth, rename a route")
    proc = run_diff(repo, "main", "HEAD", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["version"] == 1
    assert doc["base"] == {"rev": "main", "commit": git(repo, "rev-parse", "main").strip()}
    assert doc["head"] == {"rev": "HEAD", "commit": git(repo, "rev-parse", "HEAD").strip()}
    got = {(c["kind"], tuple(c["methods"]), c["path"]): (c["breaking"], c["security"]) for c in doc["changes"]}
    assert got == EXPECTED, json.dumps(doc["changes"], indent=1)
    rename = next(c for c in doc["changes"] if c["kind"] == "path-changed")
    assert (rename["before"], rename["after"]) == ("/users/{username}", "/users/profiles/{username}")
    assert rename["handler"] == "app.routers.users.read_user"
    assert rename["file"] == "app/routers/users.py" and rename["line"] > 0
    lost = next(c for c in doc["changes"] if c["kind"] == "auth-lost" and c["path"] == "/admin/stats")
    assert "APIKeyHeader" in lost["before"] and lost["after"] == "none"
    assert set(doc["changes"][0]) == {"kind", "breaking", "security", "methods", "path", "before", "after",
                                      "handler", "file", "line", "message"}
    assert doc["summary"] == {"breaking": 1, "security": 5, "other": 1, "changes": 7,
                              "routes_before": 15, "routes_after": 17, "fails": True}
    assert doc["diagnostics"] == []
    # the working tree gave the same changes, with no head commit
    wt = json.loads(worktree.stdout)
    assert worktree.returncode == 1 and wt["head"] == {"rev": "WORKTREE", "commit": None}
    assert wt["changes"] == doc["changes"]

    md = run_diff(repo, "main", "HEAD", "--format", "markdown", "--exit-zero")
    assert md.returncode == 0  # --exit-zero: report only
    text = md.stdout
    assert text.startswith("## API changes: main (") and "→ HEAD (" in text.splitlines()[0]
    assert "**1 breaking**, **5 security**, 1 other (15 → 17 routes)." in text
    sections = [line for line in text.splitlines() if line.startswith("### ")]
    assert sections == ["### Security", "### Breaking", "### Other changes"]
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 7 and all(line.count(" | ") == 4 for line in rows)
    assert "| `GET /users/profiles/{username}` | **path-changed**" in text


@needs_git
def test_diff_errors_are_one_line(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from fastapi_arch_lint.cli import cli

    monkeypatch.chdir(repo)
    res = CliRunner().invoke(cli, ["diff", "nope"])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "unknown git revision `nope`" in res.stderr
    res = CliRunner().invoke(cli, ["diff", "main", "--path", "no-such-dir"])
    assert res.exit_code == 2 and "not a folder" in res.stderr
    outside = tmp_path / "plain"
    outside.mkdir()
    monkeypatch.chdir(outside)
    res = CliRunner().invoke(cli, ["diff", "main"])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "not inside a git repository" in res.stderr
    # no routes at either revision: the wrong folder, most likely
    monkeypatch.chdir(repo)
    (repo / "docs").mkdir()
    (repo / "docs" / "conf.py").write_text("x = 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "docs")
    res = CliRunner().invoke(cli, ["diff", "main~1", "--path", "docs"])
    assert res.exit_code == 2 and "no FastAPI routes found under docs" in res.stderr


@needs_git
def test_merge_base_and_subfolder(tmp_path: Path) -> None:
    """``--merge-base`` compares with the fork point: a route added on main after the branch
    forked is not reported as removed. ``--path`` selects the app inside the repository."""
    repo = tmp_path / "mono"
    for rel, text in BASE_APP.items():
        (repo / "backend" / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / "backend" / rel).write_text(text)
    (repo / "README.md").write_text("a monorepo\n")
    commit_all(repo, "base")
    main_py = repo / "backend" / "app" / "main.py"
    git(repo, "checkout", "-q", "-b", "feature")
    edit(main_py, '@app.get("/listings"', '@app.get("/offers"')
    git(repo, "commit", "-q", "-am", "rename /listings")
    git(repo, "checkout", "-q", "main")
    main_py.write_text(main_py.read_text() + '\n\n@app.get("/version")\ndef version() -> str:\n    return "1"\n')
    git(repo, "commit", "-q", "-am", "main adds /version")
    git(repo, "checkout", "-q", "feature")
    direct = run_diff(repo, "main", "HEAD", "--format", "json", "--path", "backend")
    forked = run_diff(repo / "backend", "--merge-base", "main", "HEAD", "--format", "json")
    assert direct.returncode == forked.returncode == 1
    direct_doc, forked_doc = json.loads(direct.stdout), json.loads(forked.stdout)
    assert {(c["kind"], c["path"]) for c in direct_doc["changes"]} == {
        ("path-changed", "/offers"), ("route-removed", "/version")}
    assert {(c["kind"], c["path"]) for c in forked_doc["changes"]} == {("path-changed", "/offers")}
    assert forked_doc["base"]["commit"] == git(repo, "merge-base", "main", "HEAD").strip()
    assert forked_doc["changes"][0]["file"] == "backend/app/main.py"  # repository-relative


# ------------------------------------------------------------------ in-process comparisons

BASE_APP = {
    "app/__init__.py": "",
    "app/schemas.py": '''from pydantic import BaseModel


class Item(BaseModel):
    id: int
    name: str
    price: float


class Listing(BaseModel):
    id: int
    name: str
    price: float
''',
    "app/main.py": '''from fastapi import Depends, FastAPI, Header
from fastapi.security import OAuth2PasswordBearer

from app.schemas import Item, Listing

oauth2 = OAuth2PasswordBearer(tokenUrl="token")
app = FastAPI()


@app.get("/items/{item_id}", response_model=Item)
def read_item(item_id: int, token: str = Depends(oauth2)):
    return {}


@app.api_route("/items/{item_id}/tags", methods=["GET", "PUT"])
def tags(item_id: int):
    return []


@app.post("/items", status_code=201, response_model=Item)
def create_item(item: Item):
    return item


@app.get("/listings", response_model=list[Item])
def listings(page: int = 1):
    return []


@app.put("/items/{item_id}/price")
def set_price(item_id: int, price: float):
    return None
''',
}


def build(tmp_path: Path, name: str, files: dict[str, str]):  # type: ignore[no-untyped-def]
    root = tmp_path / name
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return analyze([root], jobs=1).model


def changes(tmp_path: Path, head_files: dict[str, str]) -> dict[tuple[str, str], tuple[bool, str | None, str | None]]:
    base = build(tmp_path, "base", BASE_APP)
    head = build(tmp_path, "head", head_files)
    diff = compare(base, head)
    return {(c.kind, f"{' '.join(c.methods)} {c.path}"): (c.breaking, c.before, c.after) for c in diff.changes}


def test_methods_status_params_and_models(tmp_path: Path) -> None:
    main = BASE_APP["app/main.py"]
    main = main.replace('@app.get("/items/{item_id}", response_model=Item)',
                        '@app.get("/items/{id}", response_model=Item)')          # param renamed
    main = main.replace("def read_item(item_id: int,", "def read_item(id: int,")
    main = main.replace('methods=["GET", "PUT"]', 'methods=["GET"]')              # PUT dropped
    main = main.replace("status_code=201", "status_code=200")                      # status changed
    main = main.replace("def listings(page: int = 1)", "def listings(page: int)")   # page now required
    main = main.replace('@app.put("/items/{item_id}/price")', '@app.patch("/items/{item_id}/price")')
    schemas = BASE_APP["app/schemas.py"].replace("class Item(BaseModel):\n    id: int\n    name: str\n",
                                                 "class Item(BaseModel):\n    id: int\n")  # field removed
    schemas = schemas.replace("class Listing(BaseModel):\n    id: int\n    name: str\n    price: float\n",
                              "class Listing(BaseModel):\n    id: int\n    name: str\n    price: float\n"
                              "    currency: str = 'EUR'\n")
    got = changes(tmp_path, {**BASE_APP, "app/main.py": main, "app/schemas.py": schemas})
    assert got == {
        ("path-params-changed", "GET /items/{id}"): (True, "/items/{item_id}", "/items/{id}"),
        ("response-model-changed", "GET /items/{id}"): (True, "Item", "Item"),
        ("methods-changed", "GET PUT /items/{item_id}/tags"): (True, "GET, PUT", "GET"),
        ("status-changed", "POST /items"): (True, "201", "200"),
        ("response-model-changed", "POST /items"): (True, "Item", "Item"),
        ("parameters-changed", "GET /listings"): (True, None, "query `page`"),
        ("response-model-changed", "GET /listings"): (True, "list[Item]", "list[Item]"),
        ("methods-changed", "PATCH PUT /items/{item_id}/price"): (True, "PUT", "PATCH"),
    }, got


def test_renamed_model_with_same_fields_and_added_fields_are_not_breaking(tmp_path: Path) -> None:
    main = BASE_APP["app/main.py"].replace("response_model=list[Item]", "response_model=list[Listing]")
    schemas = BASE_APP["app/schemas.py"].replace("class Item(BaseModel):\n    id: int\n    name: str\n    price: float\n",
                                                 "class Item(BaseModel):\n    id: int\n    name: str\n    price: float\n"
                                                 "    stock: int = 0\n")
    got = changes(tmp_path, {**BASE_APP, "app/main.py": main, "app/schemas.py": schemas})
    # list[Item] -> list[Listing] with Listing == old Item: a rename; Item gained a field: additive
    assert got[("response-model-changed", "GET /listings")] == (False, "list[Item]", "list[Listing]")
    assert got[("response-model-changed", "GET /items/{item_id}")][0] is False
    assert got[("response-model-changed", "POST /items")][0] is False
    assert not any(breaking for breaking, _, _ in got.values())


def test_auth_added_is_breaking_and_no_change_is_empty(tmp_path: Path) -> None:
    main = BASE_APP["app/main.py"].replace("def listings(page: int = 1):", "def listings(page: int = 1, token: str = Depends(oauth2)):")
    got = changes(tmp_path, {**BASE_APP, "app/main.py": main})
    assert got == {("auth-added", "GET /listings"): (True, "none", got[("auth-added", "GET /listings")][2])}
    assert "OAuth2PasswordBearer" in (got[("auth-added", "GET /listings")][2] or "")
    same = compare(build(tmp_path, "a", BASE_APP), build(tmp_path, "b", BASE_APP))
    assert same.changes == [] and not same.fails and same.routes_before == same.routes_after == 5


def test_template() -> None:
    assert template("/items/{item_id}/x/{p:path}") == "/items/{}/x/{:path}"


def test_text_and_markdown_rendering(tmp_path: Path) -> None:
    from fastapi_arch_lint.report.diff import Side, SideDiagnostic, render_markdown, render_text

    main = BASE_APP["app/main.py"].replace("def read_item(item_id: int, token: str = Depends(oauth2)):",
                                           "def read_item(item_id: int):")
    main = main.replace('@app.get("/listings"', '@app.get("/offers"')
    base, head = build(tmp_path, "base", BASE_APP), build(tmp_path, "head", {**BASE_APP, "app/main.py": main})
    strip = str(tmp_path / "head") + "/"
    diff = compare(base, head, head_path=lambda p: str(Path(p).resolve()).replace(strip, ""))
    sides = (Side("main", "0123456789abcdef0123"), Side("WORKTREE", None))
    diags = [SideDiagnostic("head", "app/broken.py", "syntax error at line 3")]
    text = render_text(diff, *sides, diags).splitlines()
    assert text[0] == ("API changes from main (0123456789ab) to the working tree: "
                       "1 breaking, 1 security, 0 other (5 -> 5 routes)")
    assert text[1] == ""
    assert text[2].startswith("app/main.py:") and " SECURITY auth-lost: GET /items/{item_id} no longer requires" in text[2]
    assert text[3].startswith("app/main.py:") and " BREAKING path-changed: GET /listings moved to /offers" in text[3]
    assert text[4] == "note: at head, app/broken.py was not analyzed: syntax error at line 3"
    md = render_markdown(diff, *sides, diags)
    assert md.splitlines()[0] == "## API changes: main (0123456789ab) → the working tree"
    assert "<details><summary>Files that could not be analyzed</summary>" in md
    assert render_text(compare(base, base), *sides).startswith("No API changes from main (0123456789ab)")
