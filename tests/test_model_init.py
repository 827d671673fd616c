"""The model's classes get generated constructors (model/_init.py): same signature, same instances."""

from __future__ import annotations

import dataclasses
import inspect
import pickle

import pytest

from fastapi_arch_lint import cache
from fastapi_arch_lint.model import app, expr, facts
from fastapi_arch_lint.model._init import slot_init


def _bare(fn: object) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]


def test_slot_init_matches_the_dataclass_init() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Sample:
        a: int
        b: str = "x"
        c: list[int] = dataclasses.field(default_factory=list)

    original = Sample.__init__
    fast = slot_init(Sample)
    assert fast is not None and fast is not original
    assert _bare(fast) == _bare(original)  # names, kinds, default objects (annotations aside)
    Sample.__init__ = fast  # type: ignore[method-assign]
    one, two = Sample(1), Sample(a=1)
    assert one == two == Sample(1, "x", []) and one.c is not two.c  # a fresh list each time
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.a = 2  # type: ignore[misc]
    assert dataclasses.replace(one, b="y") == Sample(1, "y", [])
    with pytest.raises(TypeError):
        Sample()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Sample(1, "x", [], 4)  # type: ignore[call-arg]


def test_slot_init_declines_what_it_does_not_handle() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = dataclasses.field(kw_only=True)

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    assert slot_init(KeywordOnly) is None and slot_init(NoSlots) is None and slot_init(NotInInit) is None


def _model_dataclasses() -> list[type]:
    return [v for m in (facts, expr, app) for v in vars(m).values()
            if isinstance(v, type) and v.__module__ == m.__name__ and dataclasses.is_dataclass(v)]


def test_the_model_classes_have_generated_constructors() -> None:
    classes = _model_dataclasses()
    generated = [c for c in classes if c.__init__.__code__.co_filename.startswith("<fast ")]
    assert len(generated) >= 40
    assert {c.__name__ for c in classes} - {c.__name__ for c in generated} == {"AppModel"}  # a field not in __init__
    for cls in generated:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert [p.name for p in params] == [f.name for f in dataclasses.fields(cls)]
        for p, f in zip(params, dataclasses.fields(cls)):
            if f.default is not dataclasses.MISSING:
                assert p.default is f.default


def test_facts_survive_the_cache_encoding() -> None:
    pos = facts.Pos(1, 2, 3, 4)
    call = expr.Call(expr.Attr(expr.Name("db", 3), "execute"), (expr.Const("SELECT 1"),), (("x", expr.Const(None)),), 3, 4)
    site = facts.CallSite(call, pos)
    again = cache.loads(cache.dumps(site))
    assert again == site and again.pos == pos and hash(again) == hash(site)
    assert pickle.loads(pickle.dumps(site)) == site


def test_constructor_builds_what_the_class_builds() -> None:
    from fastapi_arch_lint.model._init import constructor

    make_call, make_pos = constructor(expr.Call), constructor(facts.Pos)
    assert make_call is not expr.Call and make_pos is not facts.Pos
    name = expr.Name("f", 2)
    built = make_call(name, (expr.Const(1),), line=2)
    assert type(built) is expr.Call and built == expr.Call(name, (expr.Const(1),), (), 2, 0, False)
    assert make_pos(1, 2, 3, 4) == facts.Pos(1, 2, 3, 4)
    assert _bare(make_call) == _bare(expr.Call.__init__)[1:]  # the same parameters, minus self
    with pytest.raises(TypeError):
        make_pos(1, 2, 3)

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise ValueError

    assert constructor(Checked) is Checked  # its __post_init__ must run: the class itself
