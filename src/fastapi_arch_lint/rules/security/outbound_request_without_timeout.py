"""FAL510 outbound-request-without-timeout."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls_to, where_label
from fastapi_arch_lint.analysis.libraries import HTTPX_CLIENT_RE, call_label, http_client_kind
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.reach import is_request_reachable, offline_helper
from fastapi_arch_lint.analysis.taint import is_offline_module, is_offline_path
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Edit, Finding, Fix, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import Compare, Const, Name, render
from fastapi_arch_lint.rule import Rule, register

HELP = ("pass a timeout on every outbound call (`timeout=10`, or `(3.05, 27)` for connect and read); with httpx "
        "keep its 5 s default or set `httpx.Timeout(10.0)` on the client")


def _script_modules(app: AppModel) -> frozenset[str]:
    """Modules that are command-line programs: they import ``argparse`` and run under
    ``if __name__ == "__main__":``."""
    out = set()
    for mod in app.modules:
        if not any(imp.module == "argparse" for imp in mod.facts.imports):
            continue
        sc = mod.facts.scope
        tests = [b.test for b in sc.blocks if b.kind == "if"]
        tests += [t for c in sc.calls for negated, t in c.conds if not negated]
        if any(_is_main_test(t) for t in tests):
            out.add(mod.name)
    return frozenset(out)


def _is_main_test(t: object) -> bool:
    return isinstance(t, Compare) and isinstance(t.left, Name) and t.left.id == "__name__" \
        and isinstance(t.right, Const) and t.right.value == "__main__"


def _wanted(target: str | None) -> bool:
    """The targets of the calls ``check`` looks at (``iter_calls_to`` skips the others)."""
    return target == "httpx.Timeout" or http_client_kind(target) not in (None, "aiohttp")


def _is_stream(cc: CodeCall) -> bool:
    """httpx's streaming calls (``client.stream(...)``, ``httpx.stream(...)``, ``client.send(..., stream=True)``):
    a response read as it arrives, such as server-sent events or a long poll, which may idle for as long as
    the upstream has nothing to say."""
    target = cc.target or ""
    if target.endswith(".stream") or target == "httpx.stream":
        return True
    flag = cc.call.kwarg("stream")
    return target.endswith(".send") and isinstance(flag, Const) and flag.value is True


@register
class OutboundRequestWithoutTimeout(Rule):
    code = "FAL510"
    name = "outbound-request-without-timeout"
    summary = "An outbound HTTP call can wait forever: `requests` without `timeout=`, or `timeout=None`"
    severity = Severity.WARNING
    cwe = ("CWE-400",)
    owasp = ("API4:2023", "API10:2023")
    security_severity = 5.3
    # the timeout ``--fix --unsafe-fixes`` writes (seconds); None: no fix
    default_options = {"fix_timeout": 10}

    def _fix(self, cc: CodeCall) -> Fix | None:
        """``timeout=<fix_timeout>`` on the call: unsafe, a call slower than that now fails."""
        seconds = self.options.get("fix_timeout")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds <= 0:
            return None
        value = repr(seconds)
        return Fix(f"add `timeout={value}`",
                   (Edit("keyword", cc.path, cc.line, cc.col, "timeout", value, callee=render(cc.call.func)),),
                   safe=False)

    def check(self, app: AppModel) -> Iterator[Finding]:
        for cc in iter_calls_to(app, _wanted):
            if not cc.target or is_offline_path(cc.path) or (
                    cc.function is not None and is_offline_module(app, cc.function)):
                continue  # a script or CLI command has no worker and no caller to hold up
            if cc.module in memo(app, _script_modules) and (
                    cc.function is None or not is_request_reachable(app, cc.function)):
                continue  # an ``argparse`` script run as ``python -m ...``, which no request runs
            if cc.function is not None and offline_helper(
                    app, cc.function, lambda f: is_offline_module(app, f) or f.module in memo(app, _script_modules)):
                continue  # a helper that only CLI commands or scripts call: a hang stops the command, not a request
            where = where_label(cc.function, cc.module)
            entity = f"{cc.function.qualname if cc.function else cc.module}:{cc.target}"
            kind = http_client_kind(cc.target)
            label = call_label(cc.target)
            if cc.target == "httpx.Timeout":
                if cc.call.args and isinstance(cc.call.args[0], Const) and cc.call.args[0].value is None \
                        and not cc.call.kwargs:
                    yield self.finding(
                        cc.path, cc.line, cc.col,
                        f"`httpx.Timeout(None)` in {where} disables every timeout: a stalled upstream holds the "
                        "request (and its worker) forever",
                        help=HELP, entity=entity,
                    )
                continue
            if kind is None or kind == "aiohttp":
                continue
            index = 2 if kind == "urllib" else None
            expr = cc.call.arg(index, "timeout") if index is not None else cc.call.kwarg("timeout")
            if expr is None:
                if kind == "httpx" or cc.call.starred:
                    continue  # httpx defaults to 5 s; ``**kwargs`` may carry the timeout
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{label}(...)` in {where} has no `timeout=`: "
                    + ("`requests` waits forever by default" if kind == "requests" else
                       "`urlopen` waits forever unless a global socket timeout is set")
                    + ", so a slow upstream ties up the worker and the caller's request",
                    help=HELP, entity=entity,
                    fix=self._fix(cc) if kind != "urllib" or len(cc.call.args) < 3 else None,
                )
            elif call_value(app, cc, expr) is None:
                written = isinstance(cc.call.kwarg("timeout"), Const)
                if written and _is_stream(cc):
                    continue  # a subscription or event stream is meant to stay open: no timeout is the design
                # a literal ``timeout=None`` on the one call (not on a client, where it covers every call) is a
                # decision about that call, such as a payment the upstream may settle after any timeout we pick
                deliberate = written and not HTTPX_CLIENT_RE.fullmatch(cc.target)
                yield self.finding(
                    cc.path, cc.line, cc.col,
                    f"`{label}(..., timeout=None)` in {where} waits forever for a slow upstream"
                    + ("; set on this one call it looks deliberate, so make sure the upstream itself bounds the wait" if deliberate else ""),
                    help=HELP, entity=entity, severity=Severity.INFO if deliberate else None,
                    # only a literal ``timeout=None`` is replaced: a name bound to None may be meant elsewhere
                    fix=self._fix(cc) if written else None,
                )
