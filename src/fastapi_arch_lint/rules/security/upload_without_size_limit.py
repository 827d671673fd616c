"""FAL527 upload-without-size-limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, Const, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related, unique_routes

UPLOAD_TYPES = frozenset({"fastapi.UploadFile", "starlette.datastructures.UploadFile", "fastapi.datastructures.UploadFile"})
# app-level middleware that caps the body size
SIZE_MIDDLEWARE = re.compile(r"(?i)(size|length|limit|bodylimit|maxbody)")


@register
class UploadWithoutSizeLimit(Rule):
    code = "FAL527"
    name = "upload-without-size-limit"
    summary = "A route accepts an uploaded file and never checks its size"
    severity = Severity.WARNING
    cwe = ("CWE-770", "CWE-400")
    owasp = ("API4:2023",)
    security_severity = 5.3
    default_options = {"size-checks": []}

    def check(self, app: AppModel) -> Iterator[Finding]:
        checkers = [c.lower() for c in self.options["size-checks"]]
        capped_apps = {a.id for a in app.apps if any(SIZE_MIDDLEWARE.search(m.name.rsplit(".", 1)[-1]) for m in a.middleware)}
        for route in unique_routes(app):
            if route.kind != "http" or route.app in capped_apps:
                continue
            uploads = [p for p in route.params if p.source == "file" or set(p.type_names) & UPLOAD_TYPES]
            if not uploads:
                continue
            if self._checked(app, route, checkers):
                continue
            names = ", ".join(f"`{p.name}`" for p in uploads)
            p = uploads[0]
            yield self.finding(
                route.handler.path, p.line or route.handler.line, 1,
                f"`{route.display()}` accepts the upload {names} and never checks its size: a client can send "
                f"gigabytes that the server spools to disk and reads into memory",
                help="reject large files before reading them: check `file.size` (or the `Content-Length` header) "
                     "against a limit and raise `HTTPException(413)`, or read in bounded chunks and stop past the "
                     "limit; also cap the body size at the proxy (`client_max_body_size`)",
                related=route_related(route), entity=route_entity(route),
            )

    @staticmethod
    def _functions(app: AppModel, route: Route) -> Iterator[Function]:
        fn = app.function(route.handler.qualname)
        if fn is not None:
            yield fn
            for callee, _, _, _ in app.callees(fn.qualname, depth=2):
                yield callee
        for d in route.dependencies:
            dep = app.function(d.name)
            if dep is not None:
                yield dep

    def _checked(self, app: AppModel, route: Route, checkers: list[str]) -> bool:
        for fn in self._functions(app, route):
            f = fn.fact
            if any(a.endswith(".size") or a.endswith("content_length") for a in f.attributes):
                return True
            if any(key.lower() == "content-length" for _, key in f.subscripts):
                return True
            for c in f.compares:
                if render(c.left).startswith("len(") or render(c.right).startswith("len("):
                    return True
            for site, target in fn.calls:
                call = site.call
                if any(isinstance(a, Const) and isinstance(a.value, str) and a.value.lower() == "content-length" for a in call.args):
                    return True
                func = call.func
                # a bounded read: ``await file.read(1024 * 1024)``
                if isinstance(func, Attr) and func.attr in ("read", "readexactly") and (call.args or call.kwargs):
                    return True
                name = (target or render(func)).lower()
                if checkers and any(c in name for c in checkers):
                    return True
        return False
