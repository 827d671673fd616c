"""Which values sign or verify: keys passed to JWT, HMAC, itsdangerous, Fernet or a session middleware,
directly or through project functions that pass a parameter on to one (FAL504).

A settings field (``settings.SECRET``, ``get_settings().SECRET``, ``self.SECRET``) is followed by its
attribute name to where the project reads it and what that read feeds: a development default of a
key that signs or verifies lets anyone forge tokens or sessions wherever it is not overridden, while
a development password of the developer's own database only opens that database.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_arch_lint.analysis.calls import CodeCall, iter_calls, where_label
from fastapi_arch_lint.analysis.libraries import jwt_decode_library, jwt_encode_library, short_target
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.names import words
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.paths import is_test_path
from fastapi_arch_lint.model.expr import Attr, Call, Compare, Const, Expr, Name, Seq, dotted, walk

# calls whose argument is a signing or encryption key
KEY_ARGS = {
    "hmac.new": (0, "key"),
    "hmac.digest": (0, "key"),
    "itsdangerous.URLSafeTimedSerializer": (0, "secret_key"),
    "itsdangerous.URLSafeSerializer": (0, "secret_key"),
    "itsdangerous.TimedSerializer": (0, "secret_key"),
    "itsdangerous.Serializer": (0, "secret_key"),
    "itsdangerous.TimestampSigner": (0, "secret_key"),
    "itsdangerous.Signer": (0, "secret_key"),
    "cryptography.fernet.Fernet": (0, "key"),
}
# keyword arguments that are a signing key when the call is a signer (``SessionMiddleware(secret_key=)``,
# CSRF protection, ``JWTStrategy(secret=)``); an object store client's ``secret_key=`` is a password
KEY_KWARGS = ("secret_key", "secret", "signing_key", "signing_secret", "jwt_secret")
SIGNER_CALLS = re.compile(r"Middleware|Csrf|CSRF|Session|Serializer|Signer|JWT|Jwt|Token|Strategy|Cookie")


@dataclass(frozen=True, slots=True)
class KeyUse:
    """Where a value is used as a key: the sink as written, and the function it is in."""

    sink: str
    where: str
    path: str
    line: int


def direct_key(cc: CodeCall) -> tuple[Expr, str] | None:
    """The key argument of a call that signs, verifies or encrypts with it, and the call's label."""
    call, target = cc.call, cc.target
    if jwt_encode_library(target) or jwt_decode_library(target):
        key = call.arg(1, "key")
        return (key, short_target(target)) if key is not None else None  # type: ignore[arg-type]
    if target in KEY_ARGS:
        key = call.arg(*KEY_ARGS[target])
        return (key, short_target(target)) if key is not None else None
    for name in KEY_KWARGS:
        v = call.kwarg(name)
        if v is not None:
            label = dotted(call.func) or (short_target(target) if target else "call")
            if label.endswith("add_middleware") and call.args:
                label = dotted(call.args[0]) or label
            if SIGNER_CALLS.search(label.rsplit(".", 1)[-1]):
                return v, f"{label}({name}=)"
    return None


def _value_root(expr: Expr | None) -> Expr | None:
    """What a key expression is made from: ``secret.encode("ascii")`` -> ``secret``, ``bytes(k, "utf-8")`` -> ``k``,
    ``SecretStr.get_secret_value()`` -> the holder."""
    for _ in range(4):
        if isinstance(expr, Call):
            func = expr.func
            if isinstance(func, Attr) and func.attr in ("encode", "get_secret_value", "strip", "decode"):
                expr = func.value
                continue
            if isinstance(func, Name) and func.id in ("bytes", "str") and expr.args:
                expr = expr.args[0]
                continue
        break
    return expr


def argument_for(call: Call, callee: Function, param: str) -> Expr | None:
    v = call.kwarg(param)
    if v is not None:
        return v
    params = [p.name for p in callee.fact.params]
    if callee.fact.is_method and params and params[0] in ("self", "cls"):
        params = params[1:]
    if param in params:
        i = params.index(param)
        if i < len(call.args) and not any(isinstance(a, Call) and a.starred for a in call.args[: i + 1]):
            return call.args[i]
    return None


def signing_params(app: AppModel) -> dict[str, dict[str, KeyUse]]:
    """The parameters of project functions that end up as a signing key (``def get_token_hash(token, secret)``
    into ``hmac.new(secret.encode(), ...)``), through up to four levels of project calls."""
    return memo(app, _signing_params)


def _signing_params(app: AppModel) -> dict[str, dict[str, KeyUse]]:
    out: dict[str, dict[str, KeyUse]] = {}
    for _round in range(4):
        changed = False
        for cc, key, use in _key_sites(app, out):
            fn = cc.function
            root = _value_root(key)
            if fn is None or not isinstance(root, Name) or fn.fact.param(root.id) is None:
                continue
            if root.id not in out.setdefault(fn.qualname, {}):
                out[fn.qualname][root.id] = use
                changed = True
        if not changed:
            break
    return out


def _may_sign(call: Call, target: str | None) -> bool:
    return bool(target in KEY_ARGS or jwt_encode_library(target) or jwt_decode_library(target)
                or any(k in KEY_KWARGS for k, _ in call.kwargs))


def _key_sites(app: AppModel, through: dict[str, dict[str, KeyUse]]) -> Iterator[tuple[CodeCall, Expr, KeyUse]]:
    """(call, key expression, use) for every key a call signs with: its own key argument, or the
    arguments it passes to a project function's signing parameters."""
    for cc in iter_calls(app, lambda call, target: _may_sign(call, target) or (target or "") in through):
        found = direct_key(cc)
        if found is not None:
            key, sink = found
            yield cc, key, KeyUse(f"`{sink}(...)`", where_label(cc.function, cc.module), cc.path, cc.line)
        params = through.get(cc.target or "")
        if params:
            callee = app.functions.get(cc.target or "")
            if callee is None:
                continue
            for p, use in params.items():
                arg = argument_for(cc.call, callee, p)
                if arg is not None:
                    yield cc, arg, use


def key_names(app: AppModel) -> dict[str, KeyUse]:
    """Names read as a key that signs or verifies, by their last identifier: ``settings.SECRET`` or
    ``SECRET_KEY`` into ``jwt.encode`` (directly or through a project function's parameter), and
    ``settings.ADMIN_TOKEN`` compared with what a client sends (``==``, ``compare_digest``). The first
    use of each."""
    return memo(app, _key_names)


def _key_names(app: AppModel) -> dict[str, KeyUse]:
    through = signing_params(app)
    out: dict[str, KeyUse] = {}
    for cc, key, use in _key_sites(app, through):
        root = _value_root(key)
        if isinstance(root, Attr):
            out.setdefault(root.attr, use)
        elif isinstance(root, Name) and (cc.function is None or cc.function.fact.param(root.id) is None):
            out.setdefault(root.id, use)
    for fn in app.functions.values():
        if is_test_path(fn.path):
            continue
        pairs = [(c.left, c.right) for c in fn.fact.compares if c.op in ("==", "!=")]
        pairs += [(site.call.args[0], site.call.args[1]) for site, target in fn.calls
                  if target in ("secrets.compare_digest", "hmac.compare_digest") and len(site.call.args) == 2]
        for a, b in pairs:
            for side, other in ((a, b), (b, a)):
                if isinstance(other, Const):
                    continue
                root = _value_root(side)
                name = root.attr if isinstance(root, Attr) else root.id if isinstance(root, Name) else None
                # a name of two words or more (``ADMIN_TOKEN``, ``api_key``): ``token == other`` says nothing
                # about which binding named ``token`` it is
                if name and len(words(name)) > 1 and fn.fact.param(name) is None:
                    out.setdefault(name, KeyUse("a comparison with what a client sends", f"`{fn.fact.qualname}`",
                                                fn.path, 0))
    return out


def default_rejected(app: AppModel, settings_class: str, field: str, default: str) -> str | None:
    """Where the project refuses the field's development default: a comparison of the field (or, in a
    method of the settings class, of anything) with the default literal. ``None`` when nothing does."""
    owners = {settings_class, *app.class_bases.get(settings_class, ())}
    for fn in app.functions.values():
        in_class = fn.class_name is not None and fn.qualname.rsplit(".", 1)[0] in owners
        for cmp in fn.fact.compares:
            for side, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
                if not (isinstance(other, Const) and other.value == default):
                    continue
                named = isinstance(side, (Attr, Name)) and (side.attr if isinstance(side, Attr) else side.id) == field
                if named or in_class:
                    return f"`{fn.fact.qualname}` compares it with the default"
    return None


def compared_only(app: AppModel) -> frozenset[str]:
    """Names that the project reads only as an operand of a comparison (``key == PLACEHOLDER_KEY``,
    ``DEFAULT_CREDENTIAL in (user, password)``): never passed to a call, assigned, returned or formatted.
    A name read anywhere else, in any scope, is left out (names are matched by identifier alone, so a
    same-named binding elsewhere only makes the set smaller)."""
    return memo(app, _compared_only)


def _compared_only(app: AppModel) -> frozenset[str]:
    compared: set[str] = set()
    used: set[str] = set()

    def reads(e: Expr | None) -> None:
        """Names read in ``e``: an operand of a comparison (or an item of a literal tuple it tests
        membership in) is compared, a name anywhere else is used."""
        inside: set[int] = set()  # the ``Name`` nodes that are operands of a comparison
        for x in walk(e):
            if isinstance(x, Compare):
                for side in (x.left, x.right):
                    for o in (side, *(side.items if isinstance(side, Seq) else ())):
                        if isinstance(o, Name):
                            inside.add(id(o))
            elif isinstance(x, Name):
                (compared if id(x) in inside else used).add(x.id)

    for mod in app.modules:
        if is_test_path(mod.path):
            continue
        sc = mod.facts.scope
        for a in sc.assigns:
            reads(a.value)
        for c in sc.calls:
            reads(c.call)
    for fn in app.functions.values():
        if is_test_path(fn.path):
            continue
        for cmp in fn.fact.compares:
            reads(Compare(cmp.op, cmp.left, cmp.right))
        for site in fn.fact.calls:
            reads(site.call)
        for a in fn.fact.scope.assigns:
            reads(a.value)
        for r in fn.fact.scope.returns:
            reads(r.value)
        for p in fn.fact.params:
            reads(p.default)
    for path, cf in app.classes.values():
        if not is_test_path(path):
            for f in cf.fields:
                reads(f.value)
    return frozenset(compared - used)
