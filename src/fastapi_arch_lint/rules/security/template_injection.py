"""FAL531 template-injection."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.taint import call_arg
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Attr, Expr, render
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import traced_sinks, where_in

# the template SOURCE is their first argument (the render context is not a sink)
TEMPLATE_CLASSES = {
    "jinja2.Template": "source", "jinja2.environment.Template": "source",
    "mako.template.Template": "text", "chameleon.PageTemplate": "body",
    "chameleon.zpt.template.PageTemplate": "body",
}
# environments whose ``from_string`` compiles the text into Python code (the sandbox is left out:
# it is the documented way to render templates users write)
ENVIRONMENTS = ("jinja2.Environment().", "jinja2.environment.Environment().", "fastapi.templating.Jinja2Templates().env.",
                "starlette.templating.Jinja2Templates().env.")

# an object the linker does not resolve, named like a template environment (``self.jinja_env``, ``templates.env``)
ENV_NAMES = re.compile(r"(?i)env|jinja|templat")

HELP = ("never compile a template from request text: render a template the server owns and pass the "
        "client's value as a context variable (`env.get_template(\"note.html\").render(note=text)`); if users "
        "must write templates, compile them in `jinja2.sandbox.SandboxedEnvironment`")


def template_sinks(site: CallSite, target: str | None) -> list[tuple[Expr, str]]:
    call = site.call
    name = target or ""
    kw = TEMPLATE_CLASSES.get(name)
    if kw is not None:
        arg = call_arg(call, 0, kw)
        return [(arg, f"`{name.rsplit('.', 1)[-1]}()`")] if arg is not None else []
    if isinstance(call.func, Attr) and call.func.attr == "from_string" and (
            name.startswith(ENVIRONMENTS) or not target and ENV_NAMES.search(render(call.func.value, 80))):
        arg = call_arg(call, 0, "source")
        return [(arg, "`from_string()`")] if arg is not None else []
    return []


@register
class TemplateInjection(Rule):
    code = "FAL531"
    name = "template-injection"
    summary = "A Jinja2 or Mako template is compiled from request data (server-side template injection)"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when the environment whose `from_string()` is called is not resolved"}
    confidence = Confidence.HIGH
    cwe = ("CWE-1336", "CWE-94")
    owasp = ("API8:2023", "A03:2021")
    security_severity = 9.8

    def check(self, app: AppModel) -> Iterator[Finding]:
        for t in traced_sinks(app, template_sinks, "template"):
            unsure = not t.target
            yield t.finding(self, f"{t.label}{where_in(t.ctx)} compiles a template from {t.src.text()} of "
                                  f"`{t.ctx.route.display()}`: template syntax "
                                  f"(`{{{{ cycler.__init__.__globals__.os.popen('id').read() }}}}`) runs code on the server",
                            HELP, severity=Severity.WARNING if unsure else None,
                            confidence=Confidence.MEDIUM if unsure else None)
