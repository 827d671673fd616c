"""Issue 16: auth a library builds (fastapi-users), and synthesised signatures in project code.

fastapi-users is not installed in the test environment, so the truth of ``tests/fixtures/users_library_app``
is stated here, route by route, from the library's source: ``current_user()`` builds a dependency whose
signature takes each backend's transport scheme (``OAuth2PasswordBearer`` for a bearer transport,
``APIKeyCookie`` for a cookie transport, both ``auto_error=False``) and that answers 401/403 itself
unless ``optional=True``, which returns None instead.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import analyze, review
from fastapi_arch_lint.model.app import AppModel

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BOTH = (("scheme", "APIKeyCookie", False), ("scheme", "OAuth2PasswordBearer", False))
BOTH_OPTIONAL = (("scheme", "APIKeyCookie", True), ("scheme", "OAuth2PasswordBearer", True))

USERS_LIBRARY = {
    ("POST", "/admin/reindex"): BOTH,  # include_router(dependencies=[Depends(current_superuser)])
    ("GET", "/health"): (),
    ("GET", "/shelves"): BOTH_OPTIONAL,  # current_user(optional=True)
    ("POST", "/shelves"): BOTH,  # current_user(active=True) as a parameter
    ("DELETE", "/shelves/{shelf_id}"): BOTH,  # dependencies=[Depends(current_superuser)]
    ("POST", "/shelves/{shelf_id}/share"): BOTH_OPTIONAL,
    ("PUT", "/shelves/{shelf_id}/title"): BOTH,  # Depends(users.current_user(active=True)) inline
}


def _model(root: Path, monkeypatch: pytest.MonkeyPatch) -> AppModel:
    monkeypatch.chdir(root)
    return analyze(["."], base=root, jobs=1).model


def _table(model: AppModel) -> dict[tuple[str, str], tuple[tuple[str, str, bool], ...]]:
    return {(m, r.path): tuple(sorted({(v.kind, v.scheme, v.optional) for v in r.auth.via}))
            for r in model.routes for m in r.methods}


def test_fastapi_users_current_user_takes_the_backends_transport_schemes(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(FIXTURES / "users_library_app", monkeypatch)
    assert _table(model) == USERS_LIBRARY
    by = {(r.methods, r.path): r for r in model.routes}
    vias = by[(("POST",), "/shelves")].auth.via
    assert {(v.name, v.chain, v.path, v.line) for v in vias} == {
        ("current_active_user", ("current_active_user", "OAuth2PasswordBearer"), "app/users.py", 24),
        ("current_active_user", ("current_active_user", "APIKeyCookie"), "app/users.py", 25)}
    assert all("answers 401/403" in v.evidence for v in vias)
    assert all("returns None" in v.evidence for v in by[(("GET",), "/shelves")].auth.via)
    # the library's own routers are not enumerated: said, not guessed
    assert any("get_auth_router" in u.what for u in model.unresolved)


def test_fal401_on_fastapi_users_flags_only_the_optional_state_change(monkeypatch: pytest.MonkeyPatch) -> None:
    root = FIXTURES / "users_library_app"
    monkeypatch.chdir(root)
    findings = [f for f in review(["."], Config(root=root), select=["FAL4"]).findings]
    assert [(f.rule, f.path, f.line, f.severity.value) for f in findings] == [
        ("FAL401", "app/api/shelves.py", 19, "warning")]
    assert "only optional authentication reaches it (`optional_reader`" in findings[0].message


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> AppModel:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    return _model(tmp_path, monkeypatch)


def test_unresolved_backends_still_count_as_a_library_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _project(tmp_path, monkeypatch, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from fastapi_users import FastAPIUsers
            from app.backends import load_backends

            users = FastAPIUsers(lambda: None, load_backends())
            app = FastAPI()


            @app.post("/notes")
            def create(user=Depends(users.current_user())) -> None: ...
        """,
        "app/backends.py": "def load_backends():\n    return BACKENDS\n",
    })
    [via] = model.routes[0].auth.via
    assert (via.kind, via.scheme, via.optional) == ("dependency", "library check", False)
    assert any("authentication backends" in u.what for u in model.unresolved)


def test_a_synthesised_signature_added_under_a_condition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parameter added under ``if strict:`` counts when the factory's argument decides the condition
    (``make_guard(True)``), is left out when it certainly does not hold, and stays unresolved when
    runtime data decides it."""
    model = _project(tmp_path, monkeypatch, {
        "app/__init__.py": "",
        "app/main.py": """
            import os
            from inspect import Parameter, Signature

            from fastapi import Depends, FastAPI, HTTPException
            from fastapi.security import APIKeyHeader
            from makefun import with_signature

            key_header = APIKeyHeader(name="X-Key", auto_error=False)


            def make_guard(strict: bool):
                parameters = []
                if strict:
                    parameters += [Parameter("key", Parameter.KEYWORD_ONLY, default=Depends(key_header))]

                @with_signature(Signature(parameters))
                async def guard(**kwargs):
                    if not kwargs.get("key"):
                        raise HTTPException(status_code=401)

                return guard


            app = FastAPI()


            @app.post("/jobs", dependencies=[Depends(make_guard(True))])
            def create() -> None: ...


            @app.post("/drafts", dependencies=[Depends(make_guard(False))])
            def draft() -> None: ...


            @app.post("/imports", dependencies=[Depends(make_guard(os.environ.get("STRICT") == "1"))])
            def run_import() -> None: ...
        """,
    })
    by_path = {r.path: r for r in model.routes}
    assert [(v.kind, v.name) for v in by_path["/jobs"].auth.via] == [("scheme", "key_header")]
    assert by_path["/drafts"].auth.via == ()
    assert by_path["/imports"].auth.via == ()  # not guessed either way
    assert any("added under a condition" in u.reason for u in model.unresolved)


GATE = """
    from fastapi import Depends, FastAPI, HTTPException, Request


    class NotAuthenticated(HTTPException):
        def __init__(self, detail: str = "Not authenticated") -> None:
            super().__init__(status_code=401, detail=detail)


    def get_principal(request: Request):
        return request.state.principal  # set by a middleware; anonymous callers get an anonymous principal


    class _Gate:
        def __init__(self, *, allow_anonymous: bool) -> None:
            self.allow_anonymous = allow_anonymous

        async def __call__(self, principal=Depends(get_principal)):
            if principal.is_anonymous:
                {body}
            return principal


    class Gate(_Gate):
        async def __call__(self, principal=Depends(get_principal)):
            return await super().__call__(principal)


    members_only = Gate(allow_anonymous=False)
    app = FastAPI()


    @app.post("/posts")
    async def create_post(principal=Depends(members_only)) -> None: ...
"""


def test_a_gate_that_rejects_the_principal_below_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _project(tmp_path, monkeypatch, {
        "app/__init__.py": "", "app/main.py": GATE.replace("{body}", "raise NotAuthenticated()")})
    [via] = model.routes[0].auth.via
    assert (via.kind, via.name, via.optional) == ("dependency", "members_only", False)
    assert via.evidence.startswith("raises NotAuthenticated(401) when what the dependencies below it provide is absent")


def test_a_gate_that_rejects_only_under_a_further_condition_is_unresolved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "if not self.allow_anonymous:\n                    raise NotAuthenticated()"
    model = _project(tmp_path, monkeypatch, {"app/__init__.py": "", "app/main.py": GATE.replace("{body}", body)})
    assert model.routes[0].auth.via == ()
    assert any("only under a further condition" in u.reason for u in model.unresolved)


def test_a_project_subclass_of_fastapi_users_is_the_library_class(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``class Users(FastAPIUsers[User, ID])`` that only adds a router factory builds the same
    ``current_user()`` dependency; one that overrides ``current_user`` is its own code, not the library's."""
    model = _project(tmp_path, monkeypatch, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import APIRouter, Depends, FastAPI
            from fastapi_users import FastAPIUsers
            from fastapi_users.authentication import AuthenticationBackend, BearerTransport

            backend = AuthenticationBackend(name="jwt", transport=BearerTransport(tokenUrl="auth/login"),
                                            get_strategy=lambda: None)


            class UsersWithExtras(FastAPIUsers[dict, int]):
                def get_extra_router(self) -> APIRouter:
                    return APIRouter()


            class UsersOwnCheck(FastAPIUsers[dict, int]):
                def current_user(self, **kwargs):
                    return lambda: None


            users = UsersWithExtras(lambda: None, [backend])
            own = UsersOwnCheck(lambda: None, [backend])
            current_active = users.current_user(active=True)
            maybe_user = users.current_user(optional=True)
            app = FastAPI()


            @app.post("/notes")
            def create(user=Depends(current_active)) -> None: ...


            @app.get("/notes")
            def browse(user=Depends(maybe_user)) -> None: ...


            @app.get("/drafts")
            def drafts(user=Depends(own.current_user())) -> None: ...
        """,
    })
    table = _table(model)
    assert table[("POST", "/notes")] == (("scheme", "OAuth2PasswordBearer", False),)
    assert table[("GET", "/notes")] == (("scheme", "OAuth2PasswordBearer", True),)
    assert ("scheme", "OAuth2PasswordBearer", False) not in table[("GET", "/drafts")]


FALL_THROUGH = """
    import os

    from fastapi import Depends, FastAPI, HTTPException, Request


    class NotAuthenticated(HTTPException):
        def __init__(self, detail: str = "Not authenticated") -> None:
            super().__init__(status_code=401, detail=detail)


    def maybe_user(request: Request):
        return request.state.user  # None for anonymous callers (set by a middleware)


    def guest():
        return {"id": 0}


    def guests_allowed() -> bool:  # decided at runtime (one of its returns is a constant)
        value = os.environ.get("GUESTS")
        if value is None:
            return False
        return value == "1"


    def ensure_user(user, allow_guest: bool = False, strict: bool = True):
        if user is not None:
            if strict and not user.verified:
                raise NotAuthenticated("not verified")
            return user
        if allow_guest:
            return guest()
        raise NotAuthenticated()


    async def current_user(user=Depends(maybe_user)):
        return ensure_user(user)


    async def user_or_guest(user=Depends(maybe_user)):
        return ensure_user(user, allow_guest=guests_allowed())


    async def lenient_user(user=Depends(maybe_user)):
        if user:
            return user
        return guest()


    app = FastAPI()


    @app.post("/posts")
    async def create_post(user=Depends(current_user)) -> None: ...


    @app.post("/comments")
    async def create_comment(user=Depends(user_or_guest)) -> None: ...


    @app.post("/likes")
    async def like(user=Depends(lenient_user)) -> None: ...
"""


def test_a_rejection_after_the_present_caller_has_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``if user is not None: ...; return user`` then ``raise`` at the top of the body rejects a missing
    caller, also two calls down; an ``if allow_guest: return guest()`` before it counts only when the call's
    arguments decide it (the default ``False``); a function that never raises is no gate."""
    model = _project(tmp_path, monkeypatch, {"app/__init__.py": "", "app/main.py": FALL_THROUGH})
    by_path = {r.path: r for r in model.routes}
    [via] = by_path["/posts"].auth.via
    assert (via.kind, via.name, via.optional) == ("dependency", "current_user", False)
    assert via.evidence.startswith("raises NotAuthenticated(401) when what the dependencies below it provide")
    assert by_path["/comments"].auth.via == ()
    assert any("user_or_guest" in u.what and "only under a further condition" in u.reason for u in model.unresolved)
    assert by_path["/likes"].auth.via == ()


DISPATCH = """
    import os

    from typing import Annotated

    from fastapi import Depends, FastAPI, HTTPException, Request


    def bearer(request: Request) -> str | None:
        header = request.headers.get("Authorization")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        return token if scheme.lower() == "bearer" else None


    async def _machine(*, request: Request) -> dict:
        token = bearer(request)
        if not token:
            raise HTTPException(status_code=401, detail="Unauthorized")
        return {"kind": "machine"}


    async def _resolve(*, request: Request, user: dict | None = None, allow_user: bool,
                       allow_machine: bool = False) -> dict:
        if user and allow_user:
            return user
        elif allow_machine:
            return await _machine(request=request)
        return {"kind": "anonymous"}


    def Access(*, allow_user: bool = True, allow_machine: bool = False):
        async def machine_only(request: Request) -> dict:
            return await _resolve(request=request, user=None, allow_user=allow_user, allow_machine=allow_machine)
        return Depends(machine_only)


    MachineRole = Annotated[dict, Access(allow_user=False, allow_machine=True)]
    NobodyRole = Annotated[dict, Access(allow_user=False, allow_machine=False)]
    RuntimeRole = Annotated[dict, Access(allow_user=False, allow_machine=os.environ.get("M") == "1")]
    app = FastAPI()


    @app.delete("/internal/things/{thing_id}")
    async def delete_thing(thing_id: int, role: MachineRole) -> None: ...


    @app.delete("/open/things/{thing_id}")
    async def delete_open(thing_id: int, role: NobodyRole) -> None: ...


    @app.delete("/maybe/things/{thing_id}")
    async def delete_maybe(thing_id: int, role: RuntimeRole) -> None: ...
"""


def test_a_shared_check_dispatched_on_flags_a_factory_binds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A factory's closure hands its constant flags to one shared function whose ``elif allow_machine:``
    branch reads the bearer token (in a helper) and answers 401: the branch the flags select is read, one
    they rule out is not, one decided at runtime is read as before; the closure, which only returns the
    call, takes no level of the search (the header is read three calls below the dependency)."""
    model = _project(tmp_path, monkeypatch, {"app/__init__.py": "", "app/main.py": DISPATCH})
    by_path = {r.path: r for r in model.routes}
    [via] = by_path["/internal/things/{thing_id}"].auth.via
    assert (via.kind, via.name, via.optional) == ("dependency", "machine_only", False)
    assert "request.headers.get('Authorization')" in via.evidence and "401" in via.evidence
    assert by_path["/open/things/{thing_id}"].auth.via == ()
    assert by_path["/maybe/things/{thing_id}"].auth.required


FLAGGED_GATE = """
    import os

    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPBearer

    optional_bearer = HTTPBearer(auto_error=False)


    async def _resolve(credentials, *, required: bool):
        if required:
            if credentials is None:
                raise HTTPException(status_code=401)
        return credentials


    def Auth(required: bool = True):
        async def dependency(credentials=Depends(optional_bearer)):
            return await _resolve(credentials, required=required)
        return dependency


    app = FastAPI()


    @app.post("/required", dependencies=[Depends(Auth())])
    async def needs() -> None: ...


    @app.post("/optional", dependencies=[Depends(Auth(required=False))])
    async def may() -> None: ...


    @app.post("/runtime", dependencies=[Depends(Auth(required=os.environ.get("STRICT") == "1"))])
    async def depends_on_env() -> None: ...
"""


def test_a_rejection_under_a_flag_the_factory_binds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``if required: if credentials is None: raise``: the further condition is folded when the factory's
    argument (or its default) decides it: true, the credential is required; false, it stays optional;
    decided at runtime, it is noted, not counted, as any further condition."""
    model = _project(tmp_path, monkeypatch, {"app/__init__.py": "", "app/main.py": FLAGGED_GATE})
    vias = {r.path: {(v.kind, v.name, v.optional) for v in r.auth.via} for r in model.routes}
    assert vias["/required"] == {("scheme", "optional_bearer", True), ("dependency", "dependency", False)}
    assert vias["/optional"] == vias["/runtime"] == {("scheme", "optional_bearer", True)}
    assert [u.reason for u in model.unresolved] == ["`_resolve` rejects a missing caller only under a further condition"]
