"""FAL527 upload-without-size-limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, Const, render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, route_related, unique_routes

UPLOAD_TYPES = frozenset({"fastapi.UploadFile", "starlette.datastructures.UploadFile", "fastapi.datastructures.UploadFile"})
# app-level middleware that caps the body size
SIZE_MIDDLEWARE = re.compile(r"(?i)(size|length|limit|bodylimit|maxbody)")
# a call handed a limit: ``save_upload(file, max_bytes=MAX)``, ``copy_limited(src, dst, limit=...)``
LIMIT_KEYWORD = re.compile(r"(?i)^(max_?(file_?|body_?|content_?|upload_?)?(size|bytes)|size_?limit|byte_?limit)$")


@register
class UploadWithoutSizeLimit(Rule):
    code = "FAL527"
    name = "upload-without-size-limit"
    summary = "A route accepts an uploaded file and never checks its size"
    severity = Severity.WARNING
    # the absence of a check is inferred (the handler, three levels of calls, its dependencies,
    # the middleware); a proxy's body cap is invisible
    confidence = Confidence.MEDIUM
    other_severities = {Severity.INFO: "when only administrators can call the route"}
    cwe = ("CWE-770", "CWE-400")
    owasp = ("API4:2023",)
    security_severity = 5.3
    default_options = {"size-checks": []}

    def check(self, app: AppModel) -> Iterator[Finding]:
        checkers = [c.lower() for c in self.options["size-checks"]]
        capped_apps = {a.id for a in app.apps if any(self._capping_middleware(app, m.name, checkers) for m in a.middleware)}
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
            in_memory = any("builtins.bytes" in q.type_names for q in uploads)
            cost = "FastAPI reads into memory before the handler runs" if in_memory else \
                "the server spools to disk (and into memory if the handler reads it whole)"
            yield self.finding(
                route.handler.path, p.line or route.handler.line, 1,
                f"`{route.display()}` accepts the upload {names} and nothing on its path checks the size: a "
                f"client can send gigabytes that {cost}"
                + (f"; only administrators can call it ({route.privileged})" if route.privileged else ""),
                help="reject large files before reading them: check `file.size` (or the `Content-Length` header) "
                     "against a limit and raise `HTTPException(413)`, or read in bounded chunks and stop past the "
                     "limit; also cap the body size at the proxy (`client_max_body_size`)",
                related=route_related(route), entity=route_entity(route),
                severity=Severity.INFO if route.privileged else None,
            )

    @staticmethod
    def _functions(app: AppModel, route: Route) -> Iterator[Function]:
        fn = app.function(route.handler.qualname)
        if fn is not None:
            yield fn
            for callee, _, _, _ in app.callees(fn.qualname, depth=3):
                yield callee
        for d in route.dependencies:
            dep = app.function(d.name)
            if dep is not None:
                yield dep

    def _capping_middleware(self, app: AppModel, name: str, checkers: list[str]) -> bool:
        """A middleware named for a size limit, or a project middleware (a function, or a class's
        methods) whose code checks a size: ``Content-Length``, a counted body, ``len()``."""
        if SIZE_MIDDLEWARE.search(name.rsplit(".", 1)[-1]):
            return True
        fns = [fn for q, fn in app.functions.items() if q == name or q.startswith(name + ".")]
        return any(self._checks_size(fn, checkers) for fn in fns)

    def _checked(self, app: AppModel, route: Route, checkers: list[str]) -> bool:
        return any(self._checks_size(fn, checkers) for fn in self._functions(app, route))

    @staticmethod
    def _checks_size(fn: Function, checkers: list[str]) -> bool:
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
            if any(isinstance(a, Const) and isinstance(a.value, (str, bytes)) and
                   (a.value.decode("latin-1") if isinstance(a.value, bytes) else a.value).lower() == "content-length"
                   for a in call.args):
                return True
            func = call.func
            # a bounded read: ``await file.read(1024 * 1024)``
            if isinstance(func, Attr) and func.attr in ("read", "readexactly") and (call.args or call.kwargs):
                return True
            # the size found by seeking to the end: ``upload.file.tell()``
            if isinstance(func, Attr) and func.attr == "tell":
                return True
            # a helper handed a limit: ``save_upload(upload, dest, max_bytes=MAX_BYTES)``
            if any(LIMIT_KEYWORD.match(k) for k, _ in call.kwargs):
                return True
            name = (target or render(func)).lower()
            if checkers and any(c in name for c in checkers):
                return True
        return False
