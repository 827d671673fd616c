"""FAL802 http-exception-in-service."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.reach import caller_outside_requests
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Call, Const, Name, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.layering._common import LAYER_MODULES, in_layer, layer_prefixes

# packages of the HTTP layer: a ``*_service`` module inside one is a helper of the routes (it may
# speak HTTP), not the service layer
HTTP_PACKAGES = frozenset({"routes", "routers", "router", "controllers", "controller", "endpoints", "views",
                           "api", "handlers", "dependencies", "deps", "web", "http"})

HTTP_EXCEPTIONS = frozenset({"fastapi.HTTPException", "fastapi.exceptions.HTTPException",
                             "starlette.exceptions.HTTPException", "starlette.HTTPException"})


def is_http_exception(app: AppModel, target: str | None) -> bool:
    if not target:
        return False
    return target in HTTP_EXCEPTIONS or any(b in HTTP_EXCEPTIONS for b in app.class_bases.get(target, ()))


def raised_http_exceptions(app: AppModel, fn: Function) -> Iterator[tuple[int, int, str, str]]:
    """``(line, col, exception class, status)`` of each ``raise`` of an HTTPException in ``fn``."""
    by_pos = {(site.call.line, site.call.col): (site, target) for site, target in fn.calls}
    assigned = {site.assigned_to: (site, target) for site, target in fn.calls if site.assigned_to}
    for r in fn.fact.raises:
        entry = None
        if isinstance(r.expr, Call):
            entry = by_pos.get((r.expr.line, r.expr.col))
        elif isinstance(r.expr, Name):
            entry = assigned.get(r.expr.id)  # ``exc = HTTPException(...)`` ... ``raise exc``
        if entry is None or not is_http_exception(app, entry[1]):
            continue
        site, target = entry
        # a project subclass has its own signature: its first argument is not the status
        status = site.call.arg(0, "status_code") if target in HTTP_EXCEPTIONS else site.call.kwarg("status_code")
        code = ""
        if isinstance(status, Const) and isinstance(status.value, int):
            code = str(status.value)
        elif status is not None:
            code = render(status, 40)
        yield r.pos.line, r.pos.col, target.rsplit(".", 1)[-1] if target else "HTTPException", code


def _short(qualname: str) -> str:
    """``pkg.jobs.Importer.run`` -> ``Importer.run`` when the second-last part is a class, else ``run``."""
    parts = qualname.split(".")
    return ".".join(parts[-2:]) if len(parts) > 1 and parts[-2][:1].isupper() else parts[-1]


@register
class HttpExceptionInService(Rule):
    code = "FAL802"
    name = "http-exception-in-service"
    summary = "A service/repository function raises `HTTPException`, tying business logic to HTTP"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when only code a request runs is seen calling the function: the reuse the "
                                       "rule protects is then still hypothetical"}
    default_options = {"layer-modules": LAYER_MODULES}

    def check(self, app: AppModel) -> Iterator[Finding]:
        prefixes = layer_prefixes(app, self.options["layer-modules"])
        if not prefixes:
            return
        layers = frozenset(prefixes)
        handlers = {r.handler.qualname for r in app.iter_routes()}
        deps = {d.name for r in app.iter_routes() for d in r.dependencies}
        for qualname, fn in sorted(app.functions.items()):
            layer = in_layer(fn.module, layers)
            if layer is None or qualname in handlers or qualname in deps:
                continue
            if any(seg in HTTP_PACKAGES for seg in layer.split(".")[:-1]):
                continue  # ``app/routes/user_service.py``: a helper of the routes next to it
            outside: tuple[str, str] | None | bool = False  # looked up at the first raise: most functions have none
            for line, col, exc, status in raised_http_exceptions(app, fn):
                if outside is False:
                    outside = caller_outside_requests(app, fn)
                shown = f"{exc}({status})" if status else exc
                if outside:
                    why = (f"and `{_short(outside[0])}` ({outside[1]}; no request is shown to run it) calls it: "
                           "there the exception means nothing")
                else:
                    why = ("nothing but code a request runs is seen calling it, yet the business logic now speaks "
                           "HTTP and cannot be reused from jobs, CLIs or other transports")
                yield self.finding(
                    fn.path, line, col,
                    f"`{fn.fact.qualname}` in the service layer (`{fn.module}`) raises `{shown}`, {why}",
                    severity=None if outside else Severity.INFO,
                    help="raise a domain exception (`ItemNotFound`, `OutOfStock`) and translate it to a response "
                         "once, in an `@app.exception_handler(...)` or in the route handler",
                    entity=f"{qualname}:{exc}:{status}",
                )
