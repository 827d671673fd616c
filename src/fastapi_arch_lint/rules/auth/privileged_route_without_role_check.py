"""FAL408 privileged-route-without-role-check."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastapi_arch_lint.analysis.calls import reached_functions
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import Attr, Call, Const, Expr, Name, dotted, render, walk
from fastapi_arch_lint.model.facts import CompareFact, FunctionFact, GuardFact
from fastapi_arch_lint.model.paths import is_test_path
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import (
    STATE_CHANGING,
    is_param,
    memo,
    pydantic_model,
    route_entity,
    route_related,
    segments,
    unique_routes,
)
from fastapi_arch_lint.rules.auth._common import (
    PRIVILEGE_RE,
    dependency_functions,
    func_name,
    handler_name,
    names_in,
    principal_params,
    privileged,
    short,
)

# -- what makes an operation privileged --------------------------------------------------------

# a path segment, tag or module named for administration: ``/admin``, ``admin-users``, ``superuser``
ADMIN_WORD_RE = re.compile(
    r"(^|[-_.])(admin|admins|administration|administrator|superuser|superusers|super[-_]?admin|sys[-_]?admin)($|[-_.])",
    re.I)
USERS_SEGMENTS = frozenset({"users", "user"})
# the caller's own account: ``/users/me``, ``/users/self/password``
SELF_SEGMENTS = frozenset({"me", "self", "current", "my", "mine", "profile", "current-user", "current_user", "whoami"})
# what one does to another user's account beyond editing it: ``/users/{id}/roles``, ``/users/{id}/deactivate``
USER_ACTION_RE = re.compile(
    r"^(roles?|permissions?|privileges?|scopes?|admin|superuser|staff|activate|deactivate|disable|enable|ban|unban"
    r"|block|unblock|suspend|unsuspend|lock|unlock|reset[-_]?password|password|promote|demote|impersonate|approve"
    r"|toggle[-_]\w+)$", re.I)
# what may stand before the app's own ``/users``: an API or version prefix, the auth or accounts area
API_PREFIX_RE = re.compile(r"^(api|v\d+(\.\d+)?|rest|public|private|internal|auth|iam|accounts?|identity|manage"
                           r"|management|core)$", re.I)
# (not ``/acl`` or ``/grants``: a user's own API-token ACLs and OAuth grants are self-service)
ROLE_SEGMENT_RE = re.compile(r"^(roles?|permissions?|privileges?|role[-_]assignments?)$", re.I)
ROLE_HANDLER_RE = re.compile(
    r"^(set|update|change|assign|grant|revoke|add|remove|toggle|make|promote|demote|elevate)_(\w+_)?"
    r"(role|roles|permission|permissions|privilege|privileges|admin|superuser|staff)$|^(promote|demote|impersonate)(_\w+)?$",
    re.I)
# request-body fields that grant privileges
PRIVILEGE_FIELD_RE = re.compile(
    r"^(is_)?(super_?user|super_?admin|admin|staff)$|^(role|roles|user_role|user_type|permissions|scopes|access_level)$",
    re.I)


@dataclass(frozen=True)
class Operation:
    what: str
    strong: bool  # clearly privileged (warning); else worth a look (info)


def operation(app: AppModel, route: Route) -> Operation | None:
    """What makes the route's operation privileged, if anything: an admin path segment, tag or module,
    a change of roles or permissions, another user's account, the list of all users."""
    segs = segments(route.path)
    literal = [s for s in segs if not is_param(s)]
    if any(s.lower() in SELF_SEGMENTS for s in literal):
        return None  # the caller's own account
    methods = set(route.methods)
    changing = methods & STATE_CHANGING
    for s in literal:
        if ADMIN_WORD_RE.search(s):
            return Operation(f"sits under the admin path segment `/{s}`", True)
    for t in route.tags:
        if ADMIN_WORD_RE.search(t):
            return Operation(f"is tagged `{t}`", True)
    name = handler_name(route)
    if changing and ROLE_HANDLER_RE.match(name):
        return Operation(f"changes roles or permissions (`{name}`)", True)
    for s in literal:
        if changing and ROLE_SEGMENT_RE.match(s):
            return Operation(f"changes roles or permissions (`/{s}`)", True)
    fields = _privilege_fields(app, route) if changing else []
    for i, s in enumerate(segs):
        if s.lower() not in USERS_SEGMENTS:
            continue
        rest = segs[i + 1:]
        under_parent = any(is_param(p) for p in segs[:i])  # ``/orgs/{org_id}/users``: one organization's users
        if not under_parent and not all(API_PREFIX_RE.match(p) for p in segs[:i]):
            continue  # ``/integrations/chat/users``: another system's users, not the app's accounts
        if fields:
            return Operation(f"sets {', '.join(f'`{f}`' for f in fields)} on a user account", True)
        if not rest:
            if "GET" in methods and s.lower() == "users":
                return Operation("lists " + ("the users of a parent resource" if under_parent else "all users"),
                                 not under_parent)
            if "POST" in methods:
                return Operation("creates user accounts", False)
        elif is_param(rest[0]):
            if len(rest) == 1 and "DELETE" in methods:
                return Operation("deletes another user's account", True)
            if len(rest) == 1 and changing & {"PUT", "PATCH"}:
                return Operation("changes another user's account", True)
            if len(rest) == 2 and changing and USER_ACTION_RE.match(rest[1]):
                return Operation(f"acts on another user's account (`/{rest[1]}`)", True)
    return None


def _privilege_fields(app: AppModel, route: Route) -> list[str]:
    out: list[str] = []
    for q in route.request_models:
        m = pydantic_model(app, q)
        if m is not None:
            out.extend(f.name for f in m.fields if PRIVILEGE_FIELD_RE.match(f.name) and f.name not in out)
    return out


# -- what counts as a role check ---------------------------------------------------------------

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


def _caller_words(expr: object) -> list[str]:
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


def _atom_text(atom: object) -> str:
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


def _rejects(fact: FunctionFact, g: GuardFact) -> bool:
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
        return True if _PRIVILEGE_FLAG_RE.match(name) else None
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
        if not _rejects(fact, g):
            continue
        for neg, atom in g.tests:
            if (privilege_test(atom) and not _rejects_privileged(fact, g, neg, atom)) or (
                    principal_test(atom, principals) and _rejects_others(fact, g, neg, atom)):
                return Seen(f"`{fact.name}` rejects on `{_atom_text(atom)}`", fn.path, g.pos.line)
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
            return Seen(f"`{fn.fact.name}` compares `{_atom_text(c)}`", fn.path, c.pos.line)
    for site, target in fn.calls:
        if target is not None and target in project:
            continue
        if SCOPED_CALL_RE.match(func_name(site.call)) and principal_test(site.call, principals):
            return Seen(f"`{fn.fact.name}` passes the caller to `{func_name(site.call)}`", fn.path, site.pos.line)
    return None


# -- does the app know roles at all ------------------------------------------------------------

_USER_TABLE_RE = re.compile(r"user|account|member|principal|profile|staff|employee|person|admin", re.I)
_PRIVILEGE_FLAG_RE = re.compile(r"^(is_)?(super_?user|super_?admin|sys_?admin|admin|staff|root)$", re.I)
_ROLE_COLUMN_RE = re.compile(r"^(role|roles|user_role|user_type|permissions|scopes|access_level|role_id|group_id)$",
                             re.I)
_ROLE_TABLE_RE = re.compile(r"^(user_?)?(roles?|permissions?|role_?permissions?|user_?roles?)$", re.I)
# what names a role check (not any privilege-like word: ``flow_policy``, ``owner`` do not say the app has roles)
# (a permission check may be about ownership: ``check_article_modification_permissions``)
_ROLE_NAME_RE = re.compile(r"admin|superuser|staff|role|moderator|scope", re.I)
_ROLE_WORD_RE = re.compile(r"^(is_|has_)?(super_?user|super_?admin|sys_?admin|admin|administrator|staff)(_user|_role)?$"
                           r"|^(user_)?roles?$|_role$|^permissions?$|^has_(permission|role)s?$", re.I)
_ROLE_CLASS_RE = re.compile(r"^(User|Member|Account|Org|Organization|Team|Workspace|Group|Project|Tenant)?"
                            r"(Role|Roles|Permission|Permissions)$")


def role_concept(app: AppModel) -> Seen | None:
    """Does the app know roles: a privilege flag or role on its user table, a role table or enum, a role
    check on some route? What shows it, or None (then nothing is privileged to begin with)."""
    return memo(app, _role_concept)


def _role_concept(app: AppModel) -> Seen | None:
    for t in app.tables:
        user_like = bool(_USER_TABLE_RE.search(t.name)) or bool(t.tablename and _USER_TABLE_RE.search(t.tablename))
        for c in t.columns:
            if _PRIVILEGE_FLAG_RE.match(c.name) or (user_like and _ROLE_COLUMN_RE.match(c.name)):
                return Seen(f"the column `{t.name}.{c.name}`", t.path, c.line)
        if _ROLE_TABLE_RE.match(t.name) or (t.tablename and _ROLE_TABLE_RE.match(t.tablename)):
            return Seen(f"the table `{t.name}`", t.path, t.line)
    for r in unique_routes(app):
        if r.privileged:
            return Seen(f"{r.privileged} on `{r.display()}`", r.registered.path, r.registered.line)
    for r in unique_routes(app):
        named = privileged(app, r)
        if named and _ROLE_NAME_RE.search(named):
            return Seen(f"{named} on `{r.display()}`", r.registered.path, r.registered.line)
    for _q, (path, cf) in app.classes.items():
        if _ROLE_CLASS_RE.match(cf.name):
            return Seen(f"the class `{cf.name}`", path, cf.pos.line)
    for fn in app.functions.values():
        if is_test_path(fn.path):
            continue
        for g in fn.fact.guards:
            if not _rejects(fn.fact, g):
                continue
            for _neg, atom in g.tests:
                if any(_ROLE_WORD_RE.search(w) for w in _caller_words(atom)):
                    return Seen(f"`{fn.fact.name}` rejects on `{_atom_text(atom)}`", fn.path, g.pos.line)
    return None


# -- the rule ----------------------------------------------------------------------------------


def _principal_source(route: Route) -> str:
    v = route.auth.via[0]
    name = v.chain[0] if v.chain else v.name
    return f"`{name}` ({v.kind}, {v.level})"


def _principal_related(app: AppModel, route: Route) -> Related:
    """Where the caller comes from: the auth dependency's definition, else where the auth is attached."""
    v = route.auth.via[0]
    name = v.chain[0] if v.chain else v.name
    for d in route.dependencies:
        fn = app.functions.get(d.name)
        if fn is not None and short(d.name) == name:
            return Related(fn.path, fn.fact.pos.line, f"the caller comes from `{name}`")
    return Related(v.path, v.line, f"the caller is authenticated by `{v.name}`")


@register
class PrivilegedRouteWithoutRoleCheck(Rule):
    code = "FAL408"
    name = "privileged-route-without-role-check"
    summary = ("An admin or user-management route (admin path or tag, role changes, other users' accounts, the "
               "list of all users) that any authenticated user may call, in an app that has roles")
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "when the operation is only maybe privileged (creating users, listing a "
                                       "parent's users) or the caller is handed to code the review cannot read"}
    confidence = Confidence.MEDIUM
    cwe = ("CWE-285",)
    owasp = ("API5:2023",)
    security_severity = 8.1

    def check(self, app: AppModel) -> Iterator[Finding]:
        concept = None
        for route in unique_routes(app):
            if route.kind != "http" or not route.auth.via or all(v.optional for v in route.auth.via):
                continue
            op = operation(app, route)
            if op is None:
                continue
            if concept is None:
                concept = role_concept(app)
                if concept is None:
                    return  # no roles anywhere: every authenticated user may do everything, by design
            v = judge(app, route)
            if v.check is not None or v.scoped is not None:
                continue
            if not op.strong and v.handed:
                continue
            methods = ",".join(route.methods)
            handed = f" (the caller is handed to {v.handed})" if v.handed else ""
            related = [Related(route.registered.path, route.registered.line, f"`{methods} {route.path}` registered here"),
                       *route_related(route),
                       _principal_related(app, route),
                       Related(concept.path, concept.line, f"roles exist: {concept.text}")]
            weak = not op.strong or bool(v.handed)
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{methods} {route.path}` (`{handler_name(route)}`) {op.what}, but any authenticated user may call "
                f"it: the caller comes from {_principal_source(route)} and no role or permission check is seen on "
                f"its dependencies, its handler or the project functions it calls{handed}; the app has roles "
                f"({concept.text})",
                help="require a privileged caller where the route is declared (`dependencies=[Depends("
                     "get_current_superuser)]`, a `require_role(\"admin\")` dependency on the router or the include) "
                     "or reject in the handler (`if not current_user.is_superuser: raise HTTPException(403)`); if "
                     "every user may do this on purpose, suppress with `# noqa: FAL408`",
                related=related,
                entity=route_entity(route),
                severity=Severity.INFO if weak else None,
                confidence=Confidence.LOW if weak else None,
            )
