"""FAL206 put-with-all-optional-body."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, ModelField
from fastapi_arch_lint.rule import Rule, register
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

    def check(self, app: AppModel) -> Iterator[Finding]:
        for route in registrations(app):
            if route.kind != "http" or "PUT" not in route.methods:
                continue
            for qualname in route.request_models:
                model = pydantic_model(app, qualname)
                if model is None or not model.fields or not all(_optional(f) for f in model.fields):
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
