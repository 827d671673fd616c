"""FAL506 non-constant-time-secret-compare."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import is_test_path
from fastapi_arch_lint.analysis.index import pydantic_model
from fastapi_arch_lint.analysis.libraries import jwt_decode_library
from fastapi_arch_lint.analysis.names import is_compared_secret, last_identifier, words
from fastapi_arch_lint.analysis.reach import is_request_reachable
from fastapi_arch_lint.analysis.taint import contexts
from fastapi_arch_lint.analysis.values import instance_of
from fastapi_arch_lint.analysis.values import target as constant_target
from fastapi_arch_lint.analysis.values import value as constant_value
from fastapi_arch_lint.findings import Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, Subscript, dotted, render
from fastapi_arch_lint.model.facts import CompareFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.security._common import MARKER, is_own_label

# query builders: ``select(User).where(User.token == token)`` compares in SQL, not in Python
SQL_BUILDERS = frozenset({"where", "filter", "filter_by", "having", "and_", "or_", "join", "outerjoin", "on",
                          "exclude", "get_or_none", "find", "find_one", "Q"})


def _root(expr: Expr) -> Expr:
    while isinstance(expr, (Attr, Subscript)):
        expr = expr.value
    return expr


def _is_column(expr: Expr) -> bool:
    """``User.api_key_hash``: a class attribute, i.e. an ORM column in a query expression."""
    root = _root(expr)
    return isinstance(expr, Attr) and isinstance(root, Name) and root.id[:1].isupper()


def _in_query(cmp: CompareFact, fn: Function) -> bool:
    for site, _ in fn.calls:
        func = site.call.func
        name = func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else ""
        if name not in SQL_BUILDERS:
            continue
        p = site.pos
        if (p.line, p.col) <= (cmp.pos.line, cmp.pos.col) and (cmp.pos.end_line, cmp.pos.end_col) <= (p.end_line, p.end_col):
            return True
    return False


# the value of a placeholder sentinel: ``"$derive"``, ``"auto"``, ``"***"`` (not ``"${TOKEN}"`` or ``"<api-key>"``,
# which a deployment's templating may replace with the real value)
PLACEHOLDER = re.compile(r"\$[A-Za-z_]\w*|\*{3,}|auto", re.I)
# a constant that stands for a masked or placeholder value, not a secret: ``api_key == API_KEY_MASK``
STAND_IN_WORDS = frozenset({"mask", "masked", "placeholder", "redacted", "sentinel", "obfuscated", "hidden"})
# two forms of one value: ``normalized_key != raw_key`` (what normalizing changed), ``new_token != old.token``
# (did the provider rotate it): neither side is an attacker's guess against a stored secret
FORM_WORDS = frozenset({"raw", "normalized", "normalised", "original", "stripped", "cleaned", "trimmed", "decoded",
                        "unquoted", "canonical"})
CHANGE_WORDS = frozenset({"new", "rotated", "refreshed", "updated", "latest"})


def _stand_in(other: Expr) -> bool:
    name = last_identifier(other)
    return bool(name and name.isupper() and STAND_IN_WORDS.intersection(words(name)))


def _forms_of_one_value(cmp: CompareFact) -> bool:
    left, right = last_identifier(cmp.left), last_identifier(cmp.right)
    if not left or not right:
        return False
    lw, rw = words(left), words(right)
    lcore = [w for w in lw if w not in FORM_WORDS and w not in CHANGE_WORDS]
    rcore = [w for w in rw if w not in FORM_WORDS and w not in CHANGE_WORDS]
    if not lcore or lcore != rcore:
        return False
    lmod, rmod = set(lw) - set(lcore), set(rw) - set(rcore)
    if lmod & FORM_WORDS and rmod & FORM_WORDS:
        return True
    return bool((lmod | rmod) & CHANGE_WORDS)


# the last words of a name that refers to a secret without holding it: a Kubernetes secret's name
# (``image_pull_secret``, ``docker_registry_secret``), a vault entry's id, a key's id or name
REFERENCE_ENDINGS = frozenset({("secret", "name"), ("secret", "names"), ("secret", "ref"), ("secret", "id"),
                               ("key", "id"), ("key", "name"), ("key", "ref"), ("pull", "secret"),
                               ("pull", "secrets"), ("registry", "secret")})


def _names_a_secret(expr: Expr) -> bool:
    """``image_pull_secret``, ``secret_name``, ``key_id``: a reference to a secret, which is no secret."""
    name = last_identifier(expr)
    ws = words(name) if name else []
    return len(ws) >= 2 and (ws[-2], ws[-1]) in REFERENCE_ENDINGS


def _secret_side(cmp: CompareFact) -> tuple[str, Expr] | None:
    if _forms_of_one_value(cmp):
        return None
    if _names_a_secret(cmp.left) or _names_a_secret(cmp.right):
        # like is compared with like: a field compared with a secret's name holds a name too
        # (``spec.build.secret != config.docker_registry_secret``)
        return None
    for side, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
        name = last_identifier(side)
        if name is None or not is_compared_secret(name):
            continue
        if isinstance(other, Const) or _stand_in(other):
            return None  # ``token is None``-like checks, scheme names such as "bearer", a mask constant
        if isinstance(other, Call):
            fname = other.func.id if isinstance(other.func, Name) else ""
            if fname in ("len", "type", "bool", "isinstance", "id"):
                return None
        return name, side
    return None


# methods whose comparisons are object equality, not a credential check
EQUALITY_METHODS = frozenset({"__eq__", "__ne__", "__hash__", "__lt__", "__le__", "__gt__", "__ge__"})
# a class that stands in for the real one in tests
TEST_DOUBLE_PREFIXES = ("Fake", "Mock", "Dummy", "Stub")


def _mentions(expr: Expr | None, needle: str) -> bool:
    """``needle`` (a rendered expression) occurs in ``expr`` as a whole name or attribute chain."""
    if expr is None or not needle:
        return False
    text = render(expr, 400)
    i = text.find(needle)
    while i >= 0:
        before = text[i - 1] if i > 0 else " "
        after = text[i + len(needle)] if i + len(needle) < len(text) else " "
        if not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_"):
            return True
        i = text.find(needle, i + 1)
    return False


# a call whose result is a digest of its input (``hashlib.sha256(...).hexdigest()``, ``get_token_hash(t, secret=k)``)
DIGEST_WORDS = ("hash", "digest", "hmac")


def _is_digest(expr: Expr | None) -> bool:
    if not isinstance(expr, Call):
        return False
    func = expr.func
    name = (func.attr if isinstance(func, Attr) else func.id if isinstance(func, Name) else "").lower()
    return any(w in name for w in DIGEST_WORDS) or (isinstance(func, Attr) and _is_digest(func.value))


def _digest_side(fn: Function, side: Expr, line: int) -> bool:
    """``side`` is a digest computed here: a hash call, or a name last assigned one before ``line``."""
    if _is_digest(side):
        return True
    if not isinstance(side, Name):
        return False
    last = None
    for a in fn.fact.scope.assigns:
        if a.target == side.id and a.pos.line <= line and (last is None or a.pos.line >= last.pos.line):
            last = a
    return last is not None and _is_digest(last.value)


def _stored_side(app: AppModel, fn: Function, side: Expr) -> bool:
    """``side`` is a field of a record the server holds (``session.token`` of a loaded session, a dependency's
    result), not of what the client sent: an attribute of a dependency parameter, of a local object, or of
    the record whose method compares (``self.hashed_secret`` in a table class's ``credentials_valid``; not
    in a request model, whose fields the client sent)."""
    if not isinstance(side, Attr):
        return False
    root = _root(side)
    if isinstance(root, Name) and root.id == "self" and fn.fact.is_method and "." in fn.fact.qualname:
        owner = f"{fn.module}.{fn.fact.qualname.rsplit('.', 1)[0]}"
        return pydantic_model(app, owner) is None
    if not isinstance(root, Name) or root.id in ("request", "self", "cls"):
        return False
    param = next((p for p in fn.fact.params if p.name == root.id), None)
    if param is None:
        return True
    text = render(param.default, 200) if param.default is not None else ""
    text += " " + (render(param.annotation, 200) if param.annotation is not None else "")
    return "Depends(" in text or "Security(" in text


def _origin(fn: Function, e: Expr, line: int) -> Expr:
    """The attribute or name a local was assigned from, once, before ``line`` (``new = body.new_password``),
    followed a few steps; ``e`` itself otherwise."""
    for _ in range(3):
        if not isinstance(e, Name):
            return e
        made = [a for a in fn.fact.scope.assigns if a.target == e.id and a.pos.line < line]
        if len(made) != 1 or made[0].augmented or not isinstance(made[0].value, (Attr, Name)):
            return e
        e = made[0].value
    return e


def _load(fn: Function, name: str, line: int) -> Call | None:
    """The call whose result the local ``name`` holds at ``line``: assigned once, before it, from a call
    (``current = await store.load(user.id)``): a record the server read, not a parameter."""
    if any(p.name == name for p in fn.fact.params):
        return None
    made = [a for a in fn.fact.scope.assigns if a.target == name and a.pos.line < line]
    if len(made) != 1 or made[0].augmented:
        return None
    site = next((s for s, _ in fn.calls if s.assigned_to == name and s.pos.line == made[0].pos.line), None)
    return site.call if site is not None else None


def _caller_data(app: AppModel, fn: Function, param: str) -> bool:
    """A request's data reaches ``param`` of ``fn``: a route's request parameter, or one a handler passes
    request data to (the taint contexts)."""
    return any(ctx.function.qualname == fn.qualname and param in ctx.env for ctx in contexts(app))


# calls that read a configured value or a stored secret: what they return is the server's, not a caller's
_CONFIG_READ = re.compile(r"(?:^|\.)(?:config|getenv|environ\.get|get_setting|read_secret|get_secret|get_secret_value)$")


def _configured(fn: Function, side: Expr, line: int) -> bool:
    """``side`` is a local assigned once from a read of the configuration, the environment or a secret store
    (``key = config("BYPASS_KEY")``, ``secret = secret_manager.read_secret(name)``)."""
    load = _load(fn, side.id, line) if isinstance(side, Name) else None
    return load is not None and bool(_CONFIG_READ.search(render(load.func, 200)))


def _stored_pair(app: AppModel, fn: Function, cmp: CompareFact) -> bool:
    """Both sides are values the server holds, none a caller's guess: a record read again compared with
    the copy in hand (``latest = load(user.id)`` against ``credential = credential or load(user.id)``, or
    ``current = by_id(grant.id)`` against ``grant``, a parameter no request data reaches: did another
    worker change it?), or a value loaded from a store against the cached copy this function refills
    from it (``if stored != self._cached: self._cached = stored``: is the cache stale?)."""
    line = cmp.pos.line
    left, right = _origin(fn, cmp.left, line), _origin(fn, cmp.right, line)
    if _configured(fn, left, line) and _configured(fn, right, line):
        return True  # a configured key against a stored secret: which of its own keys is the bypass key?
    for side, other in ((left, right), (right, left)):
        root = _root(side)
        if not isinstance(root, Name):
            continue
        load = _load(fn, root.id, line)
        if load is None:
            continue
        # the cache slot (``self._cached``) this function refills with the loaded value
        if isinstance(side, Name) and isinstance(other, Attr) and isinstance(_root(other), Name) \
                and _root(other).id in ("self", "cls") and any(
                    a.target == render(other, 200) and isinstance(a.value, Name) and a.value.id == side.id
                    for a in fn.fact.scope.assigns):
            return True
        if not (isinstance(side, Attr) and isinstance(other, Attr) and side.attr == other.attr):
            continue
        oroot = _root(other)
        if not isinstance(oroot, Name) or oroot.id == root.id:
            continue
        # the other record came from the same load (``credential = credential or load(user.id)``)
        wanted = render(load, 200)
        if any(a.target == oroot.id and _mentions(a.value, wanted) for a in fn.fact.scope.assigns):
            return True
        # the record was read again by the other's own key, and no request data reaches the other
        keyed = any(isinstance(a, Attr) and isinstance(_root(a), Name) and _root(a).id == oroot.id
                    for a in (*load.args, *(v for _, v in load.kwargs)))
        if keyed and any(p.name == oroot.id for p in fn.fact.params) and not _caller_data(app, fn, oroot.id):
            return True
    return False


def _rejects_unless_equal(dep: Function, secret: str) -> bool:
    """``dep`` returns only a value it compared with ``secret`` (rendered) and raised for when they differed
    (``if token != API_KEY: raise HTTPException(401)`` then ``return token``): every ``return`` returns that local,
    after that ``if``, whose only test is the comparison."""
    fact = dep.fact
    returns = fact.scope.returns
    if not returns or any(not isinstance(r.value, Name) for r in returns):
        return False
    held = {r.value.id for r in returns if isinstance(r.value, Name)}
    if len(held) != 1:
        return False
    (local,) = held
    for g in fact.guards:
        if len(g.tests) != 1 or not g.body_raises:
            continue
        negated, atom = g.tests[0]
        if not isinstance(atom, CompareFact) or (atom.op == "!=") == negated or atom.op not in ("==", "!="):
            continue
        sides = {render(atom.left, 200), render(atom.right, 200)}
        if sides == {local, secret} and all(r.pos.line > g.pos.line for r in returns):
            return True
    return False


def _checked_by_dependency(app: AppModel, fn: Function, cmp: CompareFact) -> bool:
    """A side is a route parameter its dependency fills with a value that dependency has already checked against
    the other side, raising otherwise (``user: str = Depends(get_current_user)`` then ``user == API_KEY``, where
    ``get_current_user`` refuses every token but ``API_KEY``): no guess reaches this comparison; the timing channel
    is the dependency's own comparison, reported there."""
    for side, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
        if not isinstance(side, Name):
            continue
        deps = {p.dependency for r in app.routes if r.handler.qualname == fn.qualname for p in r.params
                if p.name == side.id and p.source in ("dependency", "security")}
        if len(deps) != 1:
            continue
        dep = app.functions.get(next(iter(deps)))
        if dep is not None and _rejects_unless_equal(dep, render(other, 200)):
            return True
    return False


def _model_field(app: AppModel, fn: Function, side: Expr) -> bool:
    """``settings.api_key``: a field of a Pydantic model or settings instance (or class), whose default is only
    what a deployment overrides (``api_key: str = "<set me>"``): not a placeholder constant."""
    if not isinstance(side, Attr):
        return False
    owner = instance_of(app, side.value, fn.module, fn, 0) or constant_target(app, side.value, fn.module)
    return owner is None or pydantic_model(app, owner) is not None


def _class_constant(app: AppModel, side: Expr) -> str | None:
    """``package.models.Credentials.generate_access_key`` spelled through its module path: the string a plain
    (non-Pydantic) class assigns to that attribute without an annotation, else None."""
    if not isinstance(side, Attr):
        return None
    owner = dotted(side.value) or ""
    entry = app.classes.get(owner)
    if entry is None or pydantic_model(app, owner) is not None:
        return None
    field = entry[1].field(side.attr)
    if field is None or field.annotation is not None or not isinstance(field.value, Const):
        return None
    return field.value.value if isinstance(field.value.value, str) else None


def _no_timing_channel(app: AppModel, fn: Function, cmp: CompareFact) -> bool:
    """The two sides are not an attacker's guess against a stored or configured secret: they are
    two fields of one payload, an object compared with itself, a value just written compared with
    what the write returned, or a value compared with what it was derived from (change detection)."""
    fact = fn.fact
    if fact.name in EQUALITY_METHODS:
        return True
    owner = f"{fn.module}.{fact.qualname.rsplit('.', 1)[0]}" if "." in fact.qualname else None
    if owner and owner.rsplit(".", 1)[-1].startswith(TEST_DOUBLE_PREFIXES):
        return True
    lroot, rroot = _root(_origin(fn, cmp.left, cmp.pos.line)), _root(_origin(fn, cmp.right, cmp.pos.line))
    # ``body.current_password == body.new_password``: two fields the same request sent (also through locals:
    # ``new = body.new_password; confirm = body.confirm_password; if new != confirm``)
    if isinstance(lroot, Name) and isinstance(rroot, Name) and lroot.id == rroot.id and lroot.id not in ("self", "cls"):
        return True
    # ``config.bot_token == PENDING_BOT_TOKEN``: a module constant that is a marker (``"__pending__"``), public
    # by design; knowing how much of it matches tells nothing
    for side in (cmp.left, cmp.right):
        if isinstance(side, Name):
            value = app.constants.get(f"{fn.module}.{side.id}")
            if isinstance(value, str) and (MARKER.fullmatch(value) or is_own_label(side.id, value)):
                return True  # a marker, or a label (``AUTH_METHOD_API_KEY = "api_key"``)
        if isinstance(side, (Name, Attr)):
            # ``credentials.access_key == Credentials.generate_access_key`` (``"$derive"``): a placeholder
            # constant that asks the server to fill the value in, public by design
            value = constant_value(app, side, fn.module, fn, cmp.pos.line)
            if not isinstance(value, str) or _model_field(app, fn, side):
                value = _class_constant(app, side)
            if isinstance(value, str) and PLACEHOLDER.fullmatch(value.strip()):
                return True
    params = {p.name for p in fact.params}
    # a validator of a request model comparing two of its own fields (``password_confirm`` against ``password``)
    if owner and pydantic_model(app, owner) is not None and isinstance(lroot, Name) \
            and isinstance(rroot, Name) and lroot.id in params and rroot.id in params:
        return True
    for side, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
        # ``get_token_hash(cookie, secret=key) != session.token``: a digest of the client's value against the
        # digest the server stored (also ``hash_with_salt(given, self.salt) == self.hashed_secret`` in the
        # record's own method); timing shows how much of a hash matches, which tells the client nothing
        if _digest_side(fn, side, cmp.pos.line) and _stored_side(app, fn, other):
            return True
    for side, other in ((cmp.left, cmp.right), (cmp.right, cmp.left)):
        root = _root(side)
        if not isinstance(root, Name):
            continue
        # ``saved = repo.update_password(user.id, digest)`` then ``saved.password != digest``: a read-back check
        wanted = render(other, 200)
        for site in fact.calls:
            if site.assigned_to == root.id and site.pos.line <= cmp.pos.line and any(
                    render(a, 200) == wanted for a in (*site.call.args, *(v for _, v in site.call.kwargs))):
                return True
        # ``new = update.secret or existing_secret`` then ``new != existing_secret``: did it change?
        if isinstance(side, Name):
            for a in fact.scope.assigns:
                if a.target == side.id and a.pos.line <= cmp.pos.line and _mentions(a.value, wanted):
                    return True
    return False


# a logger's methods: ``logger.warning(...)``
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def _log_call(call: Call) -> bool:
    """``logger.warning(...)``, ``self.log.info(...)``, ``warnings.warn(...)``, ``print(...)``."""
    f = call.func
    if isinstance(f, Name):
        return f.id == "print"
    if isinstance(f, Attr) and f.attr in LOG_METHODS:
        root = (dotted(f.value) or "").lower()
        return "log" in root.rsplit(".", 1)[-1] or root == "warnings"
    return False


def only_logs(fn: Function, cmp: CompareFact) -> bool:
    """Is ``cmp`` the test of an ``if`` whose branch only writes a log line (``if old.key != new.key:
    logger.warning("the key changed")``): no ``else``, no ``raise``, ``return`` or assignment, every call a
    logger's? Its outcome refuses and grants nothing: it checks no credential."""
    fact = fn.fact
    for g in fact.guards:
        if not any(atom == cmp for _neg, atom in g.tests):
            continue
        if g.body_raises or g.body_assigns or g.orelse_calls or g.orelse_raises or g.orelse_assigns \
                or not g.body_calls:
            return False
        if any(i >= len(fact.calls) for i in g.body_calls):
            return False
        logs = [fact.calls[i].pos for i in g.body_calls if _log_call(fact.calls[i].call)]
        for i in g.body_calls:  # a logger's call, or one inside its arguments (``logger.warning("%s", svc.fmt())``)
            p = fact.calls[i].pos
            if not any((q.line, q.col) <= (p.line, p.col) and (p.end_line, p.end_col) <= (q.end_line, q.end_col)
                       for q in logs):
                return False
        return not any(any(test == g.test for _neg, test in r.conds) for r in fact.scope.returns)
    return False


def _keyed_decode(call: Call) -> bool:
    """``jwt.decode(token, KEY, algorithms=[...])``: a key is passed and the signature check is not turned off."""
    key = call.arg(1, "key")
    if key is None or (isinstance(key, Const) and not key.value):
        return False
    opts = render(call.kwarg("options"), 200) if call.kwarg("options") is not None else ""
    return not ("verify_signature" in opts and "False" in opts) and call.kwarg("verify") is None


def _decodes(app: AppModel, fn: Function, name: str, before: int, depth: int = 1) -> bool:
    """``fn`` hands its local ``name`` to a JWT decode with a key above line ``before``: itself, or through a
    project function that decodes its first parameter (``payload = jwt_decode(token)``)."""
    for site, target in fn.calls:
        call = site.call
        if site.pos.line >= before or not call.args or not (isinstance(call.args[0], Name) and call.args[0].id == name):
            continue
        if jwt_decode_library(target) and _keyed_decode(call):
            return True
        callee = app.functions.get(target or "")
        params = [p.name for p in callee.fact.params if p.name not in ("self", "cls")] if callee else []
        if callee is not None and depth > 0 and params and _decodes(app, callee, params[0], 10 ** 9, depth - 1):
            return True
    return False


def _signature_verified(app: AppModel, fn: Function, cmp: CompareFact) -> str | None:
    """A side of the comparison is a JWT whose signature was verified with the server's key before it is
    compared: ``fn`` decodes it itself above the comparison, or every caller of ``fn`` decodes the value it
    passes for that parameter before the call. The comparison then only asks whether it is the current token
    (rotation, revocation): a guess fails the signature check first, so timing tells nothing. The name of the
    verifying function, else None."""
    params = [p.name for p in fn.fact.params if p.name not in ("self", "cls")]
    for side in (cmp.left, cmp.right):
        if not isinstance(side, Name) or side.id not in params:
            continue
        if _decodes(app, fn, side.id, cmp.pos.line):
            return fn.fact.qualname
        index = params.index(side.id)
        callers: list[str] = []
        for g in app.functions.values():
            for site, target in g.calls:
                if target != fn.qualname:
                    continue
                arg = site.call.arg(index, side.id)
                if not isinstance(arg, Name) or not _decodes(app, g, arg.id, site.pos.line):
                    return None
                callers.append(g.fact.qualname)
        if callers:
            return callers[0]
    return None


@register
class NonConstantTimeSecretCompare(Rule):
    code = "FAL506"
    name = "non-constant-time-secret-compare"
    summary = "A token, password, API key or signature is compared with `==`/`!=` (timing side channel)"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "where no request is shown to run the comparison (a background job, a "
                                       "queue worker, a script): nobody can time it; or where its outcome only "
                                       "decides a log line; or where the compared token's JWT signature was verified with the server's "
                                       "key before (by the function or by every caller): a rotation or revocation check"}
    cwe = ("CWE-208",)
    owasp = ("API2:2023",)
    security_severity = 5.3

    def check(self, app: AppModel) -> Iterator[Finding]:
        for fn in app.functions.values():
            if is_test_path(fn.path):
                continue
            for cmp in fn.fact.compares:
                if cmp.op not in ("==", "!="):
                    continue
                if isinstance(cmp.left, Const) or isinstance(cmp.right, Const):
                    continue
                if _is_column(cmp.left) or _is_column(cmp.right):
                    continue
                found = _secret_side(cmp)
                if found is None or _in_query(cmp, fn) or _no_timing_channel(app, fn, cmp) \
                        or _stored_pair(app, fn, cmp) or _checked_by_dependency(app, fn, cmp):
                    continue
                name, side = found
                timed = is_request_reachable(app, fn)
                logged = only_logs(fn, cmp)
                leak = ("its outcome only decides a log line: nothing is refused or granted on it, so it checks no "
                        "credential a client could guess at (constant time is still the safer habit)" if logged else
                        "response times leak how much of a guess is right" if timed else
                        "no route handler, dependency or middleware is shown to run it, so no client can time it "
                        "(constant time is still the safer habit)")
                verified = _signature_verified(app, fn, cmp) if timed and not logged else None
                if verified:
                    leak = (f"but `{verified}` has verified its JWT signature with the server's key first, so only a "
                            "validly signed token gets here and the comparison only checks that it is the current one "
                            "(rotation, revocation): a guess fails the signature check before timing could tell "
                            "anything (constant time is still the safer habit)")
                timed = timed and not logged and not verified
                yield self.finding(
                    fn.path, cmp.pos.line, cmp.pos.col,
                    f"`{render(cmp.left, 40)} {cmp.op} {render(cmp.right, 40)}` in `{fn.fact.qualname}` compares "
                    f"the secret `{name}` with `{cmp.op}`, which stops at the first differing byte: {leak}",
                    severity=None if timed else Severity.INFO,
                    help="compare secrets in constant time: `secrets.compare_digest(a.encode(), b.encode())` "
                         "(or `hmac.compare_digest`); for passwords verify against a slow hash instead",
                    end_line=cmp.pos.end_line, end_col=cmp.pos.end_col,
                    entity=f"{fn.qualname}:{render(side, 60)}",
                )
