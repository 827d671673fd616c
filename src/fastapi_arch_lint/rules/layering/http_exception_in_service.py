"""FAL802 http-exception-in-service."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.reach import caller_outside_requests
from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import raised_http_exceptions
from fastapi_arch_lint.rules.layering._common import LAYER_MODULES, in_layer, layer_prefixes

# packages of the HTTP layer: a ``*_service`` module inside one is a helper of the routes (it may
# speak HTTP), not the service layer
HTTP_PACKAGES = frozenset({"routes", "routers", "router", "controllers", "controller", "endpoints", "views",
                           "api", "handlers", "dependencies", "deps", "web", "http"})

# the status of an auth rejection as ``raised_http_exceptions`` renders it: ``401``, ``status.HTTP_403_FORBIDDEN``
AUTH_STATUS = re.compile(r"^40[13]$|HTTP_40[13]_")


def auth_modules(app: AppModel) -> set[str]:
    """Modules that define a dependency on some route's auth chain (the dependency that reads and checks
    the caller's credential, and the ones above it that pass the caller on): the auth edge of the API."""
    out: set[str] = set()
    for route in app.iter_routes():
        chain = {n for v in route.auth.via if v.kind in ("dependency", "scheme") for n in v.chain}
        if not chain:
            continue
        for dep in route.dependencies:
            fn = app.functions.get(dep.name)
            if fn is not None and dep.name.rsplit(".", 1)[-1] in chain:
                out.add(fn.module)
    return out


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
        auth_edge = auth_modules(app)
        for qualname, fn in sorted(app.functions.items()):
            layer = in_layer(fn.module, layers)
            if layer is None or qualname in handlers or qualname in deps:
                continue
            if any(seg in HTTP_PACKAGES for seg in layer.split(".")[:-1]):
                continue  # ``app/routes/user_service.py``: a helper of the routes next to it
            raised = [(line, col, exc, status) for line, col, exc, status in raised_http_exceptions(app, fn)
                      # a module that authenticates the routes (``services/auth.py`` holding the
                      # ``get_current_user`` dependency and the helpers it calls): rejecting a caller
                      # with 401/403 is what it is for, at the HTTP edge, not business logic
                      if not (fn.module in auth_edge and AUTH_STATUS.search(status))]
            if not raised:
                continue
            at = {(line, col) for line, col, _, _ in raised}
            outside = caller_outside_requests(app, fn, raises=frozenset(
                i for i, r in enumerate(fn.fact.raises) if (r.pos.line, r.pos.col) in at))
            if outside:
                why = (f"and `{_short(outside[0])}` ({outside[1]}; no request is shown to run it) calls it: "
                       "there the exception means nothing")
            else:
                why = ("nothing but code a request runs is seen calling it, yet the business logic now speaks "
                       "HTTP and cannot be reused from jobs, CLIs or other transports")
            # one function that speaks HTTP is one finding, at its first raise, the others related
            line, col, exc, status = raised[0]
            shown = list(dict.fromkeys(f"{e}({st})" if st else e for _, _, e, st in raised))
            more = ""
            if len(raised) > 1:
                more = f" ({len(raised)} raises" + (f": `{'`, `'.join(shown)}`" if len(shown) > 1 else "") + ")"
            yield self.finding(
                fn.path, line, col,
                f"`{fn.fact.qualname}` in the service layer (`{fn.module}`) raises `{shown[0]}`{more}, {why}",
                severity=None if outside else Severity.INFO,
                help="raise a domain exception (`ItemNotFound`, `OutOfStock`) and translate it to a response "
                     "once, in an `@app.exception_handler(...)` or in the route handler",
                related=tuple(Related(fn.path, ln, f"raises `{e}({st})`" if st else f"raises `{e}`")
                              for ln, _, e, st in raised[1:]),
                entity=f"{qualname}:{exc}:{status}",
            )
