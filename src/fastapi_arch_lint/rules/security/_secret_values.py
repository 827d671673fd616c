"""What a secret-named field really holds when it leaves the server (FAL524's helpers).

A field named like a secret does not carry the secret to the client when the response model
replaces its value itself: a Pydantic validator or serializer of the field
(``@field_validator("password")``, ``@field_serializer``, v1's ``@validator``) whose returns are not
the value it received, a model-level one (``@model_validator``, ``@model_serializer(mode="wrap")``,
``@root_validator``) that writes the field, or a plain ``@model_serializer``, which builds the whole
output: what the client gets is whatever that function returns, which this analysis cannot tell
from the secret (a mask, ``None``, a redacted copy).
"""

from __future__ import annotations

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, PydanticModel
from fastapi_arch_lint.model.expr import Call, Const, DictExpr, Expr, Name, Subscript, dotted, walk
from fastapi_arch_lint.model.facts import FunctionFact

FIELD_HOOKS = frozenset({"field_validator", "field_serializer", "validator"})
MODEL_HOOKS = frozenset({"model_validator", "model_serializer", "root_validator"})


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
