"""What a secret-named field really holds when it leaves the server (FAL524's helpers).

Two ways a field named like a secret does not carry the secret to the client:

- the response model replaces its value itself: a Pydantic validator or serializer of the field
  (``@field_validator("password")``, ``@field_serializer``, v1's ``@validator``) whose returns are not
  the value it received, a model-level one (``@model_validator``, ``@model_serializer(mode="wrap")``,
  ``@root_validator``) that writes the field, or a plain ``@model_serializer``, which builds the whole
  output: what the client gets is whatever that function returns, which this analysis cannot tell
  from the secret (a mask, ``None``, a redacted copy);
- the project only ever stores ciphertext under it: every write of the attribute (``row.x = ...``,
  a table's or model's constructor keyword, ``setattr(row, "x", ...)``) passes an encrypt call
  (``fernet.encrypt(...)``, ``encrypt_api_key(...)``) or clears it (``None``, ``""``), no request
  body model has a field of that name (a bulk update this analysis cannot follow), and no class
  defines a method of that name (a property that may decrypt on read).
"""

from __future__ import annotations

import re

from fastapi_arch_lint.analysis.index import unique_routes
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, PydanticModel
from fastapi_arch_lint.model.expr import Attr, Call, Const, DictExpr, Expr, Name, Subscript, dotted, walk
from fastapi_arch_lint.model.facts import FunctionFact
from fastapi_arch_lint.rules._util import pydantic_model

FIELD_HOOKS = frozenset({"field_validator", "field_serializer", "validator"})
MODEL_HOOKS = frozenset({"model_validator", "model_serializer", "root_validator"})
ENCRYPT_RE = re.compile(r"encrypt", re.I)
# calls that pass a value's text on unchanged in substance: ``fernet.encrypt(b).decode()``, ``str(...)``
PASS_THROUGH = frozenset({"decode", "hex", "str"})


def _hook(expr: Expr) -> tuple[str, Call | None] | None:
    """``("field_validator", call)`` for a Pydantic hook decorator (bare or called), else None."""
    call = expr if isinstance(expr, Call) else None
    name = dotted(call.func if call is not None else expr)
    if name is None:
        return None
    short = name.rsplit(".", 1)[-1]
    if short in FIELD_HOOKS or short in MODEL_HOOKS:
        return short, call
    return None


def _value_params(fn: FunctionFact) -> list[str]:
    """The parameters after ``self``/``cls``: the value first, then the handler of a wrap hook."""
    params = [p.name for p in fn.params if p.kind == "positional"]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    return params


def _returns_the_value(fn: FunctionFact, wrap: bool) -> bool:
    """Every return gives back the value the hook received (``return v``, ``return handler(v)`` in wrap
    mode, ``return None`` for a missing one), and the body never rebinds it: a check, not a change."""
    params = _value_params(fn)
    if not params or not fn.scope.returns:
        return False
    value = params[0]
    handler = params[1] if wrap and len(params) > 1 else None
    if any(a.target == value for a in fn.scope.assigns):
        return False
    for r in fn.scope.returns:
        e = r.value
        if isinstance(e, Name) and e.id == value or isinstance(e, Const) and e.value is None:
            continue
        if handler is not None and isinstance(e, Call) and isinstance(e.func, Name) and e.func.id == handler and \
                len(e.args) == 1 and isinstance(e.args[0], Name) and e.args[0].id == value and not e.kwargs:
            continue
        return False
    return True


def _writes(fn: FunctionFact, field: str) -> bool:
    """A model-level hook sets or replaces ``field``: ``self.password = ...``, ``data["password"] = ...``,
    ``data.pop("password")``, ``{"password": "***", ...}``, ``setattr(self, "password", ...)``; a key only
    read in a comparison (``data["password"] != data["confirm"]``) is not a write."""
    if any(a.target.endswith("." + field) for a in fn.scope.assigns):
        return True
    keyed = sum(1 for _, key in fn.subscripts if key == field)
    compared = sum(1 for c in fn.compares for side in (c.left, c.right) for e in walk(side)
                   if isinstance(e, Subscript) and any(isinstance(i, Const) and i.value == field for i in e.items))
    if keyed > compared:
        return True
    exprs: list[Expr] = [s.call for s in fn.calls]
    exprs += [r.value for r in fn.scope.returns if r.value is not None]
    exprs += [a.value for a in fn.scope.assigns if a.value is not None]
    for top in exprs:
        for e in walk(top):
            if isinstance(e, DictExpr) and any(isinstance(k, Const) and k.value == field for k in e.keys):
                return True
            if isinstance(e, Call):
                name = dotted(e.func) or ""
                if name.rsplit(".", 1)[-1] in ("get", "getattr"):
                    continue  # a read
                if any(k == field for k, _ in e.kwargs) or any(isinstance(a, Const) and a.value == field for a in e.args):
                    return True
    return False


def transformed_fields(app: AppModel, model: PydanticModel) -> dict[str, str]:
    """The fields of ``model`` whose value a hook of the model (or of a base) replaces, each with the
    hook's name (``"*"`` for a plain ``@model_serializer``, which replaces them all)."""
    known = memo(app, _all_transformed)
    if model.qualname not in known:
        known[model.qualname] = _transformed(app, model)
    return known[model.qualname]


def _all_transformed(app: AppModel) -> dict[str, dict[str, str]]:
    return {}


def _transformed(app: AppModel, model: PydanticModel) -> dict[str, str]:
    out: dict[str, str] = {}
    names = [f.name for f in model.fields]
    for q in (model.qualname, *model.bases):
        entry = app.classes.get(q)
        if entry is None:
            continue
        for m in entry[1].methods:
            for d in m.decorators:
                hook = _hook(d.expr)
                if hook is None:
                    continue
                kind, call = hook
                mode = call.kwarg("mode") if call is not None else None
                wrap = isinstance(mode, Const) and mode.value == "wrap"
                if kind in FIELD_HOOKS:
                    args = call.args if call is not None else ()
                    known = all(isinstance(a, Const) and isinstance(a.value, str) for a in args) and \
                        not (call is not None and call.starred)
                    named = {a.value for a in args if isinstance(a, Const)}
                    hit = [n for n in names if not known or n in named or "*" in named]
                    if hit and not _returns_the_value(m, wrap):
                        for n in hit:
                            out.setdefault(n, m.name)
                elif kind == "model_serializer" and not wrap:
                    out["*"] = m.name
                else:
                    for n in names:
                        if n not in out and _writes(m, n):
                            out[n] = m.name
    return out


def masked_by_model(app: AppModel, model: PydanticModel, field: str) -> str | None:
    """The hook of ``model`` that replaces ``field`` before it leaves, if any."""
    found = transformed_fields(app, model)
    return found.get(field) or found.get("*")


# -- fields only ever stored encrypted -------------------------------------------------------------------


def _is_test_module(name: str) -> bool:
    parts = name.split(".")
    last = parts[-1]
    return last.startswith("test_") or last.endswith("_test") or last == "conftest" or \
        any(p in ("tests", "test") for p in parts[:-1])


def _encrypted(e: Expr | None, local: dict[str, list[Expr | None]], depth: int = 0) -> bool:
    """``e`` is what an encrypt call answered: ``fernet.encrypt(x)``, ``encrypt_api_key(x)``, with
    ``.decode()`` or ``str(...)`` around it, or a local name every assignment of which is one."""
    if depth > 4 or e is None:
        return False
    if isinstance(e, Name):
        values = local.get(e.id)
        return bool(values) and all(_encrypted(v, local, depth + 1) for v in values)  # type: ignore[union-attr]
    if not isinstance(e, Call):
        return False
    name = (dotted(e.func) or (e.func.attr if isinstance(e.func, Attr) else "")).rsplit(".", 1)[-1]
    if ENCRYPT_RE.search(name) and "decrypt" not in name.lower():
        return True
    if name in PASS_THROUGH:
        inner = e.func.value if isinstance(e.func, Attr) and name != "str" else (e.args[0] if e.args else None)
        return _encrypted(inner, local, depth + 1)
    return False


def _write_kinds(app: AppModel) -> dict[str, set[str]]:
    """Each attribute name written on an object, with what the writes store: ``encrypted``, ``cleared``
    (``None``, ``""``), ``other``."""
    classes = {t.qualname for t in app.tables} | {m.qualname for m in app.models}
    out: dict[str, set[str]] = {}
    for fn in app.functions.values():
        if _is_test_module(fn.module):
            continue
        fact = fn.fact
        local: dict[str, list[Expr | None]] = {}
        for a in fact.scope.assigns:
            if a.target and "." not in a.target:
                local.setdefault(a.target, []).append(None if a.augmented else a.value)
        for site in fact.calls:
            if site.assigned_to and "." not in site.assigned_to:
                local.setdefault(site.assigned_to, []).append(site.call)

        def note(attr: str, value: Expr | None) -> None:
            if isinstance(value, Const) and value.value in (None, ""):
                kind = "cleared"
            else:
                kind = "encrypted" if _encrypted(value, local) else "other"
            out.setdefault(attr, set()).add(kind)

        for a in fact.scope.assigns:
            if "." in a.target:
                note(a.target.rsplit(".", 1)[-1], None if a.augmented else a.value)
        for site, target in fn.calls:
            call = site.call
            if target in classes:
                for k, v in call.kwargs:
                    note(k, v)
            elif dotted(call.func) == "setattr" and len(call.args) == 3 and isinstance(call.args[1], Const) \
                    and isinstance(call.args[1].value, str):
                note(call.args[1].value, call.args[2])
    return out


def _body_fields(app: AppModel) -> frozenset[str]:
    """The fields of every request body model: what a bulk update could write unseen."""
    out: set[str] = set()
    for route in unique_routes(app):
        for q in route.request_models:
            m = pydantic_model(app, q)
            if m is not None:
                out.update(f.name for f in m.fields)
    return frozenset(out)


def _properties(app: AppModel) -> frozenset[str]:
    """Names that some class defines as a method (a property, a hybrid attribute): reading them may decrypt."""
    return frozenset(m.name for _, c in app.classes.values() for m in c.methods)


def stored_encrypted(app: AppModel, field: str) -> bool:
    """Every write of the attribute ``field`` the project makes (outside its tests) stores ciphertext or
    clears it, one at least encrypts, no class computes it, and no request body can set it."""
    kinds = memo(app, _write_kinds).get(field)
    return bool(kinds) and "encrypted" in kinds and kinds <= {"encrypted", "cleared"} and \
        field not in memo(app, _body_fields) and field not in memo(app, _properties)
