"""``Depends``/``Security`` markers and the parameters FastAPI reads from a callable."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import (
    CON_MARKERS,
    CON_TYPES,
    JWT_HELPER_CLASSES,
    NON_AUTH_DEPENDENCY,
    NON_AUTH_LIBRARIES,
    PARAM_MARKERS,
    SECURITY_SCHEMES,
    SPECIAL_TYPES,
)
from fastapi_arch_lint.link.schema import Schema
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VAnnotated,
    VClass,
    VConst,
    VExt,
    VFunc,
    VInst,
    VSeq,
    VUnknown,
    ext_name,
    why,
)
from fastapi_arch_lint.model.app import (
    Loc,
    Param,
)
from fastapi_arch_lint.model.expr import (
    Expr,
    Opaque,
    Seq,
    render,
)


class Dependencies:
    def __init__(self, interp: Interpreter, schema: Schema) -> None:
        self.interp = interp
        self.schema = schema
        self._params_memo: dict[tuple[object, ...], tuple[list[tuple[Param, Value | None, VInst | None]], int]] = {}

    def is_scheme(self, v: Value) -> bool:
        return isinstance(v, VInst) and any(b in SECURITY_SCHEMES for b in self.interp.bases(v.cls))

    def scheme_class(self, v: VInst) -> str:
        for b in self.interp.bases(v.cls):
            if b in SECURITY_SCHEMES:
                return b.rsplit(".", 1)[-1] if isinstance(v.cls, VExt) else f"{v.cls.fact.name}({b.rsplit('.', 1)[-1]})"
        return "scheme"

    def dep_list(self, expr: Expr | None, env: Env, loc: Loc) -> list[tuple[Value, Expr, Loc]]:
        if expr is None:
            return []
        v = self.interp.eval(expr, env)
        if not isinstance(v, VSeq):
            self.interp.note(f"dependencies `{render(expr)}`", why(v), env.module, loc.line)
            return []
        items = expr.items if isinstance(expr, Seq) else tuple(Opaque("?") for _ in v.items)
        return [(item, e, loc) for item, e in zip(v.items, items)]

    # -- markers, dependency callables and their parameters --------------------
    def marker_of(self, v: Value) -> tuple[str, VInst] | None:
        if isinstance(v, VInst) and isinstance(v.cls, VExt) and v.cls.qualname in PARAM_MARKERS:
            return PARAM_MARKERS[v.cls.qualname], v
        return None

    def dependency_target(self, marker: VInst, annotation: Value | None) -> Value:
        call = marker.call
        dep_expr = call.arg(0, "dependency") if call else None
        if dep_expr is None:
            base = annotation
            if isinstance(base, VAnnotated):
                base = base.base
            return base if base is not None else VUnknown("Depends() without a dependency")
        return self.interp.eval(dep_expr, marker.env or Env(marker.site[0]))

    def dep_label(self, v: Value) -> str:
        """The name of what a ``dependencies=[Depends(x)]`` entry runs (``x``), for display."""
        m = self.marker_of(v)
        if m is not None and m[0] in ("dependency", "security"):
            return self.dep_name(self.dependency_target(m[1], None))[0]
        return self.dep_name(v)[0]

    def dep_name(self, v: Value) -> tuple[str, str]:
        """(qualified name, kind) of a dependency callable."""
        if isinstance(v, VFunc):
            return v.qualname, "function"
        if isinstance(v, VClass):
            return v.qualname, "class"
        if isinstance(v, VInst):
            if self.is_scheme(v):
                return (f"{v.site[0]}.{v.bound_name}" if v.bound_name else self.scheme_class(v)), "scheme"
            cls = v.cls.qualname
            name = f"{v.site[0]}.{v.bound_name}" if v.bound_name else f"{cls}()"
            if isinstance(v.cls, VExt) and (cls.endswith("()") or not _known_library(cls)):
                # made by calling what a call returned (``getattr(module, name)(...)``, a class loaded at
                # runtime), or by code the analysis does not read (``Depends(make_guard("admin"))`` from a
                # shared package): what FastAPI calls, and what it checks, is unknown
                return name, "unknown"
            return name, "instance"
        if isinstance(v, VExt):
            # a function of code the analysis does not read may check credentials (``get_current_user``
            # from a shared package); a known library's does not
            return v.qualname, "function" if _known_library(v.qualname) else "unknown"
        if isinstance(v, VUnknown) and v.binding:  # a library's object, by the module-level name it is bound to
            return v.binding, "unknown"
        return (v.reason if isinstance(v, VUnknown) else "?"), "unknown"

    def callable_params(self, v: Value) -> tuple[VFunc | None, bool]:
        """The function whose parameters FastAPI inspects for a dependency callable."""
        if isinstance(v, VFunc):
            return v, v.fact.is_async
        if isinstance(v, VClass):
            init = self.interp.class_attr(v, "__init__", instance=False)
            if isinstance(init, VFunc):
                return init, False
            return None, False
        if isinstance(v, VInst) and isinstance(v.cls, VClass):
            m = self.interp.class_attr(v.cls, "__call__", instance=True)
            if isinstance(m, VFunc):
                return m, m.fact.is_async
        return None, False

    def classify_params(self, fn: VFunc, path_params: Iterable[str], is_websocket: bool = False
                        ) -> list[tuple[Param, Value | None, VInst | None]]:
        """Each parameter: (Param, dependency callable or None, marker).

        Memoized: a dependency is classified again for every route that uses it. A function is
        identified by its fact and its module (the enclosing functions follow from where the fact
        is); the result is a new list each time. Only the path parameters that are parameters of ``fn``
        change the result, so only they are in the key: a shared dependency (``get_db``) is classified
        once, not once per set of path parameters of the routes using it.
        """
        path_set = frozenset(path_params).intersection([p.name for p in fn.fact.params])
        key = (id(fn.fact), fn.env.module, fn.cls is not None, path_set, fn.env.bound)  # a closure: its call's arguments
        return list(self.interp.memoized(self._params_memo, key, self._classify_params, fn, path_set))

    def _classify_params(self, fn: VFunc, path_set: frozenset[str]) -> list[tuple[Param, Value | None, VInst | None]]:
        out = []
        env = fn.env
        params = fn.fact.params
        if fn.cls is not None and params and params[0].name in ("self", "cls"):
            params = params[1:]
        for p in params:
            if p.kind in ("var_positional", "var_keyword"):
                continue
            ann = self.interp.annotation(p.annotation, env) if p.annotation is not None else None
            ann = self.interp.unwrap_alias(ann)
            # a default runs when the ``def`` does: names bound again later in the module are not yet
            default = (self.interp.eval(p.default, self.interp.at_statement(env, fn.fact.pos.line))
                       if p.default is not None else None)
            marker: tuple[str, VInst] | None = None
            base = ann
            if isinstance(ann, VAnnotated):
                base = ann.base
                for m in ann.meta:
                    marker = self.marker_of(m) or marker
            # whether the marker is the default (``x: int = Query(3)``), not ``Annotated`` metadata; a
            # flag, not ``marker[1] is default``: memoized values are shared, equal objects may be one
            from_default = False
            if marker is None and default is not None:
                marker = self.marker_of(default)
                from_default = marker is not None
            type_names = tuple(self.schema.type_names(base))
            source = "query"
            dep: Value | None = None
            constraints: tuple[tuple[str, object], ...] = ()
            required = p.default is None
            default_text = render(p.default) if p.default is not None else ""
            alias = ""
            if marker is not None:
                source = marker[0]
                minst = marker[1]
                if source in ("dependency", "security"):
                    dep = self.dependency_target(minst, base)
                else:
                    constraints = self.marker_constraints(minst)
                    mcall = minst.call
                    if mcall is not None:
                        d = mcall.arg(0, "default") if from_default else mcall.kwarg("default")
                        if d is not None:
                            dv = self.interp.eval(d, minst.env or env)
                            required = isinstance(dv, VConst) and dv.value is Ellipsis
                            default_text = render(d)
                        elif mcall.kwarg("default_factory") is not None:
                            required = False
                        elif from_default:
                            required = True
                        a = mcall.kwarg("alias")
                        if a is not None:
                            av = self.interp.eval(a, minst.env or env)
                            alias = av.value if isinstance(av, VConst) and isinstance(av.value, str) else ""
            else:
                special = next((SPECIAL_TYPES[t] for t in type_names if t in SPECIAL_TYPES), None)
                if special:
                    source = special
                elif p.name in path_set:
                    source = "path"
                elif self.schema.is_body_type(base):
                    source = "body"
            if source == "path":
                required = True
            if source not in ("dependency", "security"):
                constraints = constraints + self.type_constraints(ann, base, constraints)
            param = Param(
                name=p.name, source=source, annotation=render(p.annotation) if p.annotation is not None else "",
                type_names=type_names, required=required, default=default_text, constraints=constraints,
                line=p.pos.line, alias=alias, dependency=self.dep_name(dep)[0] if dep is not None else "",
            )
            out.append((param, dep, marker[1] if marker else None))
        return out

    def type_constraints(self, ann: Value | None, base: Value | None, have: tuple[tuple[str, object], ...]
                         ) -> tuple[tuple[str, object], ...]:
        """``pattern``/``max_length`` of the type itself: ``Annotated[str, StringConstraints(...)]``
        (an alias too) or ``constr(...)``, for the keys the parameter's marker did not set."""
        calls = [m for m in (ann.meta if isinstance(ann, VAnnotated) else ()) if isinstance(m, VInst)
                 and ext_name(m.cls) in CON_MARKERS]
        if isinstance(base, VInst) and ext_name(base.cls) in CON_TYPES:
            calls.append(base)
        seen = {k for k, _ in have}
        out = []
        for m in calls:
            if m.call is None:
                continue
            for k, e in m.call.kwargs:
                if k in ("pattern", "regex", "max_length", "min_length") and k not in seen:
                    seen.add(k)
                    out.append((k, self.interp.const(e, m.env or Env(m.site[0]))))
        return tuple(out)

    def marker_constraints(self, m: VInst) -> tuple[tuple[str, object], ...]:
        out = []
        if m.call is None:
            return ()
        for k, e in m.call.kwargs:
            if k in ("gt", "ge", "lt", "le", "max_length", "min_length", "pattern", "regex", "max_items", "min_items",
                     "multiple_of", "include_in_schema", "deprecated", "alias", "convert_underscores"):
                out.append((k, self.interp.const(e, m.env or Env(m.site[0]))))
        return tuple(out)


def _known_library(qualname: str) -> bool:
    """Whether ``qualname`` (a callable of code the analysis does not read) authenticates nobody: one of a
    library known to (``knowledge.NON_AUTH_LIBRARIES``) or of the standard library, or one named for a
    session, the settings, a client (``knowledge.NON_AUTH_DEPENDENCY``)."""
    root = qualname.split(".", 1)[0]
    if root in NON_AUTH_LIBRARIES or root in sys.stdlib_module_names or root == "builtins" \
            or qualname in JWT_HELPER_CLASSES:  # what authenticates is a call on it (``credentials``)
        return True
    return NON_AUTH_DEPENDENCY.fullmatch(qualname.rsplit(".", 1)[-1].lower()) is not None
