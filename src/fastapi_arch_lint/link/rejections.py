"""How code rejects a request: the status a ``raise`` or a response answers with.

``HTTPException``/``WebSocketException`` with 401/403/1008 (built in place or a module-level instance
raised by name), a project exception whose constructor, class body or exception handler fixes
401/403, an exception of the project's auth module, an auth-named exception, a 401/403 response or
a redirect to a login page.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.model.facts import FunctionFact, GuardFact
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VClass,
    VConst,
    VExt,
    VFunc,
    VInst,
    VParam,
    status_value,
)
from fastapi_arch_lint.model.expr import (
    Attr,
    Call,
    Const,
    DictExpr,
    Expr,
    Name,
    dotted,
)

REJECT_CODES = frozenset({401, 403, 1008})  # 1008: websocket policy violation
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})

_REJECT_EXC_RE = re.compile(
    r"unauthori[sz]ed|forbidden|notauthenticated|authenticationerror|autherror|authenticationfailed|permissiondenied"
    r"|invalidtoken|invalidcredentials|accessdenied|credentialsexception|notallowed", re.I)

_LOGIN_URL_RE = re.compile(r"login|signin|sign-in|/auth", re.I)

# status attributes and constructor parameters of exception classes
_STATUS_NAMES = ("status_code", "status", "http_status", "http_status_code", "code")

# modules that hold a project's authentication: an exception they define is an auth rejection
_AUTH_MODULE_RE = re.compile(r"(^|\.)(auth|authn|authz|authentication|authorization|identity|security|permissions?)(\.|$)")


def _location_header(headers: Expr | None) -> Expr | None:
    """The ``"Location"`` value of a literal ``headers={...}`` dict."""
    if isinstance(headers, DictExpr):
        for k, v in zip(headers.keys, headers.values):
            if isinstance(k, Const) and isinstance(k.value, str) and k.value.lower() == "location":
                return v
    return None


def call_tail(call: Call) -> str:
    f = call.func
    return f.attr if isinstance(f, Attr) else f.id if isinstance(f, Name) else ""


class Rejections:
    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._handlers: dict[str, str] | None = None

    def status_code(self, expr: Expr | None, env: Env) -> int | None:
        if expr is None:
            return None
        v = self.interp.eval(expr, env)
        code = status_value(v)
        if code is None and isinstance(v, VExt):
            tail = v.qualname.rsplit(".", 1)[-1].upper()
            code = {"UNAUTHORIZED": 401, "FORBIDDEN": 403}.get(tail)
        return code

    def in_branch(self, fact: FunctionFact, g: GuardFact, env: Env, off_calls: Collection[int] = (),
                  off_raises: Collection[int] = ()) -> tuple[list[int], list[int], list[str]]:
        """What rejects in the body of ``if`` ``g`` of ``fact``: the indexes of its rejecting raises and
        response calls (into ``fact.raises`` / ``fact.calls``) and what each answers, raises first; those
        in ``off_calls``/``off_raises`` (a branch the call's arguments rule out) left out."""
        raises: list[int] = []
        calls: list[int] = []
        answers: list[str] = []
        for i in g.body_raises:
            if i in off_raises:
                continue
            what = self.of_raise(fact.raises[i].expr, env)
            if what:
                raises.append(i)
                answers.append(what)
        for i in g.body_calls:
            if i in off_calls:
                continue
            what = self.of_response(fact.calls[i].call, env)
            if what:
                calls.append(i)
                answers.append(what)
        return raises, calls, answers

    def denies_all(self, fn: VFunc) -> str | None:
        """What a dependency answers when it rejects every request: its body raises a 401/403 under no
        condition, with no ``return`` or ``yield`` that could end it first (a deny-all gate the
        configuration picks when no credential is configured). Nobody reaches the route through it."""
        fact = fn.fact
        if fact.scope.returns or fact.is_generator:
            return None
        env = fn.env.inner(fact)
        for r in fact.scope.raises:
            if not r.conds:
                what = self.of_raise(r.expr, env)
                if what:
                    return what
        return None

    def of_raise(self, expr: Expr | None, env: Env) -> str | None:
        if expr is None:
            return None
        call = expr if isinstance(expr, Call) else None
        cenv = env
        cls = self.interp.eval(expr.func, env) if call is not None else self.interp.eval(expr, env)
        if isinstance(cls, VFunc) and call is not None:
            # ``raise Denied.as_http_error()``: a project function (or class method) that builds the exception
            made = self.interp.eval(call, env)
            if isinstance(made, VInst):
                cls = made
        if isinstance(cls, VInst):  # ``raise credentials_exception`` bound to ``HTTPException(401)``
            call, cenv, cls = cls.call, cls.env or env, cls.cls
        if not isinstance(cls, (VClass, VExt)):
            name = (dotted(call.func if call is not None else expr) or "").rsplit(".", 1)[-1]
            return f"raises {name}" if name and _REJECT_EXC_RE.search(name) else None
        short = cls.qualname.rsplit(".", 1)[-1]
        if isinstance(cls, VClass):
            # a project exception: its constructor or class body fixes the status it answers with
            code = self._exception_status(cls, call, cenv)
            if code is not None:
                return f"raises {short}({code})" if code in REJECT_CODES else None
        elif call is not None and short in ("HTTPException", "WebSocketException"):
            code = self.status_code(call.arg(0, "code" if "WebSocket" in short else "status_code"), cenv)
            if code in REDIRECT_CODES:
                # ``HTTPException(307, headers={"Location": login_url})``: sent to the login page
                target = self._login_target(_location_header(call.kwarg("headers")), cenv)
                return f"raises {short}({code}) to {target}" if target else None
            return f"raises {short}({code})" if code in REJECT_CODES else None
        elif call is not None and isinstance(cls, VExt):
            # an exception from code the analysis does not read, built with the status it answers with:
            # ``raise ServiceError("...", http_status_code=HTTPStatus.FORBIDDEN)``
            for name in _STATUS_NAMES[:-1]:  # not ``code``: often an error code of the project's own
                code = self.status_code(call.kwarg(name), cenv)
                if code is not None:
                    return f"raises {short}({code})" if code in REJECT_CODES else None
        handled = self._handled(cls)
        if handled is not None:  # an exception handler turns it into a 401/403 response
            return f"raises {short} ({handled})"
        if _REJECT_EXC_RE.search(short):
            return f"raises {short}"
        if isinstance(cls, VClass) and _AUTH_MODULE_RE.search(cls.env.module) and self._is_exception(cls):
            return f"raises {short} (an exception of {cls.env.module})"
        return None

    # -- the status a project exception answers with ------------------------------------------
    def _mro(self, cls: VClass) -> tuple[list[VClass], list[str]]:
        """The project classes of ``cls``'s hierarchy (depth first, bases in order) and its library bases."""
        classes, other = self.interp.hierarchy(cls, limit=16)
        return classes, [b.qualname for b in other if isinstance(b, VExt)]

    def _is_exception(self, cls: VClass) -> bool:
        return any(b.rsplit(".", 1)[-1].endswith(("Exception", "Error")) for b in self._mro(cls)[1])

    def _exception_status(self, cls: VClass, call: Call | None, env: Env) -> int | None:
        """The HTTP status a ``raise`` of the project exception ``cls`` (built by ``call``) answers with, when
        its constructor or class body fixes one: an explicit argument, a class attribute (``status_code =
        401``), a constructor default (``status_code: int = 401``), ``super().__init__(status_code=401)``."""
        classes, ext = self._mro(cls)
        init = next(((c, m) for c in classes if (m := c.fact.method("__init__")) is not None), None)
        if init is not None and call is not None:
            params = [p for p in init[1].params[1:] if p.kind not in ("var_positional", "var_keyword")]
            for i, p in enumerate(params):
                if p.name in _STATUS_NAMES:
                    arg = call.arg(i, p.name) if p.kind != "keyword" else call.kwarg(p.name)
                    if arg is not None:
                        return self.status_code(arg, env)
        init_at = next((i for i, c in enumerate(classes) if init is not None and c is init[0]), len(classes))
        for i, c in enumerate(classes):  # the most derived class attribute, unless a constructor below sets it
            if i > init_at and init is not None and any(p.name in _STATUS_NAMES and p.default is not None
                                                        for p in init[1].params[1:]):
                break
            for n in _STATUS_NAMES:
                f = c.fact.field(n)
                if f is not None and f.value is not None:
                    code = self.status_code(f.value, c.env)
                    if code is not None:
                        return code
        if init is not None:
            c, m = init
            fenv = Env(c.env.module, c.env.functions)
            for p in m.params[1:]:
                if p.name in _STATUS_NAMES and p.default is not None:
                    return self.status_code(p.default, fenv)
            inner = Env(c.env.module, c.env.functions + (m,))
            http_base = any(b.rsplit(".", 1)[-1] in ("HTTPException", "WebSocketException") for b in ext)
            for site in m.calls:
                sc = site.call
                f = sc.func
                if isinstance(f, Attr) and f.attr == "__init__" and isinstance(f.value, Call) \
                        and dotted(f.value.func) == "super":
                    e = sc.kwarg("status_code") or sc.kwarg("code") or (sc.args[0] if http_base and sc.args else None)
                    if e is None:
                        continue
                    v = self.interp.eval(e, inner)
                    if isinstance(v, VParam):
                        p = m.param(v.name)
                        return self.status_code(p.default, fenv) if p is not None and p.default is not None else None
                    return self.status_code(e, inner)
            return None
        if call is not None and any(b.rsplit(".", 1)[-1] in ("HTTPException", "WebSocketException") for b in ext):
            ws = any(b.rsplit(".", 1)[-1] == "WebSocketException" for b in ext)
            return self.status_code(call.arg(0, "code" if ws else "status_code"), env)
        return None

    def _handled(self, cls: VClass | VExt) -> str | None:
        """How an exception handler registered for ``cls`` (or a base class) answers: "handler returns
        JSONResponse(401)", or None."""
        if self._handlers is None:
            self._handlers = self._exception_handlers()
        if not self._handlers:
            return None
        names = [cls.qualname] + ([c.qualname for c in self._mro(cls)[0]] + self._mro(cls)[1]
                                  if isinstance(cls, VClass) else [])
        for n in names:
            if n in self._handlers:
                return self._handlers[n]
        return None

    def _exception_handlers(self) -> dict[str, str]:
        """Exception classes that an exception handler answers with a 401/403 response, project-wide:
        ``@app.exception_handler(Exc)``, ``app.add_exception_handler(Exc, handler)``,
        ``FastAPI(exception_handlers={Exc: handler})``."""
        out: dict[str, str] = {}
        found: list[tuple[Expr, Env, Value]] = []
        for fv, _ in self.interp.all_functions():
            for d in fv.fact.decorators:
                e = d.expr
                if isinstance(e, Call) and isinstance(e.func, Attr) and e.func.attr == "exception_handler" and e.args:
                    found.append((e.args[0], fv.env, fv))
        for scope, env in self.interp.all_scopes():
            for st in scope.calls:
                c = st.call
                if isinstance(c.func, Attr) and c.func.attr == "add_exception_handler" and len(c.args) >= 2:
                    found.append((c.args[0], env, self.interp.eval(c.args[1], env)))
            for a in scope.assigns:
                handlers = a.value.kwarg("exception_handlers") if isinstance(a.value, Call) else None
                if isinstance(handlers, DictExpr):
                    for k, val in zip(handlers.keys, handlers.values):
                        if k is not None:
                            found.append((k, env, self.interp.eval(val, env)))
        for exc_expr, env, handler in found:
            exc = self.interp.eval(exc_expr, env)
            if not isinstance(exc, (VClass, VExt)) or not isinstance(handler, VFunc):
                continue
            codes = self._response_codes(handler)
            if codes and all(c in REJECT_CODES for c in codes):
                out.setdefault(exc.qualname, f"its exception handler `{handler.fact.name}` answers {codes[0]}")
        return out

    def _response_codes(self, fn: VFunc) -> list[int]:
        """The constant status codes of the responses ``fn`` builds (a response without one: 200)."""
        env = Env(fn.env.module, fn.env.functions + (fn.fact,))
        out: list[int] = []
        for site in fn.fact.calls:
            call = site.call
            if not call_tail(call).endswith("Response"):
                continue
            cls = self.interp.eval(call.func, env)
            if not isinstance(cls, (VClass, VExt)) or not cls.qualname.endswith("Response"):
                continue
            short = cls.qualname.rsplit(".", 1)[-1]
            if "Redirect" in short:
                out.append(307)
                continue
            e = call.arg(1, "status_code") if short != "Response" else call.kwarg("status_code")
            code = self.status_code(e, env) if e is not None else 200
            out.append(code if code is not None else 0)
        return out

    def _login_target(self, url: Expr | None, env: Env) -> str | None:
        """The login page a redirect goes to: a constant URL naming it (``"/login"``), or a route looked
        up by a name naming it (``request.url_for("auth:login")``, ``str(...)`` of it); else None."""
        if url is None:
            return None
        if isinstance(url, Call) and call_tail(url) == "str" and url.args:
            url = url.args[0]
        if isinstance(url, Call) and call_tail(url) in ("url_for", "url_path_for"):
            # ``request.url_for("auth:login")``, or a project helper taking the request first
            for arg in url.args[:2]:
                name = self.interp.eval(arg, env)
                if isinstance(name, VConst) and isinstance(name.value, str) and _LOGIN_URL_RE.search(name.value):
                    return f"the route named {name.value!r}"
            return None
        v = self.interp.eval(url, env)
        if isinstance(v, VConst) and isinstance(v.value, str) and _LOGIN_URL_RE.search(v.value):
            return v.value
        return None

    def of_response(self, call: Call, env: Env) -> str | None:
        f = call.func
        tail = f.attr if isinstance(f, Attr) else f.id if isinstance(f, Name) else ""
        if not tail.endswith("Response") and tail not in ("HTTPException", "WebSocketException"):
            return None  # cheap filter before evaluating
        cls = self.interp.eval(f, env)
        if not isinstance(cls, (VClass, VExt)):
            return None
        short = cls.qualname.rsplit(".", 1)[-1]
        if not short.endswith("Response"):
            return None
        if "Redirect" in short:
            target = self._login_target(call.arg(0, "url"), env)
            return f"redirects to {target}" if target else None
        code = self.status_code(call.arg(1, "status_code") if short != "Response" else call.kwarg("status_code"), env)
        return f"returns {short}({code})" if code in REJECT_CODES else None
