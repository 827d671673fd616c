"""FAL101 verb-in-path."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from fastapi_arch_lint.analysis.names import words
from fastapi_arch_lint.analysis.taint import model_of
from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Loc, Route
from fastapi_arch_lint.model.paths import is_test_path
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._house import House, app_label, project_finding
from fastapi_arch_lint.rules._house import enabled as house_enabled
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules._util import is_param, pydantic_model, route_entity, route_related, unique_routes
from fastapi_arch_lint.rules.http._common import writes
from fastapi_arch_lint.rules.rest._common import segment_origin

VERBS = (
    "get", "fetch", "retrieve", "read", "list", "create", "add", "insert", "new", "make", "update", "edit",
    "modify", "change", "set", "delete", "remove", "destroy", "erase", "save", "put", "post", "patch",
)
# a segment that is exactly one of these words names a sub-resource or a form (``/items/new``,
# ``/todos/list``), not an RPC-style verb phrase like ``/get-user`` or ``/createOrder``
BARE_NOUNS = frozenset({"list", "new", "set", "read", "get", "post"})
# verbs that are also nouns (a change, an update, an edit) and the head nouns that make a compound of
# them a noun phrase: ``change-preview`` is the preview of a change, ``update-history`` a record of
# updates; ``change-owner`` (a verb and its object) is still a verb phrase
NOUN_VERBS = frozenset({"change", "update", "edit", "post", "list", "set", "read", "delete"})
NOUN_HEADS = frozenset({"preview", "previews", "history", "histories", "log", "logs", "request", "requests",
                        "event", "events", "feed", "feeds", "summary", "summaries", "count", "counts"})


# verb families: a segment that is exactly a synonym of a house verb segment (``edit`` where ``update`` is the
# house style, ``remove`` where ``delete`` is, ``create`` where ``add`` is) follows the same convention
VERB_FAMILIES = {
    "get": "get", "fetch": "get", "retrieve": "get", "read": "get",
    "create": "create", "add": "create", "insert": "create", "new": "create", "make": "create",
    "update": "update", "edit": "update", "modify": "update", "change": "update",
    "delete": "delete", "remove": "delete", "destroy": "delete", "erase": "delete",
}
# a segment whose last word says that what follows are actions: ``/bulk-actions/delete``, ``/rpc/add``
HOUSE_PLACES = 3  # naming decisions with the same verb segment that make it the API's convention
ACTION_NAMESPACES = frozenset({"action", "actions", "command", "commands", "rpc"})


def in_action_namespace(parts: list[str], index: int) -> bool:
    """A literal segment before ``index`` opens a namespace of actions, where verbs are the names."""
    return any(not is_param(p) and p.replace("_", "-").lower().split("-")[-1] in ACTION_NAMESPACES
               for p in parts[:index] if p)


def noun_compound(segment: str, verb: str) -> bool:
    """``change-preview``: the verb word modifies a head noun that names a record or view of it."""
    words = segment.replace("_", "-").lower().split("-")
    return verb in NOUN_VERBS and len(words) > 1 and words[0] == verb and words[-1] in NOUN_HEADS


def new_names_a_member(parts: list[str], index: int) -> bool:
    """``new`` is an adjective, not a verb: it makes a verb phrase only before the noun of the collection
    the segment sits in (``/items/new-item``, ``/items/newItem``: make an item); elsewhere it qualifies
    its noun (``/new-arrivals``, ``/api/v1/new_chat``, the newer of two chat APIs)."""
    seg_words = words(parts[index])
    before = [p for p in parts[:index] if p and not is_param(p)]
    if len(seg_words) < 2 or not before:
        return False
    collection = words(before[-1])
    return bool(collection) and seg_words[-1].rstrip("s") == collection[-1].rstrip("s")


# RPC style: a router (or a whole app) most of whose routes end in an action (``POST /list``,
# ``/get``, ``/create``, ``/apply``, ``/delete_instances``) names its endpoints by what they do on
# purpose; a verb segment there follows the house style, and the style is said once (info)
RPC_SHARE = 0.75  # share of a group's routes whose last segment is an action
RPC_ROUTER_MINIMUM = 5  # routes of one router
RPC_APP_MINIMUM = 8  # routes of one app
# action words beyond ``VERBS`` that, as a route's last segment, name an operation, not a resource
RPC_ACTIONS = frozenset({
    "apply", "cancel", "stop", "start", "submit", "restart", "terminate", "attach", "detach", "enable",
    "disable", "publish", "unpublish", "rename", "clear", "trigger", "retry", "abort", "resume", "pause",
    "upload", "download", "refresh", "poll", "init", "sync", "import", "export", "register", "unregister",
    "generate",
})
# verbs that, after a noun inside one segment, make it a noun-first action (``node_get_status``,
# ``node_generate_stream``, ``job_refresh``); the verbs that are also nouns (``blog_post``, ``price_list``,
# ``status_update``, ``data_set``) are left out
NOUN_FIRST_VERBS = frozenset({
    "get", "fetch", "retrieve", "create", "add", "insert", "modify", "remove", "destroy", "erase", "generate",
    "register", "unregister", "refresh", "cancel", "restart", "terminate", "trigger", "retry", "abort",
})


def ends_in_action(path: str) -> bool:
    """The route's last segment is a verb or a verb phrase (bare ``list`` and ``get`` too: an RPC name)."""
    parts = [p for p in path.split("/") if p]
    if not parts or is_param(parts[-1]):
        return False
    seg = parts[-1]
    seg_words = words(seg)
    if not seg_words:
        return False
    verb = verb_of(seg)
    if verb is not None:
        if noun_compound(seg, verb):
            return False
        return verb != "new" or new_names_a_member(parts, len(parts) - 1)
    return seg_words[0] in RPC_ACTIONS or any(w in NOUN_FIRST_VERBS for w in seg_words[1:])


@lru_cache(maxsize=4096)  # the same few hundred segments recur in thousands of paths
def verb_of(segment: str) -> str | None:
    words = segment.replace("_", "-").lower().split("-")
    if not words or not words[0]:
        return None
    first = words[0]
    # ``getUser`` / ``createOrder`` in camelCase
    for v in VERBS:
        if first == v and (len(words) > 1 or len(segment) == len(v)):
            return v
        if segment.startswith(v) and len(segment) > len(v) and segment[len(v)].isupper():
            return v
    return None


# verb-led naming: an app that names its action segments verb_noun (``set_pin``, ``set-primary``, ``add_note``,
# ``add_feed_source``, ``update_catalog``) has each segment unique, so the same-segment house style never
# sees it; counted by the leading verb instead, a verb that leads this many different segments of the app is
# its naming convention...
VERB_LED_PLACES = 3
# ...in an app with at least this many different verb-led segments (a REST API with a few slips has none)
VERB_LED_MINIMUM = 8
# a router with at least this many paths, only one of which has a verb segment, is resource-shaped: that
# segment is an outlier there, whatever the app's convention
RESOURCE_ROUTER_MINIMUM = 5
# a bare segment that names a read-only query, as ``search`` does: ``POST /documents/retrieve`` with the query
# in its body (a top-k retrieval), when nothing on its path writes
QUERY_ACTIONS = frozenset({"retrieve"})
# a body field (or a body parameter) that carries such a query
QUERY_FIELDS = frozenset({"query", "question", "q", "keyword", "keywords", "top_k"})
QUERY_WRITE_DEPTH = 4


def query_action(app: AppModel, route: Route, seg: str) -> bool:
    """``POST .../retrieve`` with a query in its body (``query``, ``top_k``) and no write on its path: a query
    operation, like ``/search``."""
    if seg.lower() not in QUERY_ACTIONS or set(route.methods) != {"POST"}:
        return False
    fields: set[str] = set()
    for p in route.params:
        if p.source not in ("body", "form"):
            continue
        fields.add(p.name.lower())
        model = pydantic_model(app, model_of(app, p.type_names) or "")
        fields.update(f.name.lower() for f in (model.fields if model is not None else ()))
    return bool(fields & QUERY_FIELDS) and not any(True for _ in writes(app, route.handler.qualname, QUERY_WRITE_DEPTH))


def rpc_groups(app: AppModel, routes: list[Route]) -> dict[str, tuple[str, list[Route], int]]:
    """The apps, and the routers outside them, whose routes mostly end in an action: group id to
    (a label for the message, the routes that end in an action, the group's route count)."""
    groups: dict[str, tuple[str, list[Route], int]] = {}

    def judge(key: str, label: str, members: list[Route], minimum: int) -> None:
        # one vote per path: a proxy registered for seven methods on one path is one naming decision
        by_path: dict[str, Route] = {}
        for r in sorted(members, key=lambda r: (r.registered.path, r.registered.line, r.registered.col)):
            by_path.setdefault(r.path, r)
        acting = [r for path, r in by_path.items() if ends_in_action(path)]
        if len(by_path) >= minimum and len(acting) >= RPC_SHARE * len(by_path):
            acting.sort(key=lambda r: (r.registered.path, r.registered.line, r.registered.col))
            groups[key] = (label, acting, len(by_path))

    by_app: dict[str, list[Route]] = {}
    for r in routes:
        by_app.setdefault(r.app, []).append(r)
    for app_id, members in by_app.items():
        judge(app_id, f"the API of `{app_label(app, app_id)}`", members, RPC_APP_MINIMUM)
    by_router: dict[str, list[Route]] = {}
    for r in routes:
        if r.app not in groups and r.router != r.app:
            by_router.setdefault(r.router, []).append(r)
    names = {router.id: router.name for router in app.routers}
    for router_id, members in by_router.items():
        name = f"{router_id.split(':', 1)[0]}.{names.get(router_id, 'router')}"  # line-independent
        judge(router_id, f"router `{name}`", members, RPC_ROUTER_MINIMUM)
    return groups


def _verb_led_houses(
    judged: list[Route], places: dict[tuple[object, ...], tuple[Loc | None, list[tuple[Route, str, str]]]],
    led: dict[str, dict[str, set[str]]], housed: set[str],
) -> Iterator[tuple[str, list[tuple[str, int]], list[tuple[tuple[object, ...], tuple[Loc, str]]]]]:
    """The apps that name their actions verb-first: ``(app id, [(verb, segments it leads)], [(place key, (loc,
    label))])`` with the places (not already said as a same-segment house style) whose verb leads
    ``VERB_LED_PLACES`` or more different segments of an app with ``VERB_LED_MINIMUM`` of them, leaving out the
    only verb segment of a resource-shaped router."""
    router_paths: dict[str, set[str]] = {}
    for r in judged:
        router_paths.setdefault(r.router, set()).add(r.path)
    router_verbs: dict[str, set[str]] = {}  # the paths of each router that carry a reported verb segment
    for _loc, routes in places.values():
        for r, _verb, _where in routes:
            router_verbs.setdefault(r.router, set()).add(r.path)
    by_app: dict[str, list[tuple[tuple[object, ...], tuple[Loc, str]]]] = {}
    used: dict[str, dict[str, int]] = {}
    for key, (prefix_loc, routes) in places.items():
        if str(key[-1]).lower() in housed:
            continue
        first = min((r for r, _, _ in routes), key=lambda r: (r.registered.path, r.registered.line, r.registered.col))
        verbs = led.get(first.app, {})
        verb = routes[0][1]
        if sum(len(v) for v in verbs.values()) < VERB_LED_MINIMUM or len(verbs.get(verb, ())) < VERB_LED_PLACES:
            continue
        if all(len(router_paths.get(r.router, ())) >= RESOURCE_ROUTER_MINIMUM
               and len(router_verbs.get(r.router, ())) < 2 for r, _, _ in routes):
            continue  # the one verb segment of a resource-shaped router: an outlier
        by_app.setdefault(first.app, []).append((key, (prefix_loc or first.registered, f"`{first.display()}`")))
        used.setdefault(first.app, {})[verb] = len(verbs[verb])
    for app_id in sorted(by_app):
        found = sorted(used[app_id].items(), key=lambda vn: (-vn[1], vn[0]))
        yield app_id, found, by_app[app_id]


@register
class VerbInPath(Rule):
    code = "FAL101"
    name = "verb-in-path"
    summary = "A path segment is a verb (`/get-user`, `/createOrder`): the HTTP method is the verb"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: f"once per verb segment the API uses in {HOUSE_PLACES} or more places, once "
                                       "per app that names its actions verb-first (`add_note`, `set_pin`), and once "
                                       "per RPC-style router or app: its house style"}
    default_options = {"allow": ["login", "logout", "search", "refresh", "verify", "reset-password",
                                 "change-password"], "house_style": True}

    def check(self, app: AppModel) -> Iterator[Finding]:
        allow = {a.lower() for a in self.options["allow"]}
        # one finding per place that writes the segment: a prefix once for every route beneath it, and
        # a route's own segment once for every route under the same path up to it (``/recipes/create``
        # above ``/recipes/create/url`` and ``/recipes/create/zip`` is one naming decision)
        places: dict[tuple[object, ...], tuple[Loc | None, list[tuple[Route, str, str]]]] = {}
        judged = [r for r in unique_routes(app) if r.kind == "http" and not r.path_unresolved
                  and not is_test_path(r.handler.path)  # a mock server under ``tests/``: it ships to no client
                  and not renders_html(app, r)]
        rpc = rpc_groups(app, judged) if house_enabled(self.options) else {}
        reported: set[str] = set()  # the RPC-style groups with a verb segment the rule would report
        led: dict[str, dict[str, set[str]]] = {}  # by app, each verb and the different segments it leads
        for route in judged:
            group = route.app if route.app in rpc else route.router if route.router in rpc else None
            parts = route.path.split("/")
            for index, seg in enumerate(parts):
                if not seg or is_param(seg) or seg.lower() in allow:
                    continue
                verb = verb_of(seg)
                if verb is None:
                    continue
                if seg.lower() == verb and verb in BARE_NOUNS:
                    # a bare ``/list`` or ``/new`` segment is usually a resource or action name: not reported
                    continue
                if noun_compound(seg, verb) or in_action_namespace(parts, index):
                    continue
                if verb == "new" and not new_names_a_member(parts, index):
                    continue
                if query_action(app, route, seg):
                    continue
                led.setdefault(route.app, {}).setdefault(verb, set()).add(seg.lower())
                if group is not None:
                    reported.add(group)  # said once below, with its group's style
                    break
                loc, where = segment_origin(app, route, index)
                key: tuple[object, ...] = (loc, seg)
                if where == "the route path":
                    key, loc = (route.app, "/".join(parts[:index + 1]), seg), None
                places.setdefault(key, (loc, []))[1].append((route, verb, where))
                break
        for group, (label, routes, total) in sorted(rpc.items()):
            if group not in reported:
                continue  # nothing to say once: none of its segments is a verb the rule reports
            yield project_finding(
                self, House("rpc", len(routes), total), [(r.registered, f"`{r.display()}`") for r in routes],
                f"{label} is RPC-style: {len(routes)} of its {total} route paths end in an action "
                f"(e.g. `{routes[0].display()}`); judged as its house style, so its verb segments are not "
                "reported one by one",
                help="resource nouns and HTTP methods (`DELETE /items/{id}`) are what REST clients and generated "
                     "SDKs expect; if RPC-style endpoints are a deliberate convention, keep them consistent and "
                     "document them. Set `house_style = false` to see each verb segment",
                entity=f"rpc {label.split('`')[1]}",
            )
        housed: set[str] = set()
        if house_enabled(self.options):
            # one verb the API uses in several naming decisions (``/revisions/retrieve`` under every
            # resource, ``/add`` and ``/delete`` in every router) is its convention: said once
            by_seg: dict[str, list[tuple[Loc, str]]] = {}
            for key, (prefix_loc, routes) in places.items():
                first = min((r for r, _, _ in routes), key=lambda r: (r.registered.path, r.registered.line))
                by_seg.setdefault(str(key[-1]).lower(), []).append(
                    (prefix_loc or first.registered, f"`{first.display()}`"))
            houses = {seg: where for seg, where in by_seg.items() if len(where) >= HOUSE_PLACES}
            # a bare synonym of a house verb (``/edit`` beside ten ``/update``) follows the same convention
            synonyms: dict[str, list[str]] = {}
            for seg in sorted(by_seg):
                if seg in houses or seg not in VERB_FAMILIES:
                    continue
                kin = sorted((h for h in houses if VERB_FAMILIES.get(h) == VERB_FAMILIES[seg]),
                             key=lambda h: (-len(houses[h]), h))
                if kin:
                    synonyms.setdefault(kin[0], []).append(seg)
            for seg, where in sorted(houses.items()):
                alike = synonyms.get(seg, [])
                housed.update((seg, *alike))
                also = ""
                if alike:
                    also = " and its synonym " + ", ".join(f"`{a}` in {len(by_seg[a])}" for a in alike)
                yield project_finding(
                    self, House(seg, len(where), len(where)), where + [p for a in alike for p in by_seg[a]],
                    f"this API names actions with the segment `{seg}` in {len(where)} places{also} (judged as its "
                    f"house style: a verb segment is reported where the API uses it, or a synonym of it, fewer than "
                    f"{HOUSE_PLACES} times)",
                    help="resource nouns and HTTP methods (`DELETE /items/{id}`) are what REST clients and "
                         "generated SDKs expect; if action segments are a deliberate convention, keep them "
                         "consistent and document them. Set `house_style = false` to see each place",
                    entity=f"verb {seg}",
                )
        verb_led: set[tuple[object, ...]] = set()  # the places judged as an app's verb-led naming
        if house_enabled(self.options):
            for app_id, found, where in _verb_led_houses(judged, places, led, housed):
                verb_led.update(key for key, _ in where)
                counts = ", ".join(f"`{v}` {n}" for v, n in found)
                total = sum(len(segs) for segs in led[app_id].values())
                shown = [(loc, label) for _, (loc, label) in where]
                yield project_finding(
                    self, House("verb-led", len(shown), total), shown,
                    f"the API of `{app_label(app, app_id)}` names its actions with verb-led segments (`verb_noun`): "
                    f"{total} different segments start with a verb, and these verbs lead {VERB_LED_PLACES} or more "
                    f"each: {counts}; judged as its house style, so {len(shown)} such places are not reported one "
                    f"by one (a verb it uses fewer times, or the only verb segment of a resource-style router, is)",
                    help="resource nouns and HTTP methods (`DELETE /items/{id}`) are what REST clients and generated "
                         "SDKs expect; if verb-led action segments are a deliberate convention, keep them consistent "
                         "and document them. Set `house_style = false` to see each place",
                    entity=f"verb-led {app_label(app, app_id)}",
                )
        for key, (prefix_loc, routes) in places.items():
            seg = str(key[-1])
            if seg.lower() in housed or key in verb_led:
                continue
            if prefix_loc is None:  # the first route in the source stands for the others
                routes.sort(key=lambda r: (r[0].registered.path, r[0].registered.line, r[0].registered.col))
            route, verb, where = routes[0]
            loc = prefix_loc or route.registered
            if where == "the route path":
                paths = list(dict.fromkeys(r.path for r, _, _ in routes))
                shown = f"path `{paths[0]}`" + (f" (and {len(paths) - 1} more)" if len(paths) > 1 else "")
                message = (f"{shown} of `{route.handler.qualname.rsplit('.', 1)[-1]}` has the verb `{verb}` "
                           f"in segment `{seg}`")
                # the other registrations under the same path (a handler reachable at two paths is one)
                others = {r.registered: r for r, _, _ in routes if r.registered != route.registered}
                related = (*route_related(route),
                           *(Related(r.registered.path, r.registered.line, f"`{r.display()}` is registered here")
                             for r in others.values()))
            else:
                beneath = f"{len(routes)} routes beneath it" if len(routes) > 1 else f"`{route.display()}` beneath it"
                message = f"segment `{seg}` (set by {where}) has the verb `{verb}`; {beneath}"
                related = (Related(route.registered.path, route.registered.line,
                                   f"`{route.display()}` is registered here"),)
            yield self.finding(
                loc.path, loc.line, loc.col, message,
                help="name the resource (`/users/{user_id}`) and let the HTTP method say what happens; "
                     "for actions that are not CRUD use a sub-resource noun (`/orders/{id}/cancellation`)",
                related=related,
                entity=route_entity(route) if where == "the route path" else f"{route_entity(route)} {seg}",
            )
