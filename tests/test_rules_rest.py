"""REST rules FAL101-FAL109: edge cases beyond the rule pages, and the ``Route.order`` fact."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.rules.rest._common import VERSION_RE, parse_path, pattern_key, segment_origin, swallows

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        f = root / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    for d in {(root / n).parent for n in files}:
        while d != root and d.is_relative_to(root):
            (d / "__init__.py").touch()
            d = d.parent


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str], code: str,
        options: dict | None = None) -> list:
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    cfg = Config(root=tmp_path, rule_options={code: options} if options else {})
    result = review(["."], cfg, select=[code])
    assert not result.diagnostics, result.diagnostics
    return [f for f in result.findings if f.rule == code]


def lines(findings: list) -> list[tuple[str, int]]:
    return sorted((f.path, f.line) for f in findings)


def marked(files: dict[str, str], tag: str = "x") -> list[tuple[str, int]]:
    """Lines carrying ``# F:tag`` (tags comma-separated): where findings are expected."""
    out = []
    for name, text in files.items():
        for n, line in enumerate(textwrap.dedent(text).lstrip("\n").splitlines(), start=1):
            m = re.search(r"# F:([\w,-]+)", line)
            if m and tag in m.group(1).split(","):
                out.append((name, n))
    return sorted(out)


# ---------------------------------------------------------------------------
# the model fact: Route.order is FastAPI's matching order

ORDER_FILES = {
    "app/sub.py": """
        from fastapi import APIRouter

        inner = APIRouter(prefix="/inner")
        router = APIRouter(prefix="/users")


        @router.get("/{user_id}")
        def read_user(user_id: str):
            return {}


        router.include_router(inner)


        @router.get("/me")
        def read_me():
            return {}


        @inner.get("/x")
        def inner_x():
            return {}


        def ping():
            return {}


        router.add_api_route("/ping", ping)
    """,
    "app/main.py": """
        from fastapi import FastAPI

        from app import sub

        app = FastAPI()


        @app.get("/first")
        def first():
            return {}


        app.include_router(sub.router)


        @app.get("/users/me")
        def app_me():
            return {}


        app.include_router(sub.router, prefix="/v2")
        app.include_router(sub.inner, prefix="/direct")
    """,
}


def _orders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
            ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The app's routes in the model's order and in FastAPI's own (its matching order)."""
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    ours = [(r.path, r.handler.qualname.rsplit(".", 1)[-1]) for r in sorted(model.apps[0].routes, key=lambda r: r.order)]
    assert sorted(r.order for r in model.apps[0].routes) == list(range(len(ours)))
    probe = textwrap.dedent("""
        import json
        from fastapi.routing import APIRoute, _iter_routes_with_context
        from app.main import app
        out = []
        for route, ctx in _iter_routes_with_context(app.router.routes):
            if isinstance(route, APIRoute):
                out.append([ctx.path_format if ctx else route.path, route.endpoint.__name__])
        print(json.dumps(out))
    """)
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    return ours, [tuple(x) for x in json.loads(proc.stdout)]


def test_route_order_matches_fastapi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = _orders(tmp_path, monkeypatch, ORDER_FILES)
    assert ours == theirs


# stacked route decorators register from the ``def`` outwards
ORDER_STACKED_FILES = {
    "app/chats.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/chats")


        @router.get("/{chat_id}")
        @router.get("/all")
        def chats(chat_id: str = ""):
            return {}


        @router.get("/{chat_id}/raw")
        def raw(chat_id: str):
            return {}
    """,
    "app/main.py": """
        from fastapi import FastAPI

        from app import chats

        app = FastAPI()
        app.include_router(chats.router)
    """,
}


def test_route_order_of_stacked_decorators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = _orders(tmp_path, monkeypatch, ORDER_STACKED_FILES)
    assert ours == theirs
    assert ours[:2] == [("/chats/all", "chats"), ("/chats/{chat_id}", "chats")]


# an include or a route registered in a helper that receives the app or router takes its place where
# the helper is called (and stacked decorators, from the ``def`` outwards, beside them)
ORDER_RUN_FILES = {
    "app/chats.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/chats")


        def add_export(r: APIRouter) -> None:
            r.add_api_route("/export", export)


        @router.get("/{chat_id}")
        @router.get("/all")
        def chats(chat_id: str = ""):
            return {}


        @router.get("/{chat_id}/raw")
        def raw(chat_id: str):
            return {}


        def export():
            return {}


        add_export(router)
    """,
    "app/extra.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/extra")


        @router.get("/{name}")
        def extra(name: str):
            return {}
    """,
    "app/main.py": """
        from fastapi import FastAPI

        from app import chats, extra


        def include_extra(app: FastAPI) -> None:
            app.include_router(extra.router)


        def include_all(app: FastAPI) -> None:
            app.include_router(chats.router, prefix="/v2")
            include_extra(app)


        app = FastAPI()
        app.include_router(chats.router)
        include_all(app)


        @app.get("/late")
        def late():
            return {}
    """,
}


def test_route_order_follows_helper_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = _orders(tmp_path, monkeypatch, ORDER_RUN_FILES)
    assert ours == theirs
    assert ours[:2] == [("/chats/all", "chats"), ("/chats/{chat_id}", "chats")]


def test_route_order_on_fixture() -> None:
    model = analyze([str(FIXTURES / "bigger_app")], base=FIXTURES / "bigger_app").model
    routes = sorted(model.apps[0].routes, key=lambda r: r.order)
    paths = [r.path for r in routes]
    # auth, users, items, admin are included before the app's own decorators
    assert paths.index("/token") < paths.index("/users/") < paths.index("/items/") < paths.index("/admin/stats")
    assert paths.index("/admin/stats") < paths.index("/") < paths.index("/health")
    assert paths.index("/users/me") < paths.index("/users/{username}")


# ---------------------------------------------------------------------------
# path helpers


@pytest.mark.parametrize(("earlier", "later", "expected"), [
    ("/users/{user_id}", "/users/me", True),
    ("/users/{user_id:int}", "/users/me", False),
    ("/users/{user_id:int}", "/users/42", True),
    ("/users/{name}", "/users/{user_id:int}", True),
    ("/users/{user_id:int}", "/users/{name}", False),
    ("/files/{p:path}", "/files/a/b/c", True),
    ("/files/{p:path}", "/files", False),
    ("/files/{p:path}", "/other/a", False),
    ("/users/{user_id}", "/users/me/avatar", False),
    ("/users/{user_id}/avatar", "/users/me", False),
    ("/items/{id}.json", "/items/latest.json", True),
    ("/items/{id}.json", "/items/latest.xml", False),
    ("/things/{id:uuid}", "/things/new", False),
    ("/reports/{year}", "/reports/{year}-summary", True),
])
def test_swallows(earlier: str, later: str, expected: bool) -> None:
    assert swallows(earlier, later) is expected


def test_pattern_key_and_parse() -> None:
    assert pattern_key("/a/{x}/b/{y:int}") == pattern_key("/a/{other}/b/{z:int}")
    assert pattern_key("/a/{x}") != pattern_key("/a/{x:int}")
    assert [s.kind for s in parse_path("/a/{b}/c-{d}")] == ["static", "param", "mixed"]
    assert VERSION_RE.match("v1") and VERSION_RE.match("v2beta1") and VERSION_RE.match("v1.2")
    assert not VERSION_RE.match("vendors") and not VERSION_RE.match("v")


def test_segment_origin_points_at_the_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {
        "app/r.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/team_members")


            @router.get("/{member_id}/Roles")
            def roles(member_id: int):
                return []
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app import r

            app = FastAPI()
            app.include_router(r.router, prefix="/org_units/{unit_id}")
        """,
    })
    monkeypatch.chdir(tmp_path)
    model = analyze(["."]).model
    route = model.apps[0].routes[0]
    parts = route.path.split("/")
    assert segment_origin(model, route, parts.index("org_units"))[0].path == "app/main.py"
    assert segment_origin(model, route, parts.index("team_members"))[0].line == 3
    assert segment_origin(model, route, parts.index("Roles"))[0] == route.registered


# ---------------------------------------------------------------------------
# FAL102 path-segment-casing


CASING_FILES = {
    "app/main.py": """
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/order_items")  # F:x,camel


        @router.get("/{item_id}")
        def read_item(item_id: int):
            return {}


        @router.get("/{item_id}/history")
        def read_history(item_id: int):
            return {}


        app = FastAPI()
        app.include_router(router)


        @app.get("/userProfiles")  # F:x,snake
        def profiles():
            return []


        @app.get("/exports/report-2024.csv")  # F:snake,camel
        def export():
            return ""
    """,
}


def test_casing_prefix_reported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, CASING_FILES, "FAL102")
    assert lines(found) == marked(CASING_FILES)
    assert any("`order-items`" in f.help for f in found)


def test_casing_style_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, CASING_FILES, "FAL102", {"style": "snake"})
    assert lines(found) == marked(CASING_FILES, "snake")
    found = run(tmp_path, monkeypatch, CASING_FILES, "FAL102", {"style": "camel"})
    assert lines(found) == marked(CASING_FILES, "camel")


# ---------------------------------------------------------------------------
# FAL101 verb-in-path

VERB_FILES = {
    "app/main.py": """
        from fastapi import FastAPI

        app = FastAPI()


        @app.get("/items/new")
        def new_item_form():
            return {}


        @app.get("/todos/{todo_id}/List")
        def todo_list(todo_id: int):
            return {}


        @app.get("/settings/set")
        def settings():
            return {}


        @app.get("/items/new-item")  # F:x
        def new_item():
            return {}


        @app.get("/items/newItem")  # F:x
        def new_item_camel():
            return {}


        @app.post("/items/create")  # F:x
        def create_item():
            return {}


        @app.get("/list/get-user")  # F:x
        def get_user():
            return {}
    """,
}


def test_bare_verb_segment_is_a_resource_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each segment judged on its own (six of these seven paths end in a verb: as a whole, an RPC-style API)
    found = run(tmp_path, monkeypatch, VERB_FILES, "FAL101", {"house_style": False})
    assert lines(found) == marked(VERB_FILES)
    # a bare segment is skipped, and the verb phrase after it is the one reported
    assert any("`get` in segment `get-user`" in f.message for f in found)


HOUSE_VERB_FILES = {
    "app/__init__.py": "",
    "app/main.py": """
        from fastapi import APIRouter, FastAPI

        router = APIRouter()

        @router.post("/documents/revisions/retrieve")
        def retrieve_document(ref: str): ...

        @router.post("/templates/revisions/retrieve")
        def retrieve_template(ref: str): ...

        @router.post("/folders/revisions/retrieve")
        def retrieve_folder(ref: str): ...

        @router.post("/folders/get-size")
        def folder_size(ref: str): ...

        app = FastAPI()
        app.include_router(router)
    """,
}


def test_a_verb_segment_used_in_three_places_is_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = sorted(run(tmp_path, monkeypatch, HOUSE_VERB_FILES, "FAL101"), key=lambda f: f.line)
    assert [(f.line, f.severity.value) for f in found] == [(5, "info"), (14, "warning")]
    assert "segment `retrieve` in 3 places" in found[0].message
    assert [r.line for r in found[0].related] == [8, 11]
    every = run(tmp_path, monkeypatch, HOUSE_VERB_FILES, "FAL101", {"house_style": False})
    assert sorted((f.line, f.severity.value) for f in every) == [
        (5, "warning"), (8, "warning"), (11, "warning"), (14, "warning")]


SYNONYM_VERB_FILES = {
    "app/__init__.py": "",
    "app/main.py": """
        from fastapi import APIRouter, FastAPI

        router = APIRouter()

        @router.put("/notes/update/{note_id}")
        def update_note(note_id: int): ...

        @router.put("/tags/update/{tag_id}")
        def update_tag(tag_id: int): ...

        @router.put("/labels/update/{label_id}")
        def update_label(label_id: int): ...

        @router.put("/plans/edit/{plan_id}")
        def edit_plan(plan_id: int): ...

        @router.put("/drafts/save/{draft_id}")
        def save_draft(draft_id: int): ...

        @router.get("/notes/{note_id}")
        def note(note_id: int): ...

        @router.get("/tags/{tag_id}")
        def tag(tag_id: int): ...

        app = FastAPI()
        app.include_router(router)
    """,
}


def test_a_synonym_of_a_house_verb_follows_the_house_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `edit` beside three `update`: the same convention, listed on the house finding; `save` is no synonym
    found = sorted(run(tmp_path, monkeypatch, SYNONYM_VERB_FILES, "FAL101"), key=lambda f: f.line)
    assert [(f.line, f.severity.value) for f in found] == [(5, "info"), (17, "warning")]
    assert "segment `update` in 3 places and its synonym `edit` in 1" in found[0].message
    assert [r.line for r in found[0].related] == [8, 11, 14]
    assert found[0].entity == "house-style FAL101 verb update"
    every = run(tmp_path, monkeypatch, SYNONYM_VERB_FILES, "FAL101", {"house_style": False})
    assert {f.severity.value for f in every} == {"warning"} and len(every) == 5


RPC_FILES = {
    "app/__init__.py": "",
    "app/jobs.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/jobs")

        @router.post("/list")
        def list_jobs(): ...

        @router.post("/get")
        def get_job(name: str): ...

        @router.post("/create")
        def create_job(name: str): ...

        @router.post("/apply")
        def apply_job(name: str): ...

        @router.post("/delete_many")
        def delete_jobs(names: list[str]): ...

        @router.post("/set_owner")
        def set_owner(name: str): ...
    """,
    "app/models.py": """
        from fastapi import APIRouter

        router = APIRouter(prefix="/models")

        @router.get("/")
        def models(): ...

        @router.get("/{key}")
        def model(key: str): ...

        @router.patch("/{key}")
        def update_model(key: str): ...

        @router.delete("/{key}")
        def delete_model(key: str): ...

        @router.get("/{key}/image")
        def model_image(key: str): ...

        @router.get("/{key}/tags")
        def model_tags(key: str): ...

        @router.get("/stats")
        def model_stats(): ...

        @router.get("/get_by_hash")
        def by_hash(hash: str): ...
    """,
    "app/main.py": """
        from fastapi import FastAPI

        from app import jobs, models

        app = FastAPI()
        app.include_router(jobs.router)
        app.include_router(models.router)
    """,
}


def test_an_rpc_style_router_is_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, RPC_FILES, "FAL101")
    by_sev = sorted((f.path.rsplit("/", 1)[-1], f.line, f.severity.value) for f in found)
    # the RPC-style router: one info with the count; the verb in the resource-shaped router: a warning
    assert by_sev == [("jobs.py", 5, "info"), ("models.py", 26, "warning")]
    rpc = next(f for f in found if f.severity.value == "info")
    assert "is RPC-style: 6 of its 6 route paths" in rpc.message
    assert len(rpc.related) == 5 and rpc.entity == "house-style FAL101 rpc app.jobs.router"
    every = run(tmp_path, monkeypatch, RPC_FILES, "FAL101", {"house_style": False})
    assert {f.severity.value for f in every} == {"warning"} and len(every) == 4  # create, delete_many, set_owner, get_by_hash


def _control_plane(extra: list[str]) -> dict[str, str]:
    routes = ["/register_node", "/refresh_all_nodes", "/list_models", "/list_active_models", "/get_node_address",
              "/node_get_status", "/node_generate_stream", "/receive_ping", *extra]
    body = "\n\n".join(f'@app.post("{p}")\ndef h{i}(): ...' for i, p in enumerate(routes))
    return {"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n" + body}


def test_an_rpc_style_app_counts_noun_first_and_operation_word_actions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An internal control plane whose paths are all actions: `register_node` (an operation word),
    `node_get_status` and `node_generate_stream` (a verb after the noun, inside the segment) count as
    actions, so the app is RPC-style: one info, not a warning per verb segment."""
    found = run(tmp_path, monkeypatch, _control_plane(["/ping"]), "FAL101")
    assert [f.severity.value for f in found] == ["info"]
    assert "is RPC-style: 7 of its 9 route paths" in found[0].message
    # the twin: the same verb segments in an app whose paths mostly name resources still fire, one by one
    nouns = [f"/things{i}/{{thing_id}}" for i in range(8)]
    found = run(tmp_path, monkeypatch, _control_plane(nouns), "FAL101")
    # list_models, list_active_models, get_node_address
    assert {f.severity.value for f in found} == {"warning"} and len(found) == 3


def _verb_led_router(name: str, actions: list[str], resources: int = 2) -> str:
    body = [f'{name} = APIRouter(prefix="/{name}")']
    for i in range(resources):
        body.append(f'@{name}.get("/{{item_id}}/part{i}")\ndef {name}_part{i}(item_id: int): ...')
    for seg in actions:
        body.append(f'@{name}.post("/{seg}")\ndef {name}_{seg}(item_id: int): ...  # F:{seg}')
    return "\n\n".join(body)


def test_a_verb_led_api_is_said_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verb_noun segments (`set_pin`, `set_owner`, `add_tag`...) each written once: the leading verbs that repeat
    in an app with 8 or more verb-led segments are its convention (one info); a verb used once, and the only
    verb segment of a resource-shaped router, still fire."""
    routers = [("channels", ["set_pin", "add_source", "update_role", "remove_member"], 2),
               ("files", ["add_tag", "update_tag", "set_owner"], 2),
               ("members", ["add_member", "update_profile", "set_role"], 2),
               ("labels", ["add_color"], 4)]
    text = "from fastapi import APIRouter, FastAPI\n\napp = FastAPI()\n\n" + "\n\n".join(
        _verb_led_router(*r) for r in routers) + "\n\n" + "\n".join(f"app.include_router({r[0]})" for r in routers)
    files = {"app/__init__.py": "", "app/main.py": text}
    # the finding is at the decorator, the line above the marked one
    at = {seg: line - 1 for seg in ("set_pin", "remove_member", "add_color") for _, line in marked(files, seg)}
    found = sorted(run(tmp_path, monkeypatch, files, "FAL101"), key=lambda f: f.line)
    assert [(f.line, f.severity.value) for f in found] == [
        (at["set_pin"], "info"), (at["remove_member"], "warning"), (at["add_color"], "warning")]
    info = found[0]
    assert "verb-led segments" in info.message and "`add` 4, `set` 3, `update` 3" in info.message
    assert len(info.related) == 8 and info.entity == "house-style FAL101 verb-led app.main.app"
    every = run(tmp_path, monkeypatch, files, "FAL101", {"house_style": False})
    assert {f.severity.value for f in every} == {"warning"} and len(every) == 11


def test_an_rpc_style_router_without_a_reported_verb_is_quiet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # bare `list`/`get` and operation words are never reported: the RPC style has nothing to replace
    files = {"app/__init__.py": "", "app/main.py": """
        from fastapi import APIRouter, FastAPI

        router = APIRouter(prefix="/runs")

        @router.post("/list")
        def list_runs(): ...

        @router.post("/get")
        def get_run(name: str): ...

        @router.post("/start")
        def start_run(name: str): ...

        @router.post("/stop")
        def stop_run(name: str): ...

        @router.post("/cancel")
        def cancel_run(name: str): ...

        app = FastAPI()
        app.include_router(router)
    """}
    assert run(tmp_path, monkeypatch, files, "FAL101") == []


# ---------------------------------------------------------------------------
# FAL103 singular-collection-name


def test_singular_collection_conservative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/main.py": """
            from fastapi import FastAPI

            app = FastAPI()


            @app.get("/category")  # F:x
            def list_categories() -> list[dict]:
                return []


            @app.get("/inventory")
            def list_inventory() -> list[dict]:
                return []


            @app.get("/articles/feed")
            def feed() -> list[dict]:
                return []


            @app.get("/users/{user_id}/device")  # F:x,allowed
            def devices(user_id: int) -> list[dict]:
                return []


            @app.post("/login")
            def login():
                return {}


            @app.post("/order", status_code=201)  # F:x
            def create_order():
                return {}


            @app.get("/news")
            def news() -> list[dict]:
                return []


            @app.get("/me")
            def me() -> list[dict]:
                return []
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL103")
    assert lines(found) == marked(files)
    assert any("`categories`" in f.help for f in found) and any("`devices`" in f.help for f in found)
    found = run(tmp_path, monkeypatch, files, "FAL103", {"allow": ["category", "order"]})
    assert lines(found) == marked(files, "allowed")


# ---------------------------------------------------------------------------
# FAL104 mixed-versioned-routes


def test_versioning_exemptions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            v1 = APIRouter(prefix="/api/v1")


            @v1.get("/things")
            def things():
                return []


            app = FastAPI()
            app.include_router(v1)


            @app.get("/")
            def root():
                return {}


            @app.get("/api/health")
            def health():
                return {}


            @app.post("/auth/token")
            def token():
                return {}


            @app.get("/old-things", deprecated=True)
            def old_things():
                return []


            @app.get("/internal", include_in_schema=False)
            def internal():
                return []


            @app.get("/webhooks/stripe")  # F:x
            def webhook():
                return {}
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL104")
    assert lines(found) == marked(files)
    assert "`/v1`" in found[0].message
    # the option replaces the default list
    found = run(tmp_path, monkeypatch, files, "FAL104", {"unversioned-allow": ["/webhooks"]})
    assert [f.entity.split(" ")[1] for f in found] == ["/auth/token"]
    found = run(tmp_path, monkeypatch, files, "FAL104", {"unversioned-allow": ["/auth", "/webhooks"]})
    assert found == []


def test_versioning_silent_without_versions() -> None:
    for fx in ("bigger_app", "src_layout", "annotated_app", "factory_app"):
        result = review([str(FIXTURES / fx)], Config(root=FIXTURES / fx), select=["FAL104"])
        assert [f for f in result.findings if f.rule == "FAL104"] == [], fx


# ---------------------------------------------------------------------------
# FAL105 duplicate-route


def test_duplicate_route_methods_and_websockets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/main.py": """
            from fastapi import FastAPI, WebSocket

            app = FastAPI()


            @app.api_route("/items", methods=["GET", "POST"])
            def items():
                return []


            @app.post("/items")  # F:x
            def create_item():
                return {}


            @app.put("/items")
            def replace_items():
                return {}


            @app.get("/items/")
            def items_slash():
                return []


            @app.websocket("/ws")
            async def ws(websocket: WebSocket):
                await websocket.accept()


            @app.websocket("/ws")  # F:x
            async def ws_again(websocket: WebSocket):
                await websocket.accept()
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL105")
    assert lines(found) == marked(files)
    assert found[0].related[0].line == 6


def test_router_included_twice_reported_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/r.py": """
            from fastapi import APIRouter

            router = APIRouter()


            @router.get("/a")
            def a():
                return {}


            @router.get("/b")
            def b():
                return {}
        """,
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            from app import r

            api = APIRouter(prefix="/api")
            api.include_router(r.router)
            app = FastAPI()
            app.include_router(api)
            app.include_router(r.router, prefix="/api")  # F:x
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL105")
    assert lines(found) == marked(files)
    assert found[0].related[0].line == 8


# ---------------------------------------------------------------------------
# FAL106 shadowed-route


def test_shadowing_through_includes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/users.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/users")


            @router.get("/{user_id}")
            def read_user(user_id: int):
                return {}


            @router.post("/search")
            def search_users():
                return []
        """,
        "app/me.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/users")


            @router.get("/me")  # F:x
            def read_me():
                return {}
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app import me, users

            app = FastAPI()
            app.include_router(users.router)
            app.include_router(me.router)
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL106")
    # the include order in main.py decides; POST /users/search is a different method
    assert lines(found) == marked(files)
    assert "{user_id:int}" in found[0].help
    assert found[0].related[0].path == "app/users.py"


def test_shadowing_order_across_files_is_not_guessed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/shared.py": """
            from fastapi import APIRouter

            router = APIRouter(prefix="/users")
        """,
        "app/a.py": """
            from app.shared import router


            @router.get("/{user_id}")
            def read_user(user_id: int):
                return {}
        """,
        "app/b.py": """
            from app.shared import router


            @router.get("/me")
            def read_me():
                return {}
        """,
        "app/main.py": """
            from fastapi import FastAPI

            from app import a, b
            from app.shared import router

            app = FastAPI()
            app.include_router(router)
        """,
    }
    assert run(tmp_path, monkeypatch, files, "FAL106") == []


def test_shadowing_order_across_function_bodies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # where the order is decided in two function bodies, it depends on when each runs: known when a helper
    # receives what it includes and is called (placed at the call) or builds its own app; not otherwise
    files = {
        "app/routers.py": """
            from fastapi import APIRouter

            items = APIRouter(prefix="/items")
            export = APIRouter(prefix="/items")
            teams = APIRouter(prefix="/teams")
            mine = APIRouter(prefix="/teams")
            users = APIRouter(prefix="/users")
            me = APIRouter(prefix="/users")


            @items.get("/{item_id}")
            def read_item(item_id: str):
                return {}


            @export.get("/export")
            def export_items():
                return []


            @teams.get("/{team_id}")
            def read_team(team_id: str):
                return {}


            @mine.get("/mine")  # F:x
            def my_teams():
                return []


            @users.get("/{user_id}")
            def read_user(user_id: str):
                return {}


            @me.get("/me")  # F:x
            def read_me():
                return {}
        """,
        "app/main.py": """
            from fastapi import APIRouter, FastAPI

            from app.routers import export, items, me, mine, teams, users

            app = FastAPI()


            def include(router: APIRouter) -> None:
                app.include_router(router)


            def include_items() -> None:
                app.include_router(items)


            app.include_router(export)
            include_items()  # when a helper that takes nothing runs is not followed: quiet
            include(teams)
            app.include_router(mine)  # after the call that includes `teams`: shadowed


            def create_app(extra: APIRouter) -> FastAPI:
                application = FastAPI()
                application.include_router(users)
                application.include_router(extra)  # in the app's own body, after `users`: shadowed
                return application


            other = create_app(me)
        """,
    }
    assert lines(run(tmp_path, monkeypatch, files, "FAL106")) == marked(files)


# ---------------------------------------------------------------------------
# FAL107 unbound-path-parameter


def test_unbound_path_parameter_bindings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/main.py": """
            from dataclasses import dataclass
            from typing import Annotated

            from fastapi import APIRouter, Depends, FastAPI, Request
            from fastapi.security import OAuth2PasswordRequestForm
            from pydantic import BaseModel


            class OrgPath(BaseModel):
                org_id: int


            @dataclass
            class TeamPath:
                team_id: int


            def org_guard(org_id: int) -> int:
                return org_id


            router = APIRouter(prefix="/orgs/{org_id}", dependencies=[Depends(org_guard)])
            bare = APIRouter(prefix="/orgs/{org_id}")


            @router.get("/teams/{team_id}")
            def read_team(team: Annotated[TeamPath, Depends()]):
                return {}


            @bare.get("/model")
            def by_model(org: Annotated[OrgPath, Depends()]):
                return {}


            @bare.get("/request")
            def by_request(request: Request):
                return request.path_params["org_id"]


            @bare.post("/external")
            def external(form: Annotated[OAuth2PasswordRequestForm, Depends()]):
                return {}


            @bare.get("/missing/{thing_id}")  # F:x
            def missing(thing_id: int):
                return {}


            app = FastAPI()
            app.include_router(router)
            app.include_router(bare)
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL107")
    assert lines(found) == marked(files)
    assert "`org_id`" in found[0].message and "prefix of router `bare`" in found[0].message


# ---------------------------------------------------------------------------
# FAL108 list-without-pagination


PAGINATION_FILES = {
    "app/main.py": """
        import enum
        from typing import Annotated, Sequence

        from fastapi import Depends, FastAPI
        from fastapi_pagination import Params


        class Color(str, enum.Enum):
            red = "red"
            blue = "blue"


        COUNTRIES = ["fr", "de"]


        def get_db():
            yield None


        app = FastAPI()


        @app.get("/colors")
        def colors() -> list[Color]:
            return list(Color)


        @app.get("/countries")
        def countries() -> list[str]:
            return sorted(COUNTRIES)


        @app.get("/widgets")  # F:x
        def widgets(db: Annotated[object, Depends(get_db)]) -> Sequence[dict]:
            return db.query("widgets").all()


        @app.get("/gadgets")
        def gadgets(db: Annotated[object, Depends(get_db)], params: Annotated[Params, Depends()]) -> list[dict]:
            return db.query("gadgets").all()


        @app.get("/gizmos")
        def gizmos(db: Annotated[object, Depends(get_db)], cursor: str | None = None) -> list[dict]:
            return db.query("gizmos").all()
    """,
}


def test_list_without_pagination_skips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, PAGINATION_FILES, "FAL108")
    assert lines(found) == marked(PAGINATION_FILES)


def test_a_sub_collection_without_pagination_is_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The children of one parent (``/cases/{case_id}/notes``) are as many as the parent has: info. A top-level
    collection, and one under a tenant parameter that opens every path (``/{org}/cases``), stay warnings."""
    files = {"app/main.py": """
        from typing import Annotated

        from fastapi import Depends, FastAPI


        def get_db():
            yield None


        app = FastAPI()


        @app.get("/cases/{case_id}/notes")
        def case_notes(case_id: int, db: Annotated[object, Depends(get_db)]) -> list[dict]:
            return db.query("notes").filter_by(case_id=case_id).all()


        @app.get("/{org}/cases")
        def cases(org: str, db: Annotated[object, Depends(get_db)]) -> list[dict]:
            return db.query("cases").filter_by(org=org).all()


        @app.get("/cases")
        def all_cases(db: Annotated[object, Depends(get_db)]) -> list[dict]:
            return db.query("cases").all()
    """}
    found = {f.line: f for f in run(tmp_path, monkeypatch, files, "FAL108")}
    # all info (the rule's severity: a collection's size is not in the code); a sub-collection says so
    assert {line: f.severity.value for line, f in found.items()} == {13: "info", 18: "info", 23: "info"}
    assert "of one `case_id` (a sub-collection" in found[13].message


def test_exports_and_lookups_by_keys_are_whole_by_design(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"app/main.py": """
        from typing import Annotated, List

        from fastapi import Depends, FastAPI, Query


        def get_db():
            yield None


        app = FastAPI()


        @app.get("/cases/lookup")
        def lookup(db: Annotated[object, Depends(get_db)], keys: List[str] = Query(..., alias="keys[]")) -> list[dict]:
            return db.query("cases").filter_by(keys=keys).all()


        @app.get("/cases/downloads/latest")
        def latest(db: Annotated[object, Depends(get_db)]) -> list[dict]:
            return db.query("cases").all()


        @app.get("/cases/tagged")
        def tagged(db: Annotated[object, Depends(get_db)], tags: list[str] = Query([])) -> list[dict]:
            return db.query("cases").filter_by(tags=tags).all()
    """}
    assert [f.line for f in run(tmp_path, monkeypatch, files, "FAL108")] == [23]  # optional keys: the whole table


def test_list_without_pagination_fixtures() -> None:
    expected = {
        "bigger_app": set(),
        "annotated_app": set(),
        "good_app": set(),
        "src_layout": {("src/shopapi/api/catalog.py", 15), ("src/shopapi/api/catalog.py", 57)},
        "factory_app": {("app/api/v1/endpoints/audit.py", 14), ("app/api/v1/endpoints/orders.py", 17),
                        ("app/api/v2.py", 23)},
    }
    for fx, want in expected.items():
        root = FIXTURES / fx
        if not root.exists():
            continue
        result = review([str(root)], Config(root=root), select=["FAL108"])
        got = {(Path(f.path).resolve().relative_to(root).as_posix(), f.line) for f in result.findings if f.rule == "FAL108"}
        assert got == want, fx


# ---------------------------------------------------------------------------
# FAL109 unbounded-page-size


def test_unbounded_page_size_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/main.py": """
            from typing import Annotated

            from fastapi import Depends, FastAPI, Query
            from pydantic import BaseModel, Field, conint


            class Filters(BaseModel):
                page_size: int = Field(20, ge=1)  # F:x
                q: str | None = None


            class Bounded(BaseModel):
                per_page: int = Field(20, le=100)


            def paging(limit: int = 20, offset: int = 0):  # F:x
                return limit, offset


            app = FastAPI()


            @app.get("/a")
            def a(filters: Annotated[Filters, Query()]):
                return []


            @app.get("/b")
            def b(p: Annotated[tuple, Depends(paging)]):
                return []


            @app.get("/c")
            def c(p: Annotated[tuple, Depends(paging)]):
                return []


            @app.get("/d")
            def d(filters: Annotated[Bounded, Query()], size: conint(ge=1, le=50) = 10):
                return []


            @app.get("/e")
            def e(pageSize: Annotated[int, Query(lt=101)] = 10, size: str = "large"):
                return []


            @app.get("/f")
            def f(take: int = 10):
                if take > 100:
                    raise ValueError("too many")
                return []
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL109")
    assert lines(found) == marked(files)
    shared = next(f for f in found if "paging" in f.message)
    assert "1 more route" in shared.message and len(shared.related) == 2


# ---------------------------------------------------------------------------
# house style (rules/_house.py) and server-rendered HTML routes (rules/_html.py)


def test_house_style_detection_threshold_and_minimum() -> None:
    from fastapi_arch_lint.rules._house import detect

    assert detect(["snake"] * 4) is None  # fewer than 5 instances
    house = detect(["snake"] * 8 + ["kebab"] * 2)
    assert house is not None and (house.style, house.share) == ("snake", "8 of 10")
    assert detect(["snake"] * 7 + ["kebab"] * 3) is None  # 70%: no house style


SNAKE_API = {
    "app/main.py": """
        from fastapi import APIRouter, FastAPI

        app = FastAPI()
        org = APIRouter(prefix="/{org}")
        a = APIRouter()
        b = APIRouter()


        @a.get("")
        def list_a() -> list[int]:
            return []


        @a.get("/{x}")
        def read_a(x: int) -> dict:
            return {}


        @b.get("")
        def list_b() -> list[int]:
            return []


        @b.get("/{x}/line_items")  # F:h
        def read_b(x: int) -> dict:
            return {}


        @app.get("/billing-plans")  # F:x
        def plans() -> list[int]:
            return []


        org.include_router(a, prefix="/order_items")
        org.include_router(b, prefix="/return_items")
        app.include_router(org)
    """,
}


def test_fal102_house_style_said_once_with_outliers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = run(tmp_path, monkeypatch, SNAKE_API, "FAL102")
    info = [f for f in found if f.severity.value == "info"]
    warn = [f for f in found if f.severity.value == "warning"]
    assert lines(info) == marked(SNAKE_API, "h") and "5 of 6" in info[0].message
    assert info[0].entity == "house-style FAL102 snake" and len(info[0].related) >= 2
    assert lines(warn) == marked(SNAKE_API) and "`billing-plans`" in warn[0].message
    # the prefix of a router included into another router is found: one finding at the include
    off = run(tmp_path, monkeypatch, SNAKE_API, "FAL102", {"house_style": False})
    by_seg = {re.search(r"segment `([^`]+)`", f.message).group(1): f for f in off}
    assert set(by_seg) == {"order_items", "return_items", "line_items"}
    assert "2 routes are beneath it" in by_seg["order_items"].message


HTML_FILES = {
    "app/main.py": """
        from fastapi import APIRouter, FastAPI, Header
        from fastapi.responses import HTMLResponse

        app = FastAPI()
        pages = APIRouter()
        partials = APIRouter()
        api = APIRouter()


        @pages.api_route("/notes/{note_id}/edit-note", methods=["GET", "POST"])
        def edit_note(note_id: int) -> str:
            return "<form></form>"


        @partials.api_route("/notes/{note_id}/delete-note", methods=["GET", "POST"])
        def delete_note(note_id: int, hx_request: str | None = Header(default=None)) -> str:
            return "<p>deleted</p>"


        @api.api_route("/notes/{note_id}/edit-note", methods=["GET", "POST"])  # F:x
        def edit_note_api(note_id: int) -> dict:
            return {}


        app.include_router(pages, prefix="/pages", default_response_class=HTMLResponse)
        app.include_router(partials, prefix="/partials")
        app.include_router(api, prefix="/api")
    """,
}


@pytest.mark.parametrize("code", ["FAL101", "FAL205"])
def test_html_routes_are_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    # an include's default_response_class and an HTMX header parameter mark HTML routes
    found = run(tmp_path, monkeypatch, HTML_FILES, code)
    assert lines(found) == marked(HTML_FILES), [f.message for f in found]


def test_fal109_admin_only_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi_arch_lint.findings import Severity

    files = {
        "app/deps.py": """
            from fastapi import Depends, HTTPException, Request


            class Operator:
                role: str


            def current_operator(request: Request) -> Operator:
                if request.headers.get("Authorization") is None:
                    raise HTTPException(status_code=401)
                return Operator()


            def superuser(operator: Operator = Depends(current_operator)) -> Operator:
                if operator.role != "superuser":
                    raise HTTPException(status_code=403)
                return operator
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI

            from app.deps import Operator, current_operator, superuser

            app = FastAPI()


            @app.get("/audit", dependencies=[Depends(superuser)])
            def audit(limit: int = 50) -> list:
                return []


            @app.get("/orders")
            def orders(limit: int = 50, operator: Operator = Depends(current_operator)) -> list:
                return []


            def paging(limit: int = 50) -> int:
                return limit


            @app.get("/admin/orders", dependencies=[Depends(superuser)])
            def admin_orders(size: int = Depends(paging)) -> list:
                return []


            @app.get("/shared")
            def shared(size: int = Depends(paging)) -> list:
                return []
        """,
    }
    found = {f.line: f for f in run(tmp_path, monkeypatch, files, "FAL109")}
    assert found[9].severity is Severity.INFO and "only administrators" in found[9].message
    assert found[14].severity is Severity.WARNING
    # one parameter shared by an admin route and an open one: the open one decides
    assert found[18].severity is Severity.WARNING and "administrators" not in found[18].message


def test_fal109_role_gate_instance_of_staff_roles_is_info(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A callable-class dependency built with the roles it lets through (``Permissions(roles=[...])``),
    whose ``__call__`` rejects a caller without one: staff roles only (an administrators' role and
    back-office ones) make the routes privileged, so the missing cap is info; a gate that also lets an
    ordinary role through does not."""
    from fastapi_arch_lint.findings import Severity

    files = {
        "app/__init__.py": "",
        "app/perm.py": """
            from fastapi import Depends, HTTPException, Request
            from fastapi.security import OAuth2PasswordBearer

            oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/token")
            USERS: dict = {}


            class Permissions:
                def __init__(self, roles):
                    self.roles = roles

                async def __call__(self, request: Request, token: str = Depends(oauth2_scheme)):
                    user = USERS.get(token)
                    if not user:
                        raise HTTPException(status_code=401)
                    if not user.has_roles(self.roles):
                        raise HTTPException(status_code=401)
                    return user
        """,
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI

            from app.perm import Permissions

            staff = APIRouter(dependencies=[Depends(Permissions(roles=["admin", "developer"]))])
            people = APIRouter(dependencies=[Depends(Permissions(roles=["admin", "marketer"]))])


            @staff.get("/tasks")
            async def tasks(limit: int = 100) -> list:
                return list(range(limit))


            @people.get("/profiles")
            async def profiles(limit: int = 100) -> list:
                return list(range(limit))


            app = FastAPI()
            app.include_router(staff)
            app.include_router(people)
        """,
    }
    found = {f.line: f for f in run(tmp_path, monkeypatch, files, "FAL109")}
    assert found[10].severity is Severity.INFO and "has_roles(self.roles) (admin, developer)" in found[10].message
    assert found[15].severity is Severity.WARNING


def test_unbounded_page_size_that_defaults_to_all_rows_is_info(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An optional size that defaults to None and is used only when given (nothing runs otherwise):
    omitting it already returns every row, so the missing cap is info. One replaced by a page size of
    its own when omitted, or handed to a helper that decides what None means, stays a warning."""
    from fastapi_arch_lint.findings import Severity

    files = {
        "app/__init__.py": "",
        "app/store.py": """
            ROWS = [{"id": n} for n in range(1000)]


            def fetch(limit: int | None) -> list:
                return ROWS[: limit or 50]
        """,
        "app/main.py": """
            from typing import Annotated

            from fastapi import FastAPI, Query

            from app.store import ROWS, fetch

            app = FastAPI()


            @app.get("/all")
            def every(limit: Annotated[int | None, Query(ge=1)] = None) -> list:
                rows = list(ROWS)
                if limit is not None:
                    rows = rows[:limit]
                return rows


            @app.get("/paged")
            def paged(limit: int | None = Query(None, ge=1)) -> list:
                return ROWS[: limit or 20]


            @app.get("/handed")
            def handed(limit: int | None = None) -> list:
                return fetch(limit)
        """,
    }
    found = {f.line: f for f in run(tmp_path, monkeypatch, files, "FAL109")}
    assert found[11].severity is Severity.INFO and "returns every row" in found[11].message
    assert found[19].severity is Severity.WARNING
    assert found[24].severity is Severity.WARNING


def test_casing_a_part_of_the_api_with_its_own_style_is_not_an_outlier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A camelCase public API (the project's house style) beside an internal `/ui` API written in
    snake_case: the `/ui` segments follow their own part's style and are not reported; a snake_case
    segment in the public API still is."""
    public = "\n".join(f'@router.get("/api/v2/dagRuns{i}/taskInstances")\ndef public_{i}(): ...\n' for i in range(12))
    ui = "\n".join(f'@router.get("/ui/grid/ti_summaries_{i}")\ndef ui_{i}(): ...\n' for i in range(5))
    files = {
        "app/__init__.py": "",
        "app/main.py": "from fastapi import APIRouter, FastAPI\n\nrouter = APIRouter()\n\n" + public + "\n" + ui
        + '\n@router.get("/api/v2/dry_run")\ndef outlier(): ...\n\napp = FastAPI()\napp.include_router(router)\n',
    }
    found = run(tmp_path, monkeypatch, files, "FAL102")
    warned = sorted(f.message.split("`")[3] for f in found if f.severity.value == "warning")
    assert warned == ["dry_run"]
    assert any(f.severity.value == "info" and "camel-case" in f.message for f in found)


def test_unbound_cosmetic_segment_is_a_warning_an_unread_id_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/files/{file_id}/content/{file_name}")
            def file_content(file_id: int) -> dict:
                return {"id": file_id}

            @app.get("/orgs/{org_id}/reports/{report_id}")
            def org_report(report_id: int) -> dict:
                return {"id": report_id}
        """,
    }
    found = sorted(run(tmp_path, monkeypatch, files, "FAL107"), key=lambda f: f.line)
    assert [(f.message.split("`")[1], f.severity.value) for f in found] == [
        ("file_name", "warning"), ("org_id", "error")]


def test_casing_a_second_app_with_its_own_style_is_not_an_outlier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sandbox's own small server (snake_case throughout) beside the main API (kebab-case): its segments
    follow their app's style; a snake_case segment in the main API still fires. No project-wide house
    style is needed for that."""
    main = "\n".join(f'@api.get("/projects/{{pid}}/build-step-{i}")\ndef step_{i}(pid: int): ...\n' for i in range(3))
    sandbox = "\n".join(f'@sandbox.post("/run_action_{i}")\ndef run_{i}(): ...\n' for i in range(5))
    files = {
        "app/__init__.py": "",
        "app/main.py": "from fastapi import FastAPI\n\napi = FastAPI()\n\n" + main
        + '\n@api.get("/projects/{pid}/build_log")\ndef build_log(pid: int): ...\n',
        "app/sandbox.py": "from fastapi import FastAPI\n\nsandbox = FastAPI()\n\n" + sandbox,
    }
    found = run(tmp_path, monkeypatch, files, "FAL102")
    assert sorted(f.message.split("`")[3] for f in found) == ["build_log"]


def test_versioning_probe_names_are_infrastructure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/api/v1/conversations")
            def conversations(): ...

            @app.get("/api/v1/settings")
            def settings(): ...

            @app.get("/alive")
            def alive(): ...

            @app.get("/server_info")
            def server_info(): ...

            @app.get("/api/options")
            def options(): ...
        """,
    }
    found = run(tmp_path, monkeypatch, files, "FAL104")
    assert [f.message.split("`")[1] for f in found] == ["GET /api/options"]


def test_casing_an_api_that_mixes_styles_has_no_outliers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Half the API in kebab-case, half in snake_case, no house style: each snake_case segment is still
    reported, as info with the count; the same API with only one snake_case segment has an outlier (a warning)."""
    kebab = "\n".join(f'@app.get("/order-items-{i}")\ndef k_{i}(): ...\n' for i in range(4))
    snake = "\n".join(f'@app.get("/line_items_{i}")\ndef s_{i}(): ...\n' for i in range(3))
    head = "from fastapi import FastAPI\n\napp = FastAPI()\n\n"
    found = run(tmp_path, monkeypatch, {"app/__init__.py": "", "app/main.py": head + kebab + snake}, "FAL102")
    assert len(found) == 3 and {f.severity.value for f in found} == {"info"}
    assert "mixes case styles (3 of 7 multi-word segments in its URLs are not kebab-case)" in found[0].message
    one = run(tmp_path / "one", monkeypatch,
              {"app/__init__.py": "", "app/main.py": head + kebab + '@app.get("/line_items")\ndef s(): ...\n'}, "FAL102")
    assert [(f.severity.value, "mixes" in f.message) for f in one] == [("warning", False)]
