"""Role and permission checks on a route's paths, and scopings by the caller (``judge``): FAL408 asks
whether an operation for administrators is guarded, FAL524 whether other users' secrets are."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi_arch_lint.analysis.calls import reached_functions
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Compare, Const, Expr, Name, Not, dotted, render, walk
from fastapi_arch_lint.model.facts import CompareFact, FunctionFact, GuardFact, NOPOS
from fastapi_arch_lint.rules.auth._common import (
    PRIVILEGE_RE,
    dependency_functions,
    func_name,
    names_in,
    principal_params,
    privileged,
    short,
)

# a flag column or attribute that marks an administrator
PRIVILEGE_FLAG_RE = re.compile(r"^(is_)?(super_?user|super_?admin|sys_?admin|admin|staff|root)$", re.I)

# a word in a tested name or value that says the test is about privileges, not identity
PRIVILEGE_WORD_RE = re.compile(
    r"admin|superuser|super_user|staff|role|permission|^perms?$|_perms?$|privilege|scope|owner|moderator|manager"
    r"|^acls?$|polic|authori[sz]|^can_|^has_(perm|access|role|scope|privilege)|^is_allowed|^allowed_to|^may_|^sudo"
    r"|^root$", re.I)
# a call in a rejecting branch that answers for the handler: ``abort(403)``, ``raise_forbidden()``
REJECT_CALL_RE = re.compile(r"forbid|deny|denied|abort|reject|unauthori|^raise_|permission_error|^fail", re.I)
# a call whose code cannot be read, named for a privilege check: ``enforcer.enforce(...)``, ``require_admin(user)``
CHECK_CALL_RE = re.compile(
    r"^(require|requires|ensure|assert|check|verify|enforce|authori[sz]e|validate)_?\w*"
    r"(admin|superuser|staff|role|permission|perm|privilege|scope|owner|access|polic\w*)s?$"
    r"|^(enforce|authori[sz]e|has_permissions?|check_permissions?|can_\w+|permission_required|require_permissions?)$",
    re.I)
# a call outside the project, handed the caller, that may decide access: unsure (info)
MAYBE_CHECK_RE = re.compile(r"auth|perm|access|allow|check|verif|guard|polic|role|admin|acl|^can_|^may_|ensure"
                            r"|assert|require|enforce", re.I)
# what a scope or setting says is no check of the caller: ``settings.ADMIN_EMAIL``, ``self.config.admin``
_CONFIG_ROOTS = frozenset({"settings", "config", "cls", "os", "app_settings"})
# the principal a class-based view keeps on ``self``
_SELF_PRINCIPAL_RE = re.compile(r"^self\.(user|current_user|account|principal|member|caller|actor|identity)$")
# a lookup that takes the principal is scoped by it: ``filter_by(owner_id=user.id)``
SCOPED_CALL_RE = re.compile(
    r"^(where|filter|filter_by|query|select|get\w*|list\w*|find\w*|fetch\w*|scalars?|execute|exec|count\w*"
    r"|search\w*|load\w*|read\w*|all)$")
DEPTH = 3


@dataclass(frozen=True)
class Seen:
    """A check (or a scoping, or the evidence of a role concept) and where it is."""

    text: str
    path: str
    line: int


def _words(expr: object) -> list[str]:
    """The identifier parts and string constants a test reads."""
    exprs: Iterable[Expr] = (expr.left, expr.right) if isinstance(expr, CompareFact) else (expr,)  # type: ignore[assignment]
    out: list[str] = []
    for e in exprs:
        for x in walk(e):
            if isinstance(x, Name):
                out.append(x.id)
            elif isinstance(x, Attr):
                out.append(x.attr)
            elif isinstance(x, Const) and isinstance(x.value, str) and len(x.value) < 40:
                out.append(x.value)
    return out


def caller_words(expr: object) -> list[str]:
    """The attribute and variable names a test reads about something other than configuration or the
    object itself (``user.role``, ``is_admin``; not ``self.role``, ``settings.ADMIN``)."""
    exprs = (expr.left, expr.right) if isinstance(expr, CompareFact) else (expr,)
    out: list[str] = []
    for e in exprs:
        for x in walk(e):  # type: ignore[arg-type]
            if isinstance(x, Attr):
                root = (dotted(x) or "").split(".", 1)[0]
                if root and root not in _CONFIG_ROOTS and root != "self" and not root.isupper():
                    out.append(x.attr)
            elif isinstance(x, Name):
                out.append(x.id)
    return out


def _configuration(expr: object) -> bool:
    """Does the test read only configuration (``settings.ADMIN_ENABLED``), not the caller?"""
    exprs = (expr.left, expr.right) if isinstance(expr, CompareFact) else (expr,)
    roots = {n.split(".", 1)[0] for e in exprs for n in names_in(e)}  # type: ignore[arg-type]
    return bool(roots) and all(r in _CONFIG_ROOTS or r.isupper() or r == "self" for r in roots)


def atom_text(atom: object) -> str:
    if isinstance(atom, CompareFact):
        return f"{render(atom.left, 40)} {atom.op} {render(atom.right, 40)}"
    return render(atom, 60)  # type: ignore[arg-type]


def privilege_test(atom: object) -> bool:
    """Is a test atom about privileges: a role, admin flag, permission, scope or ownership?"""
    return not _configuration(atom) and any(PRIVILEGE_WORD_RE.search(w) for w in _words(atom))


def _mentions(names: Iterable[str], principals: Iterable[str]) -> bool:
    ps = tuple(principals)
    return any(n == p or n.startswith(p + ".") for n in names for p in ps)


def principal_test(atom: object, principals: frozenset[str]) -> bool:
    """Does a test compare the caller with something (``user_id != current_user.id``,
    ``obj.org_id == user.org_id``, ``can_edit(current_user, obj)``)? A test of the caller's presence
    (``user is None``) or a flag (``user.is_active``) is not one."""
    if not principals:
        return False
    if isinstance(atom, CompareFact):
        left, right = names_in(atom.left), names_in(atom.right)
        for mine, other, expr in ((left, right, atom.right), (right, left, atom.left)):
            if _mentions(mine, principals) and not _mentions(other, principals):
                if isinstance(expr, Const) and (expr.value is None or isinstance(expr.value, bool)):
                    return False
                return True
        return False
    if isinstance(atom, Call):
        args = set()
        for a in (*atom.args, *(v for _, v in atom.kwargs)):
            args |= names_in(a)
        return _mentions(args, principals)
    return False


def rejects(fact: FunctionFact, g: GuardFact) -> bool:
    """Does a branch of this ``if`` reject: a ``raise``, or a call that aborts (``abort(403)``)? A log line
    or ``pass`` does not."""
    if g.body_raises or g.orelse_raises:
        return True
    return any(REJECT_CALL_RE.search(func_name(fact.calls[i].call)) for i in (*g.body_calls, *g.orelse_calls)
               if i < len(fact.calls))


_PRIVILEGED_VALUE_RE = re.compile(r"^(super_?user|super_?admin|sys_?admin|admin|administrator|staff|root|owner)s?$",
                                  re.I)


def _when_privileged(atom: object) -> bool | None:
    """Is a test true exactly when something is privileged (``target.is_superuser``, ``role == Role.ADMIN``),
    false exactly then (``role != "admin"``), or neither that plainly (None)?"""
    if isinstance(atom, (Name, Attr)):
        name = atom.id if isinstance(atom, Name) else atom.attr
        return True if PRIVILEGE_FLAG_RE.match(name) else None
    if isinstance(atom, CompareFact):
        for value in (atom.left, atom.right):
            if isinstance(value, Attr) and value.attr in ("value", "name") and isinstance(value.value, Attr):
                value = value.value  # ``Role.ADMIN.value``
            text = value.attr if isinstance(value, Attr) else value.value if isinstance(value, Const) else None
            if isinstance(text, str) and _PRIVILEGED_VALUE_RE.match(text):
                if atom.op in ("==", "is", "in"):
                    return True
                if atom.op in ("!=", "is not", "not in"):
                    return False
    return None


def _body_rejects(fact: FunctionFact, g: GuardFact) -> bool:
    return bool(g.body_raises) or any(REJECT_CALL_RE.search(func_name(fact.calls[i].call)) for i in g.body_calls
                                      if i < len(fact.calls))


def _rejects_privileged(fact: FunctionFact, g: GuardFact, negated: bool, atom: object) -> bool:
    """Does an ``if`` reject what IS privileged (``if target.is_superuser: raise HTTPException(400, "cannot
    delete an admin")``)? That protects admins from the operation; it grants nobody anything."""
    when = _when_privileged(atom)
    if when is None:
        return False
    return (when != negated) == _body_rejects(fact, g)


def _rejects_others(fact: FunctionFact, g: GuardFact, negated: bool, atom: object) -> bool:
    """Does an ``if`` comparing the caller reject those who are *not* the one compared with
    (``if user_id != me.id: raise``, ``if obj.org_id == me.org_id: ... else: raise``)? One that rejects the
    caller themselves (``if user == me: raise HTTPException(403, "cannot delete yourself")``) lets every
    other caller through."""
    if not isinstance(atom, CompareFact):
        return True  # ``if not can_edit(me, obj)``: a predicate, either way a check
    mismatch = (atom.op in ("!=", "is not", "not in")) != negated
    return mismatch if _body_rejects(fact, g) else not mismatch


def role_check_in(fn: Function, project: dict[str, Function], principals: frozenset[str] = frozenset()) -> Seen | None:
    """A role, permission or ownership check in one function: an ``if`` on a privilege (or comparing the
    caller) whose branch rejects, a ``return`` under a privilege test, or a call to a privilege check whose
    code cannot be read."""
    fact = fn.fact
    for g in fact.guards:
        if not rejects(fact, g):
            continue
        for neg, atom in g.tests:
            if (privilege_test(atom) and not _rejects_privileged(fact, g, neg, atom)) or (
                    principal_test(atom, principals) and _rejects_others(fact, g, neg, atom)):
                return Seen(f"`{fact.name}` rejects on `{atom_text(atom)}`", fn.path, g.pos.line)
    for r in fact.scope.returns:
        for _neg, test in r.conds:
            if test is not None and privilege_test(test):
                return Seen(f"`{fact.name}` returns early on `{render(test, 60)}`", fn.path, r.pos.line)
    for site, target in fn.calls:
        if target is not None and target in project:
            continue  # a project function: its code is read where it is reached
        name = func_name(site.call)
        if CHECK_CALL_RE.match(name):
            return Seen(f"`{fact.name}` calls `{name}`", fn.path, site.pos.line)
    return None


def _bind(call: Call, callee: FunctionFact, principals: frozenset[str]) -> frozenset[str]:
    """The parameters of ``callee`` that receive the principal at this call."""
    params = list(callee.params)
    if callee.is_method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    out: set[str] = set()
    for i, a in enumerate(call.args):
        if i < len(params) and params[i].kind == "positional" and _mentions(names_in(a), principals):
            out.add(params[i].name)
    for k, v in call.kwargs:
        if _mentions(names_in(v), principals) and callee.param(k) is not None:
            out.add(k)
    return frozenset(out)


@dataclass
class Verdict:
    check: Seen | None = None  # a role, permission or ownership check
    scoped: Seen | None = None  # the operation is scoped to the caller
    handed: str = ""  # the caller is handed to code the review cannot read (an unresolved call, too deep)


def judge(app: AppModel, route: Route) -> Verdict:
    """Is a role check (or a scoping by the caller) seen anywhere on the route's paths?"""
    v = Verdict()
    if route.privileged:
        v.check = Seen(route.privileged, route.registered.path, route.registered.line)
        return v
    named = privileged(app, route)
    if named:
        v.check = Seen(f"{named} on its dependencies", route.registered.path, route.registered.line)
        return v
    for d in route.handler.fact.decorators:
        expr = d.expr.func if isinstance(d.expr, Call) else d.expr
        text = dotted(expr) or ""
        if text and PRIVILEGE_RE.search(short(text)) and not (d.pos.line, d.pos.col) == (route.registered.line,
                                                                                          route.registered.col):
            v.check = Seen(f"the decorator `@{text}`", route.handler.path, d.pos.line)
            return v
    project = app.functions
    deps = list(dependency_functions(app, route))
    for dep in deps:
        for fn in reached_functions(app, dep, DEPTH - 1):
            found = role_check_in(fn, project)
            if found:
                v.check = found
                return v
    handler = app.functions.get(route.handler.qualname)
    if handler is None:
        return v
    principals = _principals(route)
    # the caller followed into the project functions it is handed to (its parameter there)
    todo: list[tuple[Function, frozenset[str], int]] = [(handler, principals, 0)]
    followed: dict[str, frozenset[str]] = {}
    while todo:
        fn, mine, level = todo.pop(0)
        if fn.qualname in followed and mine <= followed[fn.qualname]:
            continue
        followed[fn.qualname] = followed.get(fn.qualname, frozenset()) | mine
        found = role_check_in(fn, project, mine)
        if found:
            v.check = found
            return v
        if mine and v.scoped is None:
            v.scoped = _scoping(fn, project, mine)
        for site, target in fn.calls:
            callee = project.get(target or "")
            takes_caller = bool(mine) and principal_test(site.call, mine)
            if callee is None:
                if takes_caller and not v.handed and (target is None or MAYBE_CHECK_RE.search(func_name(site.call))):
                    v.handed = f"`{func_name(site.call)}(...)` in `{fn.fact.name}`, whose code is not seen"
                continue
            if level >= DEPTH:
                if takes_caller and not v.handed:
                    v.handed = f"`{short(callee.qualname)}`, deeper than the review follows"
                continue
            todo.append((callee, _bind(site.call, callee.fact, mine) if takes_caller else frozenset(), level + 1))
    return v


def _principals(route: Route) -> frozenset[str]:
    out = set(principal_params(route))
    fact = route.handler.fact
    for a in fact.attributes:
        if _SELF_PRINCIPAL_RE.match(a):
            out.add(a)
    for p in fact.params:
        if p.name in ("request", "req") and f"{p.name}.user" in fact.attributes:
            out.add(f"{p.name}.user")
    return frozenset(out)


def _scoping(fn: Function, project: dict[str, Function], principals: frozenset[str]) -> Seen | None:
    """A comparison with the caller (a query filter) or a lookup that takes it: the operation is the caller's."""
    tested = {atom for g in fn.fact.guards for _neg, atom in g.tests}  # an ``if`` that rejects nothing scopes nothing
    for c in fn.fact.compares:
        if c not in tested and principal_test(c, principals):
            return Seen(f"`{fn.fact.name}` compares `{atom_text(c)}`", fn.path, c.pos.line)
    for site, target in fn.calls:
        if target is not None and target in project:
            continue
        if SCOPED_CALL_RE.match(func_name(site.call)) and principal_test(site.call, principals):
            return Seen(f"`{fn.fact.name}` passes the caller to `{func_name(site.call)}`", fn.path, site.pos.line)
    return None


# -- does the app know roles at all ------------------------------------------------------------


# -- an administrator check in code ----------------------------------------------------------------------------

def _admin_only(e: Expr | None) -> bool:
    """Is ``e`` true only for an administrator: an admin flag (``user.is_superuser``), a role compared equal
    to an administrator's (``user.role == "admin"``), ``or`` of such tests, ``and`` with one?"""
    if isinstance(e, (Name, Attr)):
        return bool(PRIVILEGE_FLAG_RE.match(e.id if isinstance(e, Name) else e.attr)) and not _configuration(e)
    if isinstance(e, Compare):
        return _when_privileged(CompareFact(e.left, e.op, e.right, NOPOS)) is True and not _configuration(e)
    if isinstance(e, BoolOp):
        return all(_admin_only(v) for v in e.values) if e.op == "or" else any(_admin_only(v) for v in e.values)
    return False


def _true_for_others(e: Expr | None) -> bool:
    """Is ``e`` true for every caller who is not an administrator: ``not user.is_admin``, ``role != "admin"``,
    ``or`` with one, ``and`` of such tests?"""
    if isinstance(e, Not):
        return _admin_only(e.operand)
    if isinstance(e, Compare):
        return _when_privileged(CompareFact(e.left, e.op, e.right, NOPOS)) is False and not _configuration(e)
    if isinstance(e, BoolOp):
        return any(_true_for_others(v) for v in e.values) if e.op == "or" else all(_true_for_others(v) for v in e.values)
    return False


def admin_check_in(fn: Function) -> Seen | None:
    """An ``if`` in ``fn``, under no other ``if`` or ``except``, whose body raises for every caller who is not an
    administrator, with nothing in an ``else``: ``if not user.is_superuser: raise HTTPException(403)``,
    ``if not ctx.has_user or not (ctx.user.is_admin or ctx.user.is_superuser): raise ...``. A check of roles
    in general, of ownership, or one that rejects only in some cases (``if not user.is_admin and x:``) is not."""
    fact = fn.fact
    guards = fact.guards  # outer before inner: in the order the statements open (a test's own position is sparse)
    for k, g in enumerate(guards):
        if g.orelse_calls or g.orelse_raises or g.orelse_assigns or not g.body_raises:
            continue
        mine = set(g.body_raises)
        if any(mine <= {*o.body_raises, *o.orelse_raises} for o in guards[:k]) \
                or any(mine & set(e.raises) for e in fact.excepts):
            continue  # under another ``if``, or in an ``except`` clause: it may not run
        own = mine - {i for o in guards[k + 1:] for i in (*o.body_raises, *o.orelse_raises)}
        if not own:
            continue  # every ``raise`` of the branch sits under a further ``if``
        if _true_for_others(g.test):
            line = min(fact.raises[i].pos.line for i in own if i < len(fact.raises)) if own else g.pos.line
            return Seen(f"`{fact.name}` rejects every caller who is not an administrator", fn.path, line)
    return None
