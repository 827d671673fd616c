"""FAL510 outbound-request-without-timeout."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls_to, where_label
from fastapi_arch_lint.analysis.libraries import HTTPX_CLIENT_RE, call_label, http_client_kind
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.reach import is_request_reachable, offline_helper
from fastapi_arch_lint.analysis.taint import is_offline_module, is_offline_path
from fastapi_arch_lint.analysis.values import call_value
from fastapi_arch_lint.findings import Edit, Finding, Fix, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.facts import ImportFact
from fastapi_arch_lint.model.paths import is_test_path
from fastapi_arch_lint.model.expr import Compare, Const, FStr, Name, render, walk
from fastapi_arch_lint.rule import Rule, register

HELP = ("pass a timeout on every outbound call (`timeout=10`, or `(3.05, 27)` for connect and read); with httpx "
        "keep its 5 s default or set `httpx.Timeout(10.0)` on the client")


def _script_modules(app: AppModel) -> frozenset[str]:
    """Modules that are command-line programs: they import ``argparse`` and run under
    ``if __name__ == "__main__":``."""
    return frozenset(mod.name for mod in app.modules if mod.name in memo(app, _main_guarded)
                     and any(imp.module == "argparse" for imp in mod.facts.imports))


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


def _route_shapes(app: AppModel) -> frozenset[str]:
    """The project's route paths with each ``{param}`` as ``{}``."""
    return frozenset(re.sub(r"\{[^}]*\}", "{}", r.path).rstrip("/") for r in app.routes)


def _path_texts(fn: Function) -> Iterator[str]:
    """The URL paths ``fn`` spells out in its calls and assignments: ``"/tenants"``, ``f"/tenants/{t}/dbs"``
    as ``/tenants/{}/dbs``."""
    exprs = [*(a for site, _ in fn.calls for a in (*site.call.args, *(v for _, v in site.call.kwargs))),
             *(a.value for a in fn.fact.scope.assigns if a.value is not None)]
    for e in exprs:
        for x in walk(e):
            if isinstance(x, Const) and isinstance(x.value, str) and x.value.startswith("/"):
                yield x.value.rstrip("/")
            elif isinstance(x, FStr):
                # ``f"/tenants/{t}"``, or after the base URL: ``f"{self.base_url}/notes/{note_id}"``
                parts = list(x.parts[1:]) if x.parts and not isinstance(x.parts[0], str) else list(x.parts)
                if parts and isinstance(parts[0], str) and parts[0].startswith("/"):
                    yield "".join(p if isinstance(p, str) else "{}" for p in parts).rstrip("/")


def _client_library(app: AppModel, fn: Function | None) -> str | None:
    """A function no request is shown to run that belongs to the project's own API client (a class, or a
    module, whose code calls at least two of the project's own routes by path: the SDK its users run) or to
    a command-line package (a ``cli``/``_cli`` folder or a ``*_cli`` module): a hang stops the program that
    called it, not a server worker. What it is, else None."""
    if fn is None or is_request_reachable(app, fn):
        return None
    parts = fn.module.split(".")
    if any(p in ("cli", "_cli") or p.endswith("_cli") for p in parts):
        return f"code of the command-line package `{'.'.join(parts[:-1]) or fn.module}`"
    if fn.class_name:
        owners = {fn.class_name, *app.class_bases.get(fn.class_name, ())}
        mates = [f for f in app.functions.values() if f.class_name in owners]
        what = f"a method of `{fn.class_name.rsplit('.', 1)[-1]}`"
    else:
        mates = [f for f in app.functions.values() if f.module == fn.module]
        what = f"a function of `{fn.module}`"
    shapes = memo(app, _route_shapes)
    called = {t for f in mates for t in _path_texts(f)
              if len(t) > 1 and any(s == t or s.endswith(t) for s in shapes)}
    if len(called) >= 2:
        shown = ", ".join(f"`{t}`" for t in sorted(called)[:2])
        return f"{what}, a client of the project's own API (it calls {shown}...)"
    return None


def _absolute(app: AppModel, module: str, imp: ImportFact) -> str:
    """The module a (possibly relative) import in ``module`` names."""
    if imp.level == 0:
        return imp.module
    mod = app.module(module)
    parts = module.split(".") if mod is not None and mod.facts.is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (imp.level - 1)] if imp.level - 1 <= len(parts) else []
    return ".".join([*parts, imp.module] if imp.module else parts)


def _imported(app: AppModel) -> frozenset[str]:
    """The project modules some module outside test code imports (``import a.b``, ``from a import b``, also
    inside a function), each with its packages."""
    out: set[str] = set()
    scopes: dict[str, list[ImportFact]] = {m.name: list(m.facts.imports) for m in app.modules
                                           if not is_test_path(m.path)}
    for fn in app.functions.values():
        if fn.module in scopes:
            scopes[fn.module].extend(fn.fact.scope.imports)
    for module, imports in scopes.items():
        for imp in imports:
            base = _absolute(app, module, imp)
            for name in (base, f"{base}.{imp.name}" if imp.name and base else imp.name or ""):
                parts = name.split(".")
                out.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
    return frozenset(out)


def _main_guarded(app: AppModel) -> frozenset[str]:
    """Modules with an ``if __name__ == "__main__":`` block: run as a program."""
    out = set()
    for mod in app.modules:
        sc = mod.facts.scope
        tests = [b.test for b in sc.blocks if b.kind == "if"]
        tests += [t for c in sc.calls for negated, t in c.conds if not negated]
        if any(_is_main_test(t) for t in tests):
            out.add(mod.name)
    return frozenset(out)


def _standalone_script(app: AppModel, cc: CodeCall) -> str | None:
    """The call is in a standalone script that no request runs: a module no module of the app imports (test
    code aside) and that declares no route, where the call is made by the module's own top-level code (which
    runs when the file is run as a program), or by a function no request is shown to run in a module run
    under ``if __name__ == "__main__":``. What it is, else None."""
    if cc.module in memo(app, _imported) or any(r.handler.module == cc.module for r in app.routes) \
            or any(a.id.split(":", 1)[0] == cc.module for a in app.apps):
        return None
    if cc.function is None:
        return f"top-level code of `{cc.module}`, a script that no module of the app imports"
    if cc.module in memo(app, _main_guarded) and not is_request_reachable(app, cc.function):
        return (f"code of `{cc.module}`, a script run under `if __name__ == \"__main__\":` that no module of the "
                "app imports")
    return None


@register
class OutboundRequestWithoutTimeout(Rule):
    code = "FAL510"
    name = "outbound-request-without-timeout"
    summary = "An outbound HTTP call can wait forever: `requests` without `timeout=`, or `timeout=None`"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "for a literal `timeout=None` on one call (a deliberate choice), and for code "
                                       "of the project's own API client (a class or module that calls the project's routes) or "
                                       "command-line package or standalone script (a module the app does not "
                                       "import) that no route is shown to run"}
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
            library = _client_library(app, cc.function) or _standalone_script(app, cc)
            aside = (f"; but it is {library}, which no route is shown to run: a hang stops the program that uses "
                     "it, not a server worker" if library else "")
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
                    + ", so a slow upstream ties up the worker and the caller's request" + aside,
                    help=HELP, entity=entity, severity=Severity.INFO if library else None,
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
                    + ("; set on this one call it looks deliberate, so make sure the upstream itself bounds the wait" if deliberate else "")
                    + aside,
                    help=HELP, entity=entity, severity=Severity.INFO if deliberate or library else None,
                    # only a literal ``timeout=None`` is replaced: a name bound to None may be meant elsewhere
                    fix=self._fix(cc) if written else None,
                )
