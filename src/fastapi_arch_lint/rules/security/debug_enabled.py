"""FAL508 debug-enabled."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import is_test_path, iter_calls_to, iter_scopes, where_label
from fastapi_arch_lint.analysis.values import call_value, instance_of
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Const, Name, render
from fastapi_arch_lint.rule import Rule, register

APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.Starlette",
                         "starlette.applications.Starlette"})
HELP = ("leave `debug` off in code (the default) and never turn it on from a default value: tracebacks with "
        "source and local variables are served to any client whose request fails")


@register
class DebugEnabled(Rule):
    code = "FAL508"
    name = "debug-enabled"
    summary = "The app is built with `debug=True` (tracebacks are served to clients)"
    severity = Severity.WARNING
    cwe = ("CWE-489",)
    owasp = ("API8:2023",)
    security_severity = 5.3

    def is_app_class(self, app: AppModel, name: str | None) -> bool:
        if not name:
            return False
        return name in APP_CLASSES or any(app.is_subclass(name, c) for c in APP_CLASSES)

    def check(self, app: AppModel) -> Iterator[Finding]:
        for cc in iter_calls_to(app, lambda target: self.is_app_class(app, target)):
            expr = cc.call.kwarg("debug")
            if expr is None or call_value(app, cc, expr) is not True:
                continue
            literal = isinstance(expr, Const)
            via = "" if literal else f" (`{render(expr)}` is `True` unless the environment overrides it)"
            yield self.finding(
                cc.path, cc.line, cc.col,
                f"`{cc.target.rsplit('.', 1)[-1]}(debug={render(expr)})` in {where_label(cc.function, cc.module)}"
                f" turns debug mode on{via}: unhandled errors answer with a full traceback",
                help=HELP,
                entity=f"{cc.function.qualname if cc.function else cc.module}:debug",
                confidence=Confidence.HIGH if literal else Confidence.MEDIUM,
            )
        # ``app.debug = True``
        for mod, scope, fn in iter_scopes(app):
            if is_test_path(mod.path):
                continue
            for a in scope.assigns:
                if not a.target.endswith(".debug") or not (isinstance(a.value, Const) and a.value.value is True):
                    continue
                base = a.target[: -len(".debug")]
                if "." in base:
                    continue
                if not self.is_app_class(app, instance_of(app, Name(base), mod.name, fn, a.pos.line)):
                    continue
                yield self.finding(
                    mod.path, a.pos.line, a.pos.col,
                    f"`{a.target} = True` in {where_label(fn, mod.name)}: unhandled errors answer with a full traceback",
                    help=HELP,
                    entity=f"{fn.qualname if fn else mod.name}:{a.target}",
                )
