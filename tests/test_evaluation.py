"""The interpreter evaluates the project's own functions as far as it is statically certain.

Calls to project functions bind their arguments (and defaults) to the parameters; conditional
expressions, ``and``/``or``/``not`` and comparisons of constants fold; a ``return`` under an ``if``
whose condition is certainly false is skipped, and the first one certainly reached is the result;
closures keep the arguments of the call that made them. Where a condition depends on runtime data
the result stays unknown (never a guess between two different values).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fastapi_arch_lint.engine import analyze
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.values import Env, VConst, VSeq, VUnknown, compare, truth
from fastapi_arch_lint.model.expr import Name
from projects import project, write


def interpreter(root: Path, files: dict[str, str]) -> Interpreter:
    return Interpreter([m.facts for m in project(root, files).model.modules])


def value(interp: Interpreter, module: str, name: str):
    return interp.eval(Name(name), Env(module))


@pytest.fixture(autouse=True)
def _cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_keyword_default_picks_the_branch_of_a_conditional_expression(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        def strict(): ...
        def lenient(): ...

        def pick(*, required: bool = True):
            return strict if required else lenient

        by_default = pick()
        explicit_false = pick(required=False)
        explicit_true = pick(required=True)
    """})
    assert value(interp, "m", "by_default").fact.name == "strict"
    assert value(interp, "m", "explicit_false").fact.name == "lenient"
    assert value(interp, "m", "explicit_true").fact.name == "strict"


def test_returns_fold_through_if_else_and_early_returns(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        MODE = "prod"

        def a(): ...
        def b(): ...
        def c(): ...

        def chooser(kind, flag=False):
            if kind == "a":
                return a
            elif kind == "b" and not flag:
                return b
            else:
                return c

        def early(x=None):
            if x is None:
                return a
            return b

        def by_mode():
            if MODE in ("dev", "test"):
                return a
            return c

        first = chooser("a")
        second = chooser("b")
        second_flagged = chooser("b", True)
        third = chooser("z")
        early_default = early()
        early_given = early(1)
        mode = by_mode()
    """})
    got = {n: value(interp, "m", n).fact.name for n in
           ("first", "second", "second_flagged", "third", "early_default", "early_given", "mode")}
    assert got == {"first": "a", "second": "b", "second_flagged": "c", "third": "c",
                   "early_default": "a", "early_given": "b", "mode": "c"}


def test_a_condition_known_only_at_runtime_is_not_guessed(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        import os

        def a(): ...
        def b(): ...

        def pick(required):
            return a if required else b

        unknown = pick(os.environ.get("REQUIRED"))
        same_both_ways = (a if os.environ.get("X") else a)
    """})
    v = value(interp, "m", "unknown")
    assert isinstance(v, VUnknown) and "decides at runtime" in v.reason
    assert value(interp, "m", "same_both_ways").fact.name == "a"


def test_closures_keep_the_arguments_of_the_call_that_made_them(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        def make(prefix, suffix="!"):
            def inner():
                return prefix + suffix
            return inner

        greeter = make("hello")
        greeting = greeter()
        shouter = make(suffix="?", prefix="hey")
        shout = shouter()
    """})
    assert value(interp, "m", "greeting") == VConst("hello!")
    assert value(interp, "m", "shout") == VConst("hey?")


def test_star_arguments_leave_defaults_unbound(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        def f(a, b="default"):
            return b

        options = {"b": "given"}
        spread = f(1, **options)
        plain = f(1)
    """})
    assert not isinstance(value(interp, "m", "spread"), VConst)  # ``**options`` may pass ``b``
    assert value(interp, "m", "plain") == VConst("default")


def test_returns_in_loops_and_handlers_are_only_possible(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        def a(): ...
        def b(): ...

        def first_match(items=()):
            for item in items:
                return a
            return b

        def guarded():
            try:
                return a
            except ImportError:
                return b

        loop = first_match()
        handler = guarded()
    """})
    # the loop's return may not run: the final one is the usual result, as before folding
    assert value(interp, "m", "loop").fact.name == "b"
    assert value(interp, "m", "handler").fact.name == "a"


def test_methods_bind_after_self(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        class Factory:
            def make(self, name="x"):
                return name

        made = Factory().make()
        named = Factory().make("y")
    """})
    assert value(interp, "m", "made") == VConst("x")
    assert value(interp, "m", "named") == VConst("y")


def test_recursion_with_arguments_stays_bounded(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        def f(n=3):
            if n:
                return f(n - 1)
            return "done"

        result = f()
    """})
    assert isinstance(value(interp, "m", "result"), (VConst, VUnknown))


def test_truth_and_compare_are_certain_or_silent() -> None:
    assert truth(VConst(0)) is False and truth(VConst("x")) is True
    assert truth(VUnknown("?")) is None
    assert compare("==", VConst("a"), VConst("a")) == VConst(True)
    assert compare("is", VConst(None), VConst(None)) == VConst(True)
    assert compare("<", VConst("a"), VConst(1)) is None  # not comparable: unknown, not an error
    assert compare("==", VConst(1), VUnknown("?")) is None


def test_dependency_factories_give_the_route_its_auth(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/deps.py": """
            from fastapi import Security
            from fastapi.security import APIKeyHeader

            header = APIKeyHeader(name="Authorization")
            optional = APIKeyHeader(name="Authorization", auto_error=False)

            async def _user(key: str = Security(header)): ...
            async def _maybe_user(key: str = Security(optional)): ...

            def current_user(*, required: bool = True):
                return _user if required else _maybe_user
        """,
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from app.deps import current_user

            app = FastAPI()

            @app.get("/me")
            async def me(user=Depends(current_user())): ...

            @app.get("/feed")
            async def feed(user=Depends(current_user(required=False))): ...
        """,
    })
    model = analyze([tmp_path]).model
    by_path = {r.path: r for r in model.routes}
    assert [(v.name, v.optional) for v in by_path["/me"].auth.via] == [("header", False)]
    assert [(v.name, v.optional) for v in by_path["/feed"].auth.via] == [("optional", True)]


def test_an_unknown_certain_return_falls_back_to_the_return_annotation(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        import os

        class Settings:
            hosts = ["*"]

        CHOICES = {"prod": Settings}

        def get_settings() -> Settings:
            chosen = CHOICES[os.environ["ENV"]]
            return chosen()

        hosts = get_settings().hosts
    """})
    assert value(interp, "m", "hosts") == VSeq((VConst("*"),))


def test_one_closure_made_twice_with_different_schemes(tmp_path: Path) -> None:
    write(tmp_path, {
        "app/__init__.py": "",
        "app/main.py": """
            from fastapi import Depends, FastAPI
            from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

            bearer = OAuth2PasswordBearer(tokenUrl="/token")
            api_key = APIKeyHeader(name="X-Key")

            def token_reader(scheme):
                async def read(token: str = Depends(scheme)) -> str:
                    return token
                return read

            app = FastAPI()

            @app.get("/users")
            async def users(token: str = Depends(token_reader(bearer))): ...

            @app.get("/machines")
            async def machines(token: str = Depends(token_reader(api_key))): ...
        """,
    })
    by_path = {r.path: r for r in analyze([tmp_path]).model.routes}
    assert [v.name for v in by_path["/users"].auth.via] == ["bearer"]
    assert [v.name for v in by_path["/machines"].auth.via] == ["api_key"]


def test_membership_in_literal_collections_of_classes(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        class User: ...
        class Org: ...
        class Guest: ...

        def a(): ...
        def b(): ...

        def pick(allowed):
            frozen = frozenset(allowed)
            if User in frozen:
                return a
            return b

        def pick_by_name(kinds=("user", "org")):
            return a if "org" in kinds else b

        users = pick({User, Guest})
        orgs = pick({Org})
        by_name = pick_by_name()
    """})
    assert value(interp, "m", "users").fact.name == "a"
    assert value(interp, "m", "orgs").fact.name == "b"
    assert value(interp, "m", "by_name").fact.name == "a"


def test_a_condition_on_an_objects_attribute_is_not_folded_from_its_class_default(tmp_path: Path) -> None:
    interp = interpreter(tmp_path, {"m.py": """
        class Settings:
            DEBUG: bool = True
            MODE = "prod"

        settings = Settings()

        def a(): ...
        def b(): ...

        def pick():
            if settings.DEBUG:
                return a
            return b

        def pick_inline():
            return a if settings.MODE == "dev" else b

        picked = pick()
        inline = pick_inline()
    """})
    # the environment may set DEBUG: not folded, the final return is the usual result (as before folding)
    assert value(interp, "m", "picked").fact.name == "b"
    assert isinstance(value(interp, "m", "inline"), VUnknown)
