"""Dependencies whose signature FastAPI reads through ``functools.wraps``.

A ``(*args, **kwargs)`` wrapper decorated with ``@functools.wraps(provider)`` has ``provider``'s
parameters for FastAPI: ``inspect.signature`` follows ``__wrapped__``. The provider is often chosen at
runtime (by a setting, from a registry): the route's auth is what every provider it may be agrees on,
and unknown (not none) when they differ or cannot be told. Each expectation was checked against
``app.openapi()`` for each setting.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_arch_lint.config import Config
from fastapi_arch_lint.engine import Analysis, review
from fastapi_arch_lint.model.app import Route
from fastapi_arch_lint.model.unresolved import auth_uncertain_routes
from projects import project

PROVIDERS = """
    import functools
    import os
    from functools import wraps

    from fastapi import Depends, HTTPException
    from fastapi.security import HTTPBasic, OAuth2PasswordBearer

    MODE = os.environ.get("AUTH_MODE", "oauth2")
    FIXED = "oauth2"
    bearer = OAuth2PasswordBearer(tokenUrl="/login")


    def bearer_user(token: str = Depends(bearer)) -> dict:
        if token != "good":
            raise HTTPException(401)
        return {"user": "u"}


    def basic_user(credentials=Depends(HTTPBasic())) -> dict:
        return {"user": credentials.username}


    def default_user() -> dict:
        return {"user": "default"}


    def pick(mode):
        if mode == "basic":
            return basic_user
        elif mode in ("oauth2", "none"):
            return bearer_user
        raise ValueError(mode)


    def pick_or_open(mode):
        if mode == "none":
            return default_user
        return bearer_user


    def threaded(choose, mode):
        provider = choose(mode)

        @functools.wraps(provider)
        async def authorize(*args, **kwargs) -> dict:
            return provider(*args, **kwargs)

        return authorize


    def logged(func):
        @wraps(func)
        def wrapper(*args, **kwargs):
            return func(*args, **kwargs)

        return wrapper


    REGISTRY = {"oauth2": bearer_user, "basic": basic_user}
    OPEN_REGISTRY = {"oauth2": bearer_user, "none": default_user}


    def from_registry(registry, name):
        provider = registry.get(name, bearer_user)

        @wraps(provider)
        def authorize(*args, **kwargs) -> dict:
            return provider(*args, **kwargs)

        return authorize
"""


def _routes(tmp_path: Path, main: str) -> tuple[Analysis, dict[str, Route]]:
    a = project(tmp_path, {"app/__init__.py": "", "app/providers.py": PROVIDERS, "app/main.py": main})
    return a, {r.path: r for r in a.model.routes}


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_the_wrapped_providers_parameters_are_the_dependencys(tmp_path: Path) -> None:
    """One provider (a constant setting, a function handed to a decorator): its scheme reaches the route
    through the wrapper; a wrapper of a provider without one adds nothing."""
    a, by_path = _routes(tmp_path, """
        from fastapi import Depends, FastAPI, Security

        from app.providers import FIXED, bearer_user, default_user, logged, pick, threaded

        authorize = threaded(pick, FIXED)
        app = FastAPI()


        @app.post("/fixed")
        def fixed(_: dict = Security(authorize)) -> None: ...


        @app.post("/logged")
        def with_logging(_: dict = Depends(logged(bearer_user))) -> None: ...


        @app.post("/open")
        def open_(_: dict = Depends(logged(default_user))) -> None: ...
    """)
    [via] = by_path["/fixed"].auth.via
    assert (via.kind, via.name, via.chain) == ("scheme", "bearer", ("authorize", "bearer_user", "bearer"))
    [via] = by_path["/logged"].auth.via
    assert via.chain == ("wrapper", "bearer_user", "bearer")
    assert by_path["/open"].auth.via == ()
    assert auth_uncertain_routes(a.model) == []  # all known: the open route's "none" is certain


def test_a_provider_chosen_at_runtime(tmp_path: Path) -> None:
    """Chosen by a setting or looked up in a registry: every provider it may be authenticates -> the
    route requires auth; one of them does not -> its auth is unknown, not none."""
    a, by_path = _routes(tmp_path, """
        from fastapi import Depends, FastAPI, Security

        from app.providers import MODE, OPEN_REGISTRY, REGISTRY, from_registry, pick, pick_or_open, threaded

        app = FastAPI()


        @app.post("/all-secured")
        def all_secured(_: dict = Security(threaded(pick, MODE))) -> None: ...


        @app.post("/maybe-open")
        def maybe_open(_: dict = Security(threaded(pick_or_open, MODE))) -> None: ...


        @app.post("/registry")
        def registry(_: dict = Depends(from_registry(REGISTRY, MODE))) -> None: ...


        @app.post("/open-registry")
        def open_registry(_: dict = Depends(from_registry(OPEN_REGISTRY, MODE))) -> None: ...
    """)
    for path in ("/all-secured", "/registry"):
        assert sorted(v.scheme for v in by_path[path].auth.via) == ["HTTPBasic", "OAuth2PasswordBearer"], path
    uncertain = {r.path for r in auth_uncertain_routes(a.model)}
    assert uncertain == {"/maybe-open", "/open-registry"}
    for path in uncertain:
        assert by_path[path].auth.via == ()
        [unknown] = [d for d in by_path[path].dependencies if d.kind == "unknown"]
        assert "default_user` (no auth)" in unknown.name and "bearer_user` (authenticates)" in unknown.name


def test_a_wrapped_callable_that_cannot_be_known(tmp_path: Path) -> None:
    """``wraps(x)`` with ``x`` a library's object or an argument nobody passes: FastAPI's view of the
    dependency is unknown, so is the route's auth."""
    a, by_path = _routes(tmp_path, """
        import importlib
        from functools import wraps

        from fastapi import Depends, FastAPI


        def plugin_auth(name):
            provider = importlib.import_module(name).authenticate

            @wraps(provider)
            def authorize(*args, **kwargs):
                return provider(*args, **kwargs)

            return authorize


        def from_plugins(name):
            provider = {**importlib.import_module("acme.auth").PROVIDERS, "open": lambda: None}[name]

            @wraps(provider)
            def authorize(*args, **kwargs):
                return provider(*args, **kwargs)

            return authorize


        app = FastAPI()


        @app.post("/plugin")
        def plugin(_: dict = Depends(plugin_auth("acme.auth"))) -> None: ...


        @app.post("/plugins")
        def plugins(_: dict = Depends(from_plugins("oauth2"))) -> None: ...
    """)
    assert {r.path for r in auth_uncertain_routes(a.model)} == {"/plugin", "/plugins"}
    assert all(r.auth.via == () for r in by_path.values())


def test_the_auth_rules_stay_quiet_where_the_provider_decides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FAL401/FAL409 say nothing of a route whose provider may or may not authenticate, and still report
    the twin whose wrapped provider never does."""
    project(tmp_path, {"app/__init__.py": "", "app/providers.py": PROVIDERS, "app/main.py": """
        from fastapi import Depends, FastAPI

        from app.providers import MODE, default_user, logged, pick, pick_or_open, threaded

        secured = threaded(pick, MODE)
        maybe = threaded(pick_or_open, MODE)
        guest = logged(default_user)
        app = FastAPI()


        @app.get("/notes")
        def list_notes(_: dict = Depends(secured)) -> list: ...


        @app.get("/notes/{note_id}")
        def get_note(note_id: int, _: dict = Depends(secured)) -> dict: ...


        @app.get("/drafts/{draft_id}")
        def get_draft(draft_id: int, _: dict = Depends(maybe)) -> dict:
            return {"id": draft_id, "email": "a@example.com"}


        @app.delete("/drafts/{draft_id}")
        def delete_draft(draft_id: int, _: dict = Depends(maybe)) -> None: ...


        @app.get("/archive/{note_id}")
        def get_archived(note_id: int, _: dict = Depends(guest)) -> dict:
            return {"id": note_id, "email": "a@example.com"}


        @app.delete("/archive/{note_id}")
        def delete_archived(note_id: int, _: dict = Depends(guest)) -> None: ...
    """})
    result = review(["."], Config(root=tmp_path), select=["FAL401", "FAL409"])
    assert sorted((f.rule, f.line) for f in result.findings) == [("FAL401", 33), ("FAL409", 28)]


def test_a_setting_read_into_a_local_name_decides_at_runtime(tmp_path: Path) -> None:
    """``scheme = get_settings().auth_scheme`` then ``if scheme == "none"``: the attribute may be set at
    runtime whatever its class default, as when the condition reads it directly; neither is folded."""
    a = project(tmp_path, {"app/__init__.py": "", "app/providers.py": PROVIDERS, "app/main.py": """
        from fastapi import Depends, FastAPI

        from app.providers import bearer_user, default_user, logged


        class Settings:
            auth_scheme: str = "oauth2"


        def get_settings() -> Settings:
            return Settings()


        def direct():
            if get_settings().auth_scheme == "none":
                return default_user
            return bearer_user


        def through_a_local():
            scheme = get_settings().auth_scheme
            if scheme == "none":
                return default_user
            return bearer_user


        app = FastAPI()


        @app.post("/direct")
        def direct_route(_: dict = Depends(logged(direct()))) -> None: ...


        @app.post("/local")
        def local_route(_: dict = Depends(logged(through_a_local()))) -> None: ...
    """})
    assert {r.path for r in auth_uncertain_routes(a.model)} == {"/direct", "/local"}
