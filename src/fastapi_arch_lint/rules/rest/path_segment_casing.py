"""FAL102 path-segment-casing."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, unique_routes
from fastapi_arch_lint.rules.rest._common import PARAM_RE, VERSION_RE, segment_origin

STYLES = {
    "kebab": re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
    "snake": re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$"),
    "camel": re.compile(r"^[a-z][a-zA-Z0-9]*$"),
}
# well-known names that are not chosen by the API designer
FIXED = frozenset({".well-known", "favicon.ico", "robots.txt", "openapi.json", "openapi.yaml", "sitemap.xml",
                   "security.txt", "humans.txt", "manifest.json", "apple-app-site-association", "assetlinks.json"})


def words(segment: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", segment)
    return [w.lower() for w in re.split(r"[\s_\-.]+", spaced) if w]


def restyle(segment: str, style: str) -> str:
    ws = words(segment)
    if style == "kebab":
        return "-".join(ws)
    if style == "snake":
        return "_".join(ws)
    return ws[0] + "".join(w.capitalize() for w in ws[1:]) if ws else segment


def offending(segment: str, style: str) -> bool:
    if not segment or PARAM_RE.search(segment) or segment in FIXED or VERSION_RE.match(segment):
        return False
    # a file name: check the stem only (``/exports/report-2024.csv``)
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", segment)
    for part in stem.split(":"):  # ``/jobs:batchGet`` custom methods: each side on its own
        if part and not STYLES[style].match(part):
            return True
    return False


@register
class PathSegmentCasing(Rule):
    code = "FAL102"
    name = "path-segment-casing"
    summary = "A static path segment is not in the configured case style (kebab-case by default)"
    severity = Severity.WARNING
    default_options = {"style": "kebab"}

    def check(self, app: AppModel) -> Iterator[Finding]:
        style = str(self.options.get("style", "kebab")).lower()
        if style not in STYLES:
            style = "kebab"
        seen: set[tuple[str, int, str]] = set()
        for route in unique_routes(app):
            if route.path_unresolved:
                continue
            parts = route.path.split("/")
            for index, seg in enumerate(parts):
                if not offending(seg, style):
                    continue
                loc, where = segment_origin(app, route, index)
                key = (loc.path, loc.line, seg)
                if key in seen:
                    continue
                seen.add(key)
                related = []
                if loc != route.registered:
                    related.append(Related(route.registered.path, route.registered.line,
                                           f"`{route.display()}` is registered here"))
                yield self.finding(
                    loc.path, loc.line, loc.col,
                    f"path `{route.path}` has segment `{seg}` that is not {style}-case "
                    f"(set by {where})",
                    help=f"rename it to `{restyle(seg, style)}`; keep one case style for every URL of the API "
                         f"(clients and gateways treat `/a_b` and `/a-b` as different resources)",
                    related=related,
                    entity=f"{route_entity(route)} {seg}",
                )
