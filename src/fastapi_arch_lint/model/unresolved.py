"""What the model could not resolve about routing, summed up for ``review`` and ``inspect``.

The linker records an ``Unresolved`` note wherever it could not evaluate something statically (a
prefix read from the environment, an include of a router a plugin returns, a route decorator on
an unknown object...). ``review`` prints one diagnostic line about the notes that concern routing,
so that a model with holes is never presented as a whole one:

    4 routing items could not be resolved statically (1 router, 2 includes, 1 dependency list):
    routes they add may be missing, and 4 routes may have a wrong path or lack auth; see
    `fastapi-arch-lint inspect`

``kind_of`` classifies a note by what it is about (the linker's wording: ``router prefix ...``,
``included router ...``, ``route decorator ...``, ``dependencies ...``); ``affected_routes`` counts
the routes the model does hold whose path or auth depends on an unresolved item: a prefix or path
that did not resolve, or a router, include or app whose prefix or ``dependencies=`` is noted.
Routes that an unresolved include or registration adds cannot be counted: they are not in the
model at all, which is what the first half of the line says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi_arch_lint.findings import Diagnostic, Related
from fastapi_arch_lint.model.app import AppModel, DependencyUse, Route, Unresolved

# what a routing note is about, in the order the line names them
KINDS = ("router", "include", "route", "dependencies")

# the linker's wording of each kind (the start of ``Unresolved.what``); checked in order
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("full path of", ""),  # a consequence of a prefix or path noted elsewhere: counted as a route, not an item
    ("router prefix", "router"),
    ("router class", "router"),
    ("router `", "router"),
    ("included router", "include"),
    ("include prefix", "include"),
    ("route decorator", "route"),
    ("route path", "route"),
    ("endpoint of", "route"),
    ("methods `", "route"),
    ("dependencies `", "dependencies"),
    ("dependencies of ", "dependencies"),  # a router's or app's ``dependencies=`` (``registrations``)
    ("dependency in `dependencies=`", "dependencies"),
    ("dependency of `", "dependencies"),  # ``Depends(x)`` with ``x`` unresolved (``unknown_dependencies``)
)

DIAGNOSTIC_KIND = "unresolved"  # ``Diagnostic.kind`` of the line
DIAGNOSTIC_PATH = "<model>"  # it is about the whole model, not one file


def kind_of(u: Unresolved) -> str:
    """``router``, ``include``, ``route`` or ``dependencies`` for a note about routing, else ``""``."""
    what = u.what
    for start, kind in _PREFIXES:
        if what.startswith(start):
            return kind
    if ".include_router(" in what or ".include_router`" in what:  # an include on an unknown object
        return "include"
    if what.endswith("(**...)` arguments"):  # ``APIRouter(**options)``, ``FastAPI(**settings)``
        return "router"
    if "router" in what:  # wording added later by the linker: still about routing
        return "router"
    return ""


@dataclass(frozen=True, slots=True)
class RoutingGaps:
    """The routing notes of a model (``(kind, note)``) and how many of its routes they touch."""

    notes: tuple[tuple[str, Unresolved], ...]
    routes: int

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.notes if k == kind)

    def message(self) -> str:
        n = len(self.notes)
        parts = [_plural(self.count(k), *_NAMES[k]) for k in KINDS if self.count(k)]
        line = (f"{n} routing item{'s' if n != 1 else ''} could not be resolved statically "
                f"({', '.join(parts)})")
        tail = []
        if self.count("include") or self.count("route"):
            tail.append("routes they add may be missing")
        if self.routes:
            tail.append(f"{_plural(self.routes, 'route', 'routes')} may have a wrong path or lack auth")
        if tail:
            line += ": " + ", and ".join(tail)
        return line + "; see `fastapi-arch-lint inspect`"


_NAMES = {"router": ("router", "routers"), "include": ("include", "includes"),
          "route": ("route registration", "route registrations"),
          "dependencies": ("dependency list", "dependency lists")}


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def routing_gaps(model: AppModel) -> RoutingGaps:
    notes = [(k, u) for u in model.unresolved if (k := kind_of(u))]
    noted = {(u.path, u.line) for _, u in notes}
    notes += [("dependencies", u) for u in unknown_dependencies(model) if (u.path, u.line) not in noted]
    notes.sort(key=lambda n: (n[1].path, n[1].line, n[1].what))
    return RoutingGaps(tuple(notes), len(affected_routes(model, [u for _, u in notes])))


def unknown_dependencies(model: AppModel) -> list[Unresolved]:
    """``Depends(x)`` where ``x`` did not resolve (``DependencyUse.kind == "unknown"``, its name the
    reason), one note per place: the linker records them on the route, not as ``Unresolved``."""
    out: dict[tuple[str, int], Unresolved] = {}
    for r in model.routes:
        for d in _unknown(r):
            if (d.path, d.line) not in out:
                out[(d.path, d.line)] = Unresolved(f"dependency of `{r.handler.qualname}`", d.name, d.path, d.line)
    return list(out.values())


def _unknown(route: Route) -> list[DependencyUse]:
    """The route's dependencies that did not resolve, but for a library's whose auth the linker knows
    (fastapi-users' ``current_user()``: an auth way of the route names it)."""
    known = {v.chain[0] for v in route.auth.via if v.chain} | {v.name for v in route.auth.via}
    return [d for d in route.dependencies if d.kind == "unknown" and d.name.rsplit(".", 1)[-1] not in known]


def affected_routes(model: AppModel, notes: Sequence[Unresolved]) -> list[Route]:
    """Routes whose path or auth depends on something unresolved: a prefix or path that did not
    resolve, or its registration, router, include or app (where it is created or called) with a note."""
    where = {(u.path, u.line) for u in notes}
    paths = {m.name: m.path for m in model.modules}

    def site(router_id: str) -> tuple[str, int]:
        module, _, line = router_id.rpartition(":")
        return paths.get(module, module), int(line) if line.isdigit() else 0

    out = []
    for app in model.apps:
        # the app's own router: where the app is created (its ``dependencies=``, ``**options``)
        app_sites = {site(r.id) for r in model.routers if r.is_app and r.loc == app.loc}
        app_sites |= {site(r.router) for r in app.routes if not r.include_chain} | {(app.loc.path, app.loc.line)}
        whole_app = bool(app_sites & where)
        for r in app.routes:
            if (whole_app or r.path_unresolved or site(r.router) in where
                    or (r.registered.path, r.registered.line) in where  # its own ``dependencies=``
                    or any((s.path, s.line) in where for s in r.include_chain)
                    or _unknown(r)):
                out.append(r)
    return out


# notes about where a route is, not about what reaches it: they leave its auth known
_PATH_ONLY = ("router prefix", "include prefix", "route path", "full path of", "methods `")


def auth_uncertain_routes(model: AppModel) -> list[Route]:
    """Routes whose auth may be more than the model shows: an unresolved dependency on them, or a note
    about their router, include chain or app other than where they are (a prefix or path)."""
    notes = [u for u in model.unresolved if kind_of(u) and not u.what.startswith(_PATH_ONLY)]
    return affected_routes(model, notes + unknown_dependencies(model))


def diagnostic(model: AppModel) -> Diagnostic | None:
    """The one line ``review`` prints about routing the model could not resolve, or None."""
    gaps = routing_gaps(model)
    if not gaps.notes:
        return None
    return Diagnostic(DIAGNOSTIC_PATH, gaps.message(), DIAGNOSTIC_KIND, count=len(gaps.notes), routes=gaps.routes,
                      locations=tuple(Related(u.path, u.line, f"{k}: {u.what}: {u.reason}") for k, u in gaps.notes))
