"""FAL408 privileged-route-without-role-check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.model.expr import Name
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
    handler_name,
    privileged,
    shared_secret_only,
    short,
)
from fastapi_arch_lint.rules.auth._roles import (
    PRIVILEGE_FLAG_RE,
    Seen,
    atom_text,
    caller_words,
    judge,
    rejects,
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
    admin = next((f"sits under the admin path segment `/{s}`" for s in literal if ADMIN_WORD_RE.search(s)), None) \
        or next((f"is tagged `{t}`" for t in route.tags if ADMIN_WORD_RE.search(t)), None)
    if admin is not None:
        return None if _public_read(route) else Operation(admin, True)
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
            if "GET" in methods and s.lower() == "users" and not _answers_dependency(app, route):
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


# the route says what it serves is for everyone: its own last path segment (``/admin/settings/public``) or
# its response model named as the public kind of a thing (``PublicSiteConfig``); not ``UserPublic``, the usual
# name of a record's publicly shown fields, which says nothing about who may list the records
PUBLIC_SEGMENT_RE = re.compile(r"(^|[-_.])public($|[-_.])", re.I)
PUBLIC_MODEL_RE = re.compile(r"^Public(?=[A-Z])")


def _public_read(route: Route) -> bool:
    """A read under an admin prefix that names itself public: the public subset of an admin area,
    served to every caller on purpose (beside it, the full variant is the privileged one). A write is
    not: ``PUT /admin/posts/{id}/public`` publishes."""
    if set(route.methods) - {"GET", "HEAD", "OPTIONS"}:
        return False
    segs = segments(route.path)
    if segs and not is_param(segs[-1]) and PUBLIC_SEGMENT_RE.search(segs[-1]):
        return True
    model = (route.response_model or "").rsplit(".", 1)[-1]
    return bool(PUBLIC_MODEL_RE.match(model))


def _answers_dependency(app: AppModel, route: Route) -> bool:
    """The handler only returns what a dependency gave it (``return current_user``): it answers the caller's
    own account (or another single value the dependency looked up), not a listing of users."""
    fn = app.function(route.handler.qualname)
    if fn is None or not fn.fact.scope.returns:
        return False
    given = {p.name for p in route.params if p.source in ("dependency", "security")}
    return all(isinstance(r.value, Name) and r.value.id in given for r in fn.fact.scope.returns)


def _privilege_fields(app: AppModel, route: Route) -> list[str]:
    out: list[str] = []
    for q in route.request_models:
        m = pydantic_model(app, q)
        if m is not None:
            out.extend(f.name for f in m.fields if PRIVILEGE_FIELD_RE.match(f.name) and f.name not in out)
    return out


# -- what counts as a role check ---------------------------------------------------------------

_USER_TABLE_RE = re.compile(r"user|account|member|principal|profile|staff|employee|person|admin", re.I)
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
            if PRIVILEGE_FLAG_RE.match(c.name) or (user_like and _ROLE_COLUMN_RE.match(c.name)):
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
            if not rejects(fn.fact, g):
                continue
            for _neg, atom in g.tests:
                if any(_ROLE_WORD_RE.search(w) for w in caller_words(atom)):
                    return Seen(f"`{fn.fact.name}` rejects on `{atom_text(atom)}`", fn.path, g.pos.line)
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
            if shared_secret_only(app, route):
                continue  # every caller holds the deployment's one secret: there is no lesser user to keep out
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
