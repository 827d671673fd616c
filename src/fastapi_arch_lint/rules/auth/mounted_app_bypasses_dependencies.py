"""FAL407 mounted-app-bypasses-dependencies."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules.auth._common import DEFAULT_PUBLIC_HANDLERS, DEFAULT_PUBLIC_ROUTES, is_public, short

# kinds of auth a mounted app does not inherit (``AuthVia.kind``); middleware wraps mounts too
STAYS_BEHIND = ("scheme", "dependency", "decorator")


@register
class MountedAppBypassesDependencies(Rule):
    code = "FAL407"
    name = "mounted-app-bypasses-dependencies"
    summary = "`app.mount(path, sub_app)` under an authenticated app: the sub-app runs none of the parent's dependencies"
    severity = Severity.WARNING
    cwe = ("CWE-284",)
    owasp = ("API5:2023",)
    security_severity = 7.5
    default_options = {"min-authenticated-share": 0.8}

    def check(self, app: AppModel) -> Iterator[Finding]:
        by_id = {a.id: a for a in app.apps}
        share_needed = self.options["min-authenticated-share"]
        if isinstance(share_needed, bool) or not isinstance(share_needed, (int, float)):
            raise ValueError(f"option `min-authenticated-share` must be a number between 0 and 1, got {share_needed!r}")
        for parent in app.apps:
            mounts = [m for m in parent.mounts if m.kind == "app"]
            if not mounts:
                continue
            # middleware reaches mounted apps: only auth that runs as a dependency (or a decorator) stays behind
            app_level = sorted({v.chain[0] if v.chain else v.name for r in parent.routes for v in r.auth.via
                                if v.level == "app" and v.kind in STAYS_BEHIND})
            candidates = [r for r in parent.routes
                          if r.kind == "http" and not is_public(r, DEFAULT_PUBLIC_ROUTES, DEFAULT_PUBLIC_HANDLERS)]
            authed = [r for r in candidates if any(v.kind in STAYS_BEHIND for v in r.auth.via)]
            share = len(authed) / len(candidates) if candidates else 0.0
            if not app_level and (len(authed) < 2 or share < share_needed):
                continue
            for m in mounts:
                sub = by_id.get(m.app)
                if sub is not None:
                    open_routes = [r for r in sub.routes if not r.auth.via
                                   and not is_public(r, DEFAULT_PUBLIC_ROUTES, DEFAULT_PUBLIC_HANDLERS)]
                    if not open_routes:
                        continue
                    shown = ", ".join(f"`{m.path.rstrip('/')}{r.path}`" for r in open_routes[:3])
                    more = f" and {len(open_routes) - 3} more" if len(open_routes) > 3 else ""
                    what = f"its routes {shown}{more} are served without authentication"
                    confidence = None
                elif app_level:
                    what = "its routes cannot be seen, and none of the parent's dependencies reach them"
                    confidence = Confidence.MEDIUM
                else:
                    continue
                if app_level:
                    names = ", ".join(f"`{short(d)}`" for d in app_level)
                    why = f"`{parent.name}` authenticates every route with app-level {names}"
                else:
                    why = f"{len(authed)} of {len(candidates)} non-public routes of `{parent.name}` are authenticated"
                related = [Related(parent.loc.path, parent.loc.line, f"`{parent.name}` created here")]
                if sub is not None:
                    related.append(Related(sub.loc.path, sub.loc.line, f"mounted app `{sub.name}` created here"))
                yield self.finding(
                    m.loc.path, m.loc.line, m.loc.col,
                    f"`{parent.name}.mount(\"{m.path}\", {m.target})`: {why}, but a mounted app runs none of its "
                    f"parent's dependencies; {what}",
                    help="give the sub-app its own dependencies (`FastAPI(dependencies=[Depends(get_current_user)])`), "
                         "or turn it into an `APIRouter` and `include_router` it so the parent's auth applies; "
                         "middleware does reach mounted apps",
                    related=related,
                    entity=f"{parent.id} mount {m.path}",
                    confidence=confidence,
                )
