"""FAL405 dependencies-as-handler-parameter."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Edit, Finding, Fix, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.model.expr import Call, Seq, render
from fastapi_arch_lint.model.facts import ParamFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import own_decorator, route_entity, unique_routes
from fastapi_arch_lint.rules.auth._common import dependency_functions, func_name, handler_name


def _markers(seq: Seq) -> list[str]:
    return [render(i) for i in seq.items if isinstance(i, Call) and func_name(i) in ("Depends", "Security")]


def _fix(app: AppModel, route: Route, param: ParamFact) -> Fix | None:
    """Move the parameter's list into the route decorator's ``dependencies=``. Unsafe: the dependencies
    run from now on (a request they reject is rejected), and the ``dependencies`` query parameter
    leaves the OpenAPI document. Only for a handler registered once, by a decorator of its own that
    has no ``dependencies=`` yet and no ``**options``."""
    at = route.registered
    if sum(1 for r in unique_routes(app) if r.handler.qualname == route.handler.qualname) != 1:
        return None
    call = own_decorator(route)
    if call is None or call.starred or call.kwarg("dependencies") is not None:
        return None
    return Fix("move `dependencies=[...]` from the handler's parameters to its route decorator",
               (Edit("move-to-decorator", route.handler.path, param.pos.line, param.pos.col, "dependencies",
                     to_line=at.line),),
               safe=False)


@register
class DependenciesAsHandlerParameter(Rule):
    code = "FAL405"
    name = "dependencies-as-handler-parameter"
    summary = "`dependencies=[Depends(...)]` written as a function parameter: FastAPI never runs those dependencies"
    severity = Severity.ERROR
    cwe = ("CWE-285",)
    owasp = ("API5:2023",)
    security_severity = 8.8

    def check(self, app: AppModel) -> Iterator[Finding]:
        seen: set[tuple[str, int]] = set()
        for route in unique_routes(app):
            functions = [(route.handler.path, route.handler.fact, handler_name(route), True)]
            functions += [(f.path, f.fact, f.qualname.rsplit(".", 1)[-1], False)
                          for f in dependency_functions(app, route)]
            for path, fact, name, is_handler in functions:
                for p in fact.params:
                    if p.name != "dependencies" or not isinstance(p.default, Seq):
                        continue
                    if p.default.kind not in ("list", "tuple"):
                        continue
                    key = (path, p.pos.line)
                    if key in seen:
                        continue
                    seen.add(key)
                    deps = _markers(p.default)
                    what = ", ".join(f"`{d}`" for d in deps) if deps else f"`{render(p.default)}`"
                    where = f"handler `{name}`" if is_handler else f"dependency `{name}` (used by `{route.display()}`)"
                    yield self.finding(
                        path, p.pos.line, p.pos.col,
                        f"{where} declares `dependencies={render(p.default)}` as a parameter: FastAPI reads it as a "
                        f"query parameter and never runs {what}",
                        help="move it into the route decorator: `@router.delete(\"/...\", dependencies=[Depends(...)])`, "
                             "or declare a real parameter `user: Annotated[User, Depends(get_current_user)]`",
                        related=[Related(route.registered.path, route.registered.line,
                                         f"`{route.display()}` registered here")],
                        entity=f"{route_entity(route)} {name}.dependencies",
                        fix=_fix(app, route, p) if is_handler else None,
                    )
