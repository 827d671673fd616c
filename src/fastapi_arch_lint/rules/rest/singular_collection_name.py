"""FAL103 singular-collection-name."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Loc, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import is_param, route_entity, route_related, unique_routes
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules.rest._common import VERSION_RE, returns_list, segment_origin

# words that are fine in the singular: uncountable, singletons, actions, views, infrastructure
NOT_COUNTABLE = frozenset("""
me self current mine all health healthz ready readyz live livez ping metrics status version info auth oauth oauth2
login logout signin signout signup register token refresh verify callback search feed export import batch bulk
stream summary overview stats count latest recent popular trending top new random history inventory stock
data metadata media information feedback equipment software hardware firmware staff news advice evidence music
traffic weather research analytics config configuration settings preferences profile account cart checkout
billing shipping pricing tracking onboarding storage cache admin internal public private api graphql rpc
webhook upload download sync debug docs redoc openapi sitemap well-known security audit trash archive
session contact password subscribe unsubscribe reset waitlist newsletter support
people children men women mice geese teeth feet criteria phenomena alumni personnel police cattle
sheep fish deer series species aircraft moose swine offspring
""".split())
# acronyms read in lower case
ACRONYMS = frozenset("api faq sso rss sdk cli ui ux id ip url uri dns cpu gpu csv pdf jwt sql ssh tls ssl otp mfa kyc".split())


def last_word(segment: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", segment)
    ws = [w for w in re.split(r"[\s_\-.]+", spaced) if w]
    return ws[-1] if ws else ""


def is_singular_noun(segment: str, allow: frozenset[str]) -> str | None:
    """The singular last word of ``segment``, when it reads as a countable singular noun."""
    if segment.lower() in allow or segment.lower() in NOT_COUNTABLE:
        return None
    word = last_word(segment)
    if not word or not word.isalpha() or word.isupper() and len(word) > 1:
        return None  # digits, acronyms written in capitals
    w = word.lower()
    if len(w) < 3 or w in allow or w in NOT_COUNTABLE or w in ACRONYMS:
        return None
    if w.endswith(("s", "i", "ing", "ware", "ed", "data", "ia", "ae")):
        return None  # plural already, gerunds (``billing``), mass nouns, participles (``archived``)
    return word


def plural(word: str) -> str:
    w = word
    if re.search(r"[^aeiou]y$", w):
        return w[:-1] + "ies"
    if re.search(r"(?:s|x|z|ch|sh)$", w):
        return w + "es"
    if w.endswith("fe"):
        return w[:-2] + "ves"
    if w in ("man", "woman", "person", "child"):
        return {"man": "men", "woman": "women", "person": "people", "child": "children"}[w]
    return w + "s"


def collection_kind(route: Route) -> str | None:
    if route.kind != "http":
        return None
    if "GET" in route.methods and returns_list(route):
        return "returns a list"
    if "POST" in route.methods and route.status_code == 201:
        return "creates items (201)"
    return None


@register
class SingularCollectionName(Rule):
    code = "FAL103"
    name = "singular-collection-name"
    summary = "A collection endpoint is named with a singular noun (`/user` instead of `/users`)"
    severity = Severity.INFO
    confidence = Confidence.MEDIUM
    default_options = {"allow": []}

    def check(self, app: AppModel) -> Iterator[Finding]:
        allow = frozenset(str(a).lower() for a in self.options.get("allow", ()))
        reported: set[str] = set()
        reported_at: set[Loc] = set()
        for route in sorted(unique_routes(app), key=lambda r: r.order):
            if route.path_unresolved or renders_html(app, route):
                continue
            kind = collection_kind(route)
            if kind is None:
                continue
            segs = [s for s in route.path.split("/") if s]
            if not segs or is_param(segs[-1]) or "{" in segs[-1] or VERSION_RE.match(segs[-1]):
                continue
            seg = segs[-1]
            prev = segs[-2] if len(segs) > 1 else ""
            if prev and not is_param(prev) and prev.lower().endswith("s") and not VERSION_RE.match(prev):
                # ``/articles/feed``, ``/orders/pending``: a view on the plural collection before it
                continue
            word = is_singular_noun(seg, allow)
            if word is None:
                continue
            collection = "/" + "/".join(segs)
            if collection in reported:
                continue
            reported.add(collection)
            suggestion = seg[: len(seg) - len(word)] + plural(word)
            parts = route.path.split("/")
            loc, where = segment_origin(app, route, max(i for i, p in enumerate(parts) if p == seg))
            origin = "" if where == "the route path" else f" (set by {where})"
            if where == "the route path":
                loc = route.registered
            elif loc in reported_at:
                continue  # one prefix, one finding
            reported_at.add(loc)
            yield self.finding(
                loc.path, loc.line, loc.col,
                f"`{route.display()}` {kind} but its collection segment `{seg}`{origin} is singular",
                help=f"name collections in the plural (`{suggestion}`), so that `/{suggestion}` is the list and "
                     f"`/{suggestion}/{{id}}` one item; add `{seg}` to the rule's `allow` option if it is "
                     f"uncountable or a singleton",
                related=route_related(route),
                entity=f"{route_entity(route)} {seg}",
            )
