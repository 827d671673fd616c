"""FAL801 orm-query-in-handler."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel
from fastapi_arch_lint.model.expr import render
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import route_entity, session_kind, split_target, unique_routes
from fastapi_arch_lint.rules.layering._common import LAYER_MODULES, in_layer, layer_prefixes

# Session methods that query or persist. ``commit``, ``flush``, ``refresh`` and ``rollback`` are not
# among them: a handler that ends the unit of work the services wrote in (transaction boundaries at
# the request edge) queries nothing itself
SESSION_ORM_METHODS = frozenset({
    "execute", "exec", "query", "scalar", "scalars", "get", "get_one", "add", "add_all", "delete", "merge",
    "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings",
})
STATEMENT_BUILDERS = frozenset({"select", "insert", "update", "delete", "text"})
STATEMENT_MODULES = ("sqlalchemy", "sqlmodel")


def orm_call(app: AppModel, target: str | None) -> bool:
    """A session query/persistence method, or a SQL statement builder (``select(...)``)."""
    if not target:
        return False
    head, _, last = target.rpartition(".")
    if last in STATEMENT_BUILDERS and "(" not in head and head.split(".")[0] in STATEMENT_MODULES:
        return True
    receiver, method, _ = split_target(target)
    return method in SESSION_ORM_METHODS and session_kind(app, receiver) is not None


@register
class OrmQueryInHandler(Rule):
    code = "FAL801"
    name = "orm-query-in-handler"
    summary = "A route handler queries the database itself although the project has a service/repository layer"
    severity = Severity.INFO
    default_options = {"layer-modules": LAYER_MODULES}

    def check(self, app: AppModel) -> Iterator[Finding]:
        prefixes = layer_prefixes(app, self.options["layer-modules"])
        if not prefixes:
            return
        layers = frozenset(prefixes)
        seen: set[str] = set()
        for route in unique_routes(app):
            h = route.handler
            if h.qualname in seen or in_layer(h.module, layers):
                continue
            seen.add(h.qualname)
            fn = app.functions.get(h.qualname)
            if fn is None:
                continue
            sites = [site for site, target in fn.calls if orm_call(app, target)]
            if not sites:
                continue
            sites.sort(key=lambda s: (s.pos.line, s.pos.col))
            shown: list[str] = []
            for s in sites:
                text = f"`{render(s.call.func, 40)}`"
                if text not in shown:
                    shown.append(text)
            layer = prefixes[0] if len(prefixes) == 1 else ", ".join(f"{p}" for p in prefixes[:3])
            first = sites[0]
            yield self.finding(
                fn.path, first.pos.line, first.pos.col,
                f"route handler `{h.fact.name}` queries the database directly ({', '.join(shown[:4])}"
                f"{', ...' if len(shown) > 4 else ''}) although the project has a service layer (`{layer}`)",
                help="move the query into a function of the service/repository layer and call it from the handler, "
                     "so the query is reusable and testable without HTTP",
                end_line=first.pos.end_line, end_col=first.pos.end_col,
                related=tuple(Related(fn.path, s.pos.line, f"`{render(s.call.func, 40)}`") for s in sites[1:8]),
                entity=route_entity(route),
            )
