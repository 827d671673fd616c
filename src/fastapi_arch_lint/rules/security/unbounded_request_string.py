"""FAL526 unbounded-request-string."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.analysis.index import declaring
from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, ModelField, PydanticModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._util import pydantic_model, route_related, unique_routes

STRING_TYPES = frozenset({"builtins.str", "builtins.bytes", "pydantic.SecretStr", "pydantic.SecretBytes",
                          "pydantic.AnyUrl", "pydantic.Json"})
COLLECTION_TYPES = frozenset({"builtins.list", "builtins.set", "builtins.frozenset", "builtins.dict", "typing.List",
                              "typing.Set", "typing.Dict", "typing.Sequence", "collections.abc.Sequence"})
# a ``pattern`` bounds the length when it is anchored and has no unbounded repetition
UNBOUNDED_REPEAT = re.compile(r"(?<!\\)[*+]|\{\d*,\}")


def bounded_by_pattern(f: ModelField) -> bool:
    p = f.constraint("pattern") or f.constraint("regex")
    if not isinstance(p, str):
        return False
    return p.startswith("^") and p.endswith("$") and not UNBOUNDED_REPEAT.search(p)


def has_max(f: ModelField) -> bool:
    v = f.constraint("max_length")
    if v is None:
        v = f.constraint("max_items")
    return v is not None


@register
class UnboundedRequestString(Rule):
    code = "FAL526"
    name = "unbounded-request-string"
    summary = "A `str` or `list` field of a request body model has no `max_length`"
    severity = Severity.WARNING
    cwe = ("CWE-770",)
    owasp = ("API4:2023",)
    security_severity = 4.3
    default_options = {"exclude-fields": []}

    def check(self, app: AppModel) -> Iterator[Finding]:
        excluded = set(self.options["exclude-fields"])
        seen_models: set[str] = set()
        reported: set[tuple[str, int]] = set()
        for route in unique_routes(app):
            for p in route.params:
                # ``note: str = Body(...)``: a scalar body parameter
                if p.source != "body" or p.name in excluded or not set(p.type_names) & STRING_TYPES:
                    continue
                if p.constraint("max_length") is None and (route.handler.path, p.line) not in reported:
                    reported.add((route.handler.path, p.line))
                    yield self.finding(
                        route.handler.path, p.line, 1,
                        f"body parameter `{p.name}` of `{route.display()}` is a string without `max_length`, so one "
                        f"request can make the server parse and store arbitrarily large data",
                        help="declare a limit: `Body(max_length=2000)`", related=route_related(route),
                        entity=f"{route.handler.qualname}.{p.name}",
                    )
            for qualname in route.request_models:
                for model, trail in self._models(app, qualname, (), seen_models):
                    for f in model.fields:
                        if f.name in excluded or f"{model.name}.{f.name}" in excluded:
                            continue
                        problem = self._problem(app, f)
                        if problem is None:
                            continue
                        owner = declaring(app, model, f.name)
                        key = (owner.path, f.line)
                        if key in reported:
                            continue
                        reported.add(key)
                        yield self._finding(route, owner, f, problem, trail)

    def _models(self, app: AppModel, qualname: str, trail: tuple[str, ...], seen: set[str]
                ) -> Iterator[tuple[PydanticModel, tuple[str, ...]]]:
        if qualname in seen or len(trail) > 6:
            return
        model = pydantic_model(app, qualname)
        if model is None or model.kind == "settings":
            return
        seen.add(qualname)
        yield model, trail
        for f in model.fields:
            for t in f.type_names:
                if not t.startswith(("builtins.", "typing.", "pydantic.", "datetime.", "uuid.", "decimal.")):
                    yield from self._models(app, t, trail + (f"{model.name}.{f.name}",), seen)

    @staticmethod
    def _problem(app: AppModel, f: ModelField) -> str | None:
        names = set(f.type_names)
        if not names:
            return None
        outer = f.type_names[0] if f.type_names[0] not in ("typing.Union", "typing.Optional") else (
            f.type_names[1] if len(f.type_names) > 1 else "")
        if outer in COLLECTION_TYPES:
            if has_max(f):
                return None
            kind = outer.rsplit(".", 1)[-1]
            return f"a `{kind}` without `max_length`"
        if names & STRING_TYPES:
            if has_max(f) or bounded_by_pattern(f):
                return None
            return "a string without `max_length`"
        return None

    def _finding(self, route: Route, owner: PydanticModel, f: ModelField, problem: str,
                 trail: tuple[str, ...]) -> Finding:
        nested = f" (nested through {' -> '.join(f'`{t}`' for t in trail)})" if trail else ""
        related = (Related(route.registered.path, route.registered.line,
                           f"read from the body of `{route.display()}`"), *route_related(route))
        return self.finding(
            owner.path, f.line, f.col,
            f"`{owner.name}.{f.name}` is {problem}; it is read from the request body of `{route.display()}`{nested}, "
            f"so one request can make the server parse, validate and store arbitrarily large data",
            help="bound it where it is declared: `Field(max_length=200)` (strings and lists alike), "
                 "`Annotated[str, StringConstraints(max_length=200)]`, or a constrained type; use the database "
                 "column's size as the limit",
            related=related, entity=f"{owner.qualname}.{f.name}",
        )
