"""FAL108 list-without-pagination."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Route
from fastapi_arch_lint.model.expr import Attr, Const, Name
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import (
    aliases_text, pydantic_model, route_entity, route_related, same_handler, unique_routes)
from fastapi_arch_lint.rules.rest._common import (
    PAGINATION_NAMES,
    dependency_class_fields,
    norm_name,
    opaque_dependencies,
    returns_list,
    wire_name,
)

# calls that read a data store (SQLAlchemy, SQLModel, ORMs, Mongo drivers, repositories)
QUERY_CALL = re.compile(
    r"^(?:all|scalars|execute|exec|query|select|fetch\w*|find\w*|filter\w*|where|to_list|search\w*|list\w*"
    r"|get_all\w*|get_multi\w*|read_all\w*|aggregate|scan|paginate|objects|values_list|iterator)$"
)
# words in a dependency or parameter type name that hand the handler a data source
DATA_SOURCE_WORDS = frozenset({"session", "db", "database", "repo", "repository", "conn", "connection", "client",
                               "engine", "uow", "store", "dao", "crud", "collection", "cursor", "pool", "asyncsession",
                               "datastore", "storage", "dynamodb", "mongo", "motor", "redis"})


def _name_words(name: str) -> set[str]:
    short = name.rsplit(".", 1)[-1]
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", short)
    return {w for w in spaced.lower().split("_") if w}


# element types that make a list a small fixed enumeration
ENUM_BASES = ("enum.Enum", "enum.StrEnum", "enum.IntEnum", "builtins.bool", "typing.Literal")


# path segments of a response that is whole by design: a file export or download of everything
WHOLE_SEGMENTS = frozenset({"export", "exports", "download", "downloads"})
_LIST_ANNOTATION_RE = re.compile(
    r"^(?:(?:typing\.)?Annotated\[\s*)?(?:typing\.)?(?:list|List|set|Set|frozenset|tuple|Tuple|Sequence)\b")


def whole_by_design(route: Route) -> bool:
    """An export or download (``/reports/export``): the client asks for everything on purpose."""
    return any(s.lower() in WHOLE_SEGMENTS for s in route.path.split("/") if s and not s.startswith("{"))


def lookup_keys(route: Route) -> str | None:
    """A required query parameter that takes a list (``ids: list[str] = Query(...)``): the client names
    the rows it wants, so the list is as long as the keys it sends."""
    for p in route.params:
        if p.source == "query" and p.required and _LIST_ANNOTATION_RE.match(p.annotation):
            return wire_name(p)
    return None


def _call_name(func: object) -> str:
    if isinstance(func, Attr):
        return func.attr
    if isinstance(func, Name):
        return func.id
    return ""


def reads_data(app: AppModel, route: Route) -> bool:
    """Whether anything suggests the list comes from a data store rather than a fixed enumeration."""
    for d in route.dependencies:
        # only what the handler itself receives: a session an auth dependency opens to load the
        # caller says nothing about where the list comes from
        if d.depth == 0 and d.level == "param" and _name_words(d.name) & DATA_SOURCE_WORDS:
            return True
    for p in route.params:
        if any(_name_words(t) & DATA_SOURCE_WORDS for t in p.type_names):
            return True
    fact = route.handler.fact
    for site in fact.calls:
        if QUERY_CALL.match(_call_name(site.call.func)):
            return True
    for _, site, _, _ in app.callees(route.handler.qualname, depth=3):
        if QUERY_CALL.match(_call_name(site.call.func)):
            return True
    return False


def fixed_cap(app: AppModel, route: Route) -> int | None:
    """A constant ``.limit(N)`` in the handler or what it calls: the list is capped but not pageable."""
    for _, site, _, _ in app.callees(route.handler.qualname, depth=3):
        c = site.call
        if isinstance(c.func, Attr) and c.func.attr == "limit" and len(c.args) == 1 and isinstance(c.args[0], Const) \
                and isinstance(c.args[0].value, int):
            return c.args[0].value
    return None


def is_enumeration(app: AppModel, route: Route) -> bool:
    items = route.response_model_types[1:]
    if not items:
        return False
    for t in items:
        bases = (t,) + app.class_bases.get(t, ())
        if not any(b in ENUM_BASES for b in bases):
            return False
    return True


def pagination_params(app: AppModel, route: Route) -> list[str]:
    names = [wire_name(p) for p in route.params if p.source in ("query", "header", "cookie", "path")]
    names += [f for _, f in dependency_class_fields(app, route)]
    for p in route.params:
        if p.source == "query":  # ``Annotated[Filters, Query()]`` query-parameter models
            m = next((pydantic_model(app, t) for t in p.type_names if pydantic_model(app, t) is not None), None)
            if m is not None:
                names += [f.name for f in m.fields]
    return [n for n in names if norm_name(n) in PAGINATION_NAMES]


@register
class ListWithoutPagination(Rule):
    code = "FAL108"
    name = "list-without-pagination"
    summary = "A GET returns a list read from a data store but takes no pagination parameters"
    # info: whether a list needs pages depends on how large the collection grows, which the code does not
    # say. Read on real backends, most warnings were small scoped lists (one group's share tokens, pending
    # invitations) or lists computed from a fixed set of detectors, and readers did not want them changed
    severity = Severity.INFO
    confidence = Confidence.MEDIUM
    owasp = ("API4:2023",)
    cwe = ("CWE-770",)

    def check(self, app: AppModel) -> Iterator[Finding]:
        # one finding per handler: its stacked aliases (``/items`` and ``/items/``) return the same list
        for route, others in same_handler(self._unpaged(app)):
            handler = route.handler.qualname.rsplit(".", 1)[-1]
            cap = fixed_cap(app, route)
            effect = (f"the list is cut at a fixed `.limit({cap})` and clients cannot reach the rest" if cap is not None
                      else "every request reads and serialises the whole collection")
            # ``/teams/{team_id}/members``: the children of one parent, as many as the parent has
            parent = _parent_param(route.path)
            if parent is not None:
                effect += f" of one `{parent}` (a sub-collection: its parent bounds it, so this is a hint)"
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`{route.display()}` ({handler}) returns `{route.response_model}` with no pagination "
                f"parameter: {effect}{aliases_text(others)}",
                help="take `limit` (bounded, e.g. `Query(20, ge=1, le=100)`) and `offset` or a `cursor`, "
                     "through a shared pagination dependency, and return a page (`items` plus `next`/`total`)",
                related=route_related(route),
                entity=route_entity(route),
            )

    @staticmethod
    def _unpaged(app: AppModel) -> Iterator[Route]:
        """GET routes that return a list read from data, with no way to ask for a page of it."""
        for route in unique_routes(app):
            if route.kind != "http" or "GET" not in route.methods or route.path_unresolved:
                continue
            if not returns_list(route) or is_enumeration(app, route):
                continue
            if pagination_params(app, route) or whole_by_design(route) or lookup_keys(route):
                continue
            opaque = opaque_dependencies(app, route)
            if any(re.search(r"(?i)pag|limit|cursor|offset|params", o.rsplit(".", 1)[-1]) for o in opaque):
                continue  # e.g. ``fastapi_pagination.Params``: an external pagination dependency
            if not reads_data(app, route):
                continue  # computed in memory from constants: most likely a small fixed list
            yield route


def _parent_param(path: str) -> str | None:
    """The path parameter a collection hangs under (``team_id`` in ``/teams/{team_id}/members``), when the
    last segment is static and a parameter comes before it; None for a top-level collection. A parameter that
    opens the path (``/{organization}/orders``) scopes a whole API to a tenant, not to a parent record."""
    segs = [s for s in path.split("/") if s]
    if not segs or segs[-1].startswith("{"):
        return None
    params = [(i, s) for i, s in enumerate(segs[:-1]) if s.startswith("{") and s.endswith("}") and i > 0]
    if not params:
        return None
    return params[-1][1][1:-1].split(":", 1)[0]
