"""FAL102 path-segment-casing."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Loc, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._house import MAX_RELATED, House, detect, project_finding
from fastapi_arch_lint.rules._house import MINIMUM as HOUSE_MINIMUM
from fastapi_arch_lint.rules._house import enabled as house_enabled
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules._util import route_entity, unique_routes
from fastapi_arch_lint.rules.rest._common import PARAM_RE, VERSION_RE, segment_origin

STYLES = {
    "kebab": re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
    "snake": re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$"),
    "camel": re.compile(r"^[a-z][a-zA-Z0-9]*$"),
}
# well-known names that are not chosen by the API designer
FIXED = frozenset({".well-known", "favicon.ico", "robots.txt", "openapi.json", "openapi.yaml", "sitemap.xml",
                   "security.txt", "humans.txt", "manifest.json", "apple-app-site-association", "assetlinks.json",
                   "ai-plugin.json"})

# SCIM 2.0 (RFC 7644, section 3.2): an identity provider calls these exact endpoints under the
# service's SCIM base URL (``/scim/v2/Users``); their case is the protocol's, not the designer's
SCIM_ENDPOINTS = frozenset({"Users", "Groups", "Me", "ServiceProviderConfig", "ResourceTypes", "Schemas", "Bulk",
                            ".search"})


def fixed_by_protocol(parts: list[str], index: int) -> bool:
    """Segment ``index`` of a path split on ``/`` is named by a protocol the API implements (SCIM)."""
    return parts[index] in SCIM_ENDPOINTS and any(p.lower() == "scim" for p in parts[:index])


def words(segment: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", segment)
    return [w.lower() for w in re.split(r"[\s_\-.]+", spaced) if w]


def restyle(segment: str, style: str) -> str:
    marker = segment[:len(segment) - len(segment.lstrip("_"))]  # a private-namespace marker is kept
    ws = words(segment)
    if style == "kebab":
        return marker + "-".join(ws)
    if style == "snake":
        return marker + "_".join(ws)
    return marker + ws[0] + "".join(w.capitalize() for w in ws[1:]) if ws else segment


def offending(segment: str, style: str) -> bool:
    if not segment or PARAM_RE.search(segment) or segment in FIXED or VERSION_RE.match(segment):
        return False
    # a file name: check the stem only (``/exports/report-2024.csv``)
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", segment)
    # leading underscores mark a private namespace (``/_internal``, ``/__debug``), they separate no words:
    # the name after them is judged (one word is in every style)
    stem = stem.lstrip("_")
    for part in stem.split(":"):  # ``/jobs:batchGet`` custom methods: each side on its own
        if part and not STYLES[style].match(part):
            return True
    return False


def style_of(segment: str) -> str | None:
    """The case style a multi-word segment is written in (None for one word, a parameter, a fixed name)."""
    if not segment or PARAM_RE.search(segment) or segment in FIXED or VERSION_RE.match(segment):
        return None
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", segment).lstrip("_")  # ``_internal``: a marker, then one word
    if len(words(stem)) < 2:
        return None
    for style in ("kebab", "snake", "camel"):
        if STYLES[style].match(stem):
            return style
    return "mixed"


# the share of a part of the API's multi-word segments that makes its own style (two in three: an internal
# API written in snake_case that borrows a few names from the camelCase public one)
NAMESPACE_THRESHOLD = 2 / 3
# the share of the API's multi-word segments (as its URLs carry them) not in the configured style that makes
# it a mix rather than a style with outliers: renaming a third of a published API is no review comment
MIXED_SHARE = 1 / 3


def _namespace(path: str) -> str:
    """The part of the API a path belongs to: its first static segment (`/ui/grid/...` -> `ui`)."""
    return next((p for p in path.split("/") if p and not PARAM_RE.search(p)), "")


def _parts(route: Route) -> tuple[tuple[str, str], ...]:
    """The parts of the project a route belongs to that may keep a style of their own: its app, and the
    first segment of its path in that app."""
    return (route.app, ""), (route.app, _namespace(route.path))


def _part_labels(places: dict[tuple[Loc, str], list[tuple[Route, str]]]) -> dict[tuple[str, str], list[str]]:
    """The case style of each multi-word naming decision, by the parts of the project (``_parts``) it is in."""
    labels: dict[tuple[str, str], list[str]] = {}
    for (_, seg), routes in places.items():
        lbl = style_of(seg)
        for part in {p for r, _ in routes for p in _parts(r)} if lbl is not None else ():
            labels.setdefault(part, []).append(lbl)
    return labels


def _small_apps(labels: dict[tuple[str, str], list[str]]) -> dict[tuple[str, str], House]:
    """Where the project builds several FastAPI apps (plugin apps mounted with ``app.mount``, a worker's own
    server), each is an API of its own: an app too small for ``detect`` whose multi-word segments all agree
    keeps that style, and is not judged by the majority of the others."""
    apps = {app_id for app_id, ns in labels if ns == ""}
    if len(apps) < 2:
        return {}
    out: dict[tuple[str, str], House] = {}
    for (app_id, ns), lbls in labels.items():
        if ns == "" and len(lbls) < HOUSE_MINIMUM and len(set(lbls)) == 1 and lbls[0] in STYLES:
            out[(app_id, ns)] = House(lbls[0], len(lbls), len(lbls))
    return out


@register
class PathSegmentCasing(Rule):
    code = "FAL102"
    name = "path-segment-casing"
    summary = "A static path segment is not in the configured case style (kebab-case by default), or departs from the API's house style"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "once per app or project, when its house style is what the rule dislikes; "
                                       "for each segment of an API that mixes styles (no house style, and a third or "
                                       "more of its multi-word segments not in the configured one)"}
    default_options = {"style": "kebab", "house_style": True}

    def check(self, app: AppModel) -> Iterator[Finding]:
        style = str(self.options.get("style", "kebab")).lower()
        if style not in STYLES:
            style = "kebab"
        # every static segment once per place that writes it, with the routes beneath it
        places: dict[tuple[Loc, str], list[tuple[Route, str]]] = {}
        for route in unique_routes(app):
            if route.path_unresolved or renders_html(app, route):
                continue
            parts = route.path.split("/")
            for index, seg in enumerate(parts):
                if not seg or PARAM_RE.search(seg) or fixed_by_protocol(parts, index):
                    continue
                loc, where = segment_origin(app, route, index)
                places.setdefault((loc, seg), []).append((route, where))
        house = None
        mixed = ""  # the API mixes styles: no outliers to speak of, each segment is said as info
        if house_enabled(self.options):
            # each multi-word segment as often as URLs carry it: a prefix counts once per route beneath it
            # leaving out the apps of their own (``_small_apps``): another API's style is not this one's majority
            apart = _small_apps(_part_labels(places))
            labelled = [(key, style_of(key[1])) for key in places]
            house = detect(lbl for key, lbl in labelled if lbl is not None
                           for r, _ in places[key] if (r.app, "") not in apart)
            if house is not None and house.style in STYLES and house.style != style:
                styled = [(loc, f"`{seg}`") for (loc, seg), lbl in labelled if lbl == house.style]
                yield project_finding(
                    self, house, styled,
                    f"the API writes its multi-word path segments in {house.style}-case ({house.share} in its URLs, "
                    f"e.g. `{styled[0][1].strip('`')}`), not the configured {style}-case: judged as the house style, "
                    f"only segments that depart from it are reported",
                    help=f"a consistent style is what matters to clients; to move to {style}-case, set the rule's "
                         f"`house_style = false` to see every segment, else set `style = \"{house.style}\"`",
                    entity=house.style,
                )
                style = house.style
        # one naming decision, one finding: a segment written in several places (the same word in
        # the paths of many routes, a route and its trailing-slash twin stacked on one handler) is
        # reported once, at its first place, the others as related locations
        # a part of the API with a house style of its own (an internal `/ui` API in snake_case beside a
        # camelCase public `/api`): a segment in that style, under it, is no outlier
        own: dict[tuple[str, str], House | None] = {}
        if house_enabled(self.options):
            # each naming decision once (a prefix that many routes carry is one): a part of the API has a style
            # of its own only when several of its segments agree, not because one prefix is long-lived
            # parts: each app (a sandbox's own small server beside the main API), and each first segment in it
            labels = _part_labels(places)
            own = {part: detect(lbls, threshold=NAMESPACE_THRESHOLD) for part, lbls in labels.items()}
            own.update(_small_apps(labels))
        written: dict[str, list[tuple[Loc, list[tuple[Route, str]]]]] = {}
        judged = departing = 0  # multi-word segments judged against ``style``, as URLs carry them; those not in it
        for (loc, seg), routes in places.items():
            if all(any((h := own.get(p)) is not None and h.style == style_of(seg) for p in _parts(r)) for r, _ in routes):
                continue  # in the style of its own part of the API
            if style_of(seg) is not None:
                judged += len(routes)
            if offending(seg, style):
                written.setdefault(seg, []).append((loc, routes))
                departing += len(routes) if style_of(seg) is not None else 0
        if house is None and house_enabled(self.options) and judged >= HOUSE_MINIMUM and departing >= MIXED_SHARE * judged:
            mixed = f", in an API that mixes case styles ({departing} of {judged} multi-word segments in its URLs " \
                    f"are not {style}-case)"
        for seg, at in written.items():
            at.sort(key=lambda p: (p[0].path, p[0].line, p[0].col))
            loc, routes = at[0]
            route, where = routes[0]
            related = []
            if loc != route.registered:
                related.append(Related(route.registered.path, route.registered.line,
                                       f"`{route.display()}` is registered here"))
            related += [Related(other.path, other.line, f"`{seg}` is also written here (`{rs[0][0].display()}`)")
                        for other, rs in at[1:MAX_RELATED + 1]]
            count = sum(len(rs) for _, rs in at)
            beneath = ""
            if len(at) > 1:
                beneath = f"; written in {len(at)} places, {count} routes carry it"
            elif count > 1:
                beneath = f"; {count} routes are beneath it"
            why = "" if house is None or house.style != style else \
                f", the house style of this API ({house.share} multi-word segments in its URLs)"
            yield self.finding(
                loc.path, loc.line, loc.col,
                f"path `{route.path}` has segment `{seg}` that is not {style}-case{why}{mixed} "
                f"(set by {where}{beneath})",
                severity=Severity.INFO if mixed else None,
                help=f"rename it to `{restyle(seg, style)}`; keep one case style for every URL of the API "
                     f"(clients and gateways treat `/a_b` and `/a-b` as different resources)",
                related=related,
                entity=f"{route_entity(route)} {seg}" if len(at) == 1 else f"segment {seg}",
            )
