"""FAL521 command-injection."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.taint import call_arg, contexts
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Const, Expr
from fastapi_arch_lint.model.facts import CallSite
from fastapi_arch_lint.rule import Rule, register

# always run their argument through ``/bin/sh -c``
SHELL_CALLS = frozenset({
    "os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput", "asyncio.create_subprocess_shell",
    "asyncio.subprocess.create_subprocess_shell", "commands.getoutput", "commands.getstatusoutput",
})
# run a shell only with ``shell=True``
SUBPROCESS_CALLS = frozenset({
    "subprocess.run", "subprocess.call", "subprocess.check_call", "subprocess.check_output", "subprocess.Popen",
    "anyio.run_process", "anyio.open_process",
})

HELP = ("pass the command as a list of arguments without a shell (`subprocess.run([\"convert\", path, out], check=True)`), "
        "validate the value against an allowlist, or quote it with `shlex.quote()`; never build a shell line from request data")


def command_sink(site: CallSite, target: str | None) -> tuple[Expr, str] | None:
    call = site.call
    name = target or ""
    if name in SHELL_CALLS:
        arg = call_arg(call, 0, "cmd", "command")
        return (arg, f"`{name}()`") if arg is not None else None
    if name in SUBPROCESS_CALLS:
        shell = call.kwarg("shell")
        if shell is None or (isinstance(shell, Const) and not shell.value):
            return None
        arg = call_arg(call, 0, "args", "cmd", "command")
        return (arg, f"`{name}(..., shell=True)`") if arg is not None else None
    return None


@register
class CommandInjection(Rule):
    code = "FAL521"
    name = "command-injection"
    summary = "A shell command (`os.system`, `subprocess` with `shell=True`) is built from request data"
    severity = Severity.ERROR
    confidence = Confidence.HIGH
    cwe = ("CWE-78",)
    owasp = ("API8:2023", "A03:2021")
    security_severity = 9.8

    def check(self, app: AppModel) -> Iterator[Finding]:
        reported: set[tuple[str, int, int]] = set()
        for ctx in contexts(app):
            flow = ctx.flow
            for site, target in ctx.function.calls:
                sink = command_sink(site, target)
                if sink is None:
                    continue
                arg, label = sink
                key = (ctx.function.path, site.pos.line, site.pos.col)
                src = flow.taint(arg, site.pos.line, "command")
                if src is None or key in reported:
                    continue
                reported.add(key)
                where = "" if not ctx.trail else f" in `{ctx.function.qualname.rsplit('.', 1)[-1]}`"
                yield self.finding(
                    ctx.function.path, site.pos.line, site.pos.col,
                    f"the command run by {label}{where} is built from {src.text()} of `{ctx.route.display()}`: "
                    f"shell metacharacters in it run arbitrary commands",
                    help=HELP, related=ctx.related(), entity=ctx.entity(),
                    end_line=site.pos.end_line, end_col=site.pos.end_col,
                )
