"""FAL206 put-with-all-optional-body."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, ModelField, PydanticModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._house import app_label, detect, project_finding
from fastapi_arch_lint.rules._house import enabled as house_enabled
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules._util import pydantic_model, route_entity, route_related
from fastapi_arch_lint.rules.http._common import registrations


def _optional(f: ModelField) -> bool:
    """Not required, and left out means ``None``: the field of a partial update."""
    return not f.required and (f.optional or f.default == "None")


@register
class PutWithAllOptionalBody(Rule):
    code = "FAL206"
    name = "put-with-all-optional-body"
    summary = "A PUT's body model has every field optional: a partial update (PATCH) in disguise"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "once per app or project, when its house style is what the rule dislikes"}
    default_options = {"house_style": True}

    def check(self, app: AppModel) -> Iterator[Finding]:
        # every PUT with a body model, partial (every field optional) or not
        puts: list[tuple[Route, PydanticModel | None]] = []
        for route in registrations(app):
            if route.kind != "http" or "PUT" not in route.methods or renders_html(app, route):
                continue
            partial = None
            judged = False
            for qualname in route.request_models:
                model = pydantic_model(app, qualname)
                if model is None or not model.fields:
                    continue
                judged = True
                if all(_optional(f) for f in model.fields):
                    partial = model
                    break
            if judged:
                puts.append((route, partial))
        if house_enabled(self.options):
            # per app: an admin app and a public API may follow different conventions
            housed: set[str] = set()
            for app_id in dict.fromkeys(r.app for r, _ in puts):
                mine = [(r, m) for r, m in puts if r.app == app_id]
                house = detect("partial" if m is not None else "full" for _, m in mine)
                if house is None or house.style != "partial":
                    continue
                housed.add(app_id)
                places = [(r.registered, f"`PUT {r.path}` takes `{m.name}`") for r, m in mine if m is not None]
                yield project_finding(
                    self, house, places,
                    f"PUT is this API's partial update: {house.share} PUT routes with a body take a model whose "
                    f"fields are all optional (judged as the house style: only a PUT that departs from it is "
                    f"reported)",
                    help="HTTP says PUT replaces the resource and PATCH changes part of it; clients and caches that "
                         "follow it may resend whole objects. If PUT is a partial update by choice, document it; "
                         "else serve partial updates with `@router.patch`. Set `house_style = false` to see each",
                    entity=f"partial-put {app_label(app, app_id)}",
                )
            puts = [(r, m) for r, m in puts if r.app not in housed]
        for route, model in puts:
            if model is None:
                continue
            handler = route.handler.qualname.rsplit(".", 1)[-1]
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`PUT {route.path}` (`{handler}`) takes `{model.name}`, whose "
                f"{len(model.fields)} field{'s are' if len(model.fields) > 1 else ' is'} all optional: "
                f"a client can send `{{}}`, which reads as a partial update",
                help="PUT replaces the whole resource, so its body should require the resource's fields; "
                     "serve partial updates with `@router.patch` (and `model_dump(exclude_unset=True)`), or "
                     "give the PUT a model with required fields",
                related=(Related(model.path, model.line, f"`{model.name}`: every field defaults to `None`"),
                         *route_related(route)),
                entity=f"{route_entity(route)} {model.qualname}",
            )
