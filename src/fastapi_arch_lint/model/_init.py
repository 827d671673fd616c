"""Faster constructors for frozen, slotted dataclasses.

A frozen dataclass's generated ``__init__`` sets each field with
``object.__setattr__(self, "name", value)``, which looks the slot up through the class's MRO
on every call. The extractor, the cache's decoding and the linker build the model's classes by
the hundred thousand per run (the medium benchmark: ~450k facts and expressions), so their
``__init__`` is replaced by one generated here: the same parameters, defaults and default
factories, the same fields set in the same order, each through its slot descriptor. Instances
are indistinguishable (still frozen: ``__setattr__`` is untouched). The extractor's hottest
paths call ``constructor(cls)`` instead, the same code as a plain function (no
``type.__call__``), and ``extract/unvalidated.py`` uses ``slot_init`` for LibCST's node classes
while it parses.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable


def _setting_slots(cls: type) -> tuple[list[str], list[str], dict[str, object]] | None:
    """The parameters, body and globals of a function that sets ``cls``'s fields on ``self``
    as its dataclass ``__init__`` would, or None when ``cls`` is not the plain case handled
    here (keyword-only or non-``init`` fields, a field without a slot)."""
    fields = dataclasses.fields(cls)
    code = cls.__dict__["__init__"].__code__
    if code.co_varnames[1:code.co_argcount] != tuple(f.name for f in fields) or code.co_kwonlyargcount:
        return None
    env: dict[str, object] = {"_FACTORY": dataclasses._HAS_DEFAULT_FACTORY}  # type: ignore[attr-defined]
    params, body = [], []
    for i, f in enumerate(fields):
        if not f.init or not f.name.isidentifier() or f.kw_only:
            return None
        slot = next((k.__dict__[f.name] for k in cls.__mro__ if f.name in k.__dict__), None)
        if not isinstance(slot, types.MemberDescriptorType):
            return None
        env[f"_set{i}"] = slot.__set__
        if f.default is not dataclasses.MISSING:
            env[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_FACTORY")
            body.append(f"if {f.name} is _FACTORY: {f.name} = _factory{i}()")
        else:
            params.append(f.name)
        body.append(f"_set{i}(self, {f.name})")
    return params, body, env


def _function(name: str, label: str, params: list[str], body: list[str], env: dict[str, object]) -> types.FunctionType:
    source = f"def {name}({', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"
    namespace: dict[str, object] = {}
    exec(compile(source, label, "exec"), env, namespace)
    fn = namespace[name]
    assert isinstance(fn, types.FunctionType)
    return fn


def slot_init(cls: type) -> Callable[..., None] | None:
    """An ``__init__`` equivalent to the dataclass ``cls``'s own, minus any ``__post_init__``
    call (the caller decides whether that is right), or None when ``cls`` is not the plain
    case handled here."""
    parts = _setting_slots(cls)
    if parts is None:
        return None
    params, body, env = parts
    init = _function("__init__", f"<fast {cls.__qualname__}.__init__>", ["self", *params], body, env)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def constructor(cls: type) -> Callable[..., object]:
    """A function that builds a ``cls`` as ``cls(...)`` does, minus ``type.__call__``: for the
    extractor's hottest paths, about 10% faster again than the class with its ``slot_init``.
    ``cls`` itself when it is not a plain frozen, slotted dataclass without ``__post_init__``."""
    parts = _setting_slots(cls) if not any("__post_init__" in k.__dict__ for k in cls.__mro__) else None
    if parts is None:
        return cls
    params, body, env = parts
    env.update(_new=object.__new__, _cls=cls)
    return _function(f"new_{cls.__name__}", f"<constructor of {cls.__qualname__}>", params,
                     ["self = _new(_cls)", *body, "return self"], env)


def fast_inits(namespace: dict[str, object]) -> None:
    """Give every frozen, slotted dataclass defined in a module (its ``globals()``) a
    ``slot_init`` constructor. A class with a ``__post_init__`` is left alone."""
    module = namespace["__name__"]
    for value in list(namespace.values()):
        if not (isinstance(value, type) and value.__module__ == module and dataclasses.is_dataclass(value)
                and "__slots__" in value.__dict__ and value.__dataclass_params__.frozen):  # type: ignore[attr-defined]
            continue
        if any("__post_init__" in k.__dict__ for k in value.__mro__):
            continue
        init = slot_init(value)
        if init is not None:
            value.__init__ = init  # type: ignore[misc]
