"""FAL526 unbounded-request-string.

The models a request really reads: the body and form models of routes, and the models nested in
their fields that a client fills (two levels at most), but not a nested model that is the response
model of some route (a ``*Read`` object a client echoes back as a reference: the server reads its
id, not its text). One finding per model that declares unbounded fields, listing them and the
routes that read it.

Severity follows the project's own habit (its "house style", judged over every string and
collection field the requests read): when most of them are bounded, an unbounded one is an
oversight (warning); when at least 80% are unbounded, the project does not bound strings and that
is said once, at the project level (info); in between, or in a project too small to tell, each
model is a hardening hint (info). The house style is ``rules/_house.py``'s, as for the REST rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi_arch_lint.analysis.index import declaring
from fastapi_arch_lint.findings import Confidence, Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, Loc, ModelField, Param, PydanticModel, Route
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules import _house
from fastapi_arch_lint.rules._util import pydantic_model, route_related, unique_routes

STRING_TYPES = frozenset({"builtins.str", "builtins.bytes", "pydantic.SecretStr", "pydantic.SecretBytes",
                          "pydantic.AnyUrl", "pydantic.Json"})
COLLECTION_TYPES = frozenset({"builtins.list", "builtins.set", "builtins.frozenset", "builtins.dict", "typing.List",
                              "typing.Set", "typing.Dict", "typing.Sequence", "collections.abc.Sequence"})
# a ``pattern`` bounds the length when it is anchored and has no unbounded repetition
UNBOUNDED_REPEAT = re.compile(r"(?<!\\)[*+]|\{\d*,\}")
LIBRARY_PREFIXES = ("builtins.", "typing.", "pydantic.", "datetime.", "uuid.", "decimal.", "enum.", "collections.")
# a nested model is followed this many levels below the request model, no further
MAX_NESTING = 2

# the house style (``_house.py``): at least 80% unbounded is the project's habit, said once; from this
# share of bounded fields on, an unbounded one is an outlier (warning)
BOUNDED_STYLE = 0.5


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


def problem(f: ModelField) -> str | None:
    """What is unbounded about ``f`` ("a string without `max_length`"), "" when it is a string or
    collection that is bounded, None when it is neither."""
    names = set(f.type_names)
    if not names:
        return None
    outer = f.type_names[0] if f.type_names[0] not in ("typing.Union", "typing.Optional") else (
        f.type_names[1] if len(f.type_names) > 1 else "")
    if outer in COLLECTION_TYPES:
        if has_max(f):
            return ""
        return f"a `{outer.rsplit('.', 1)[-1]}` without `max_length`"
    if names & STRING_TYPES:
        if has_max(f) or bounded_by_pattern(f):
            return ""
        return "a string without `max_length`"
    return None


def server_set(f: ModelField) -> bool:
    """``Field(exclude=True)``: the field never leaves the server's own use (not dumped, not stored
    from the client's copy)."""
    return f.constraint("exclude") is True


def response_shaped(app: AppModel) -> set[str]:
    """The models responses return, with the models nested in their fields (any depth); a model that
    a request reads as its body too (a round trip: the client edits what it was given) is no start."""
    out: set[str] = set()
    requests = {t for r in app.iter_routes() for t in r.request_models}
    todo = [t for r in app.iter_routes() for t in r.response_model_types if t not in requests]
    while todo:
        qualname = todo.pop()
        if qualname in out:
            continue
        model = pydantic_model(app, qualname)
        if model is None:
            continue
        out.add(qualname)
        todo.extend(t for f in model.fields for t in f.type_names if not t.startswith(LIBRARY_PREFIXES))
    return out


@dataclass
class _Reader:
    route: Route
    model: str  # the request model's name
    trail: tuple[str, ...]  # ``Outer.field`` steps to the model that declares the field


@dataclass
class _Owner:
    model: PydanticModel
    fields: dict[str, tuple[ModelField, str]] = field(default_factory=dict)  # name -> (field, problem)
    readers: list[_Reader] = field(default_factory=list)

    @property
    def nested_only(self) -> bool:
        return all(r.trail for r in self.readers)


@register
class UnboundedRequestString(Rule):
    code = "FAL526"
    name = "unbounded-request-string"
    summary = "A `str` or `list` field of a request body model has no `max_length`"
    severity = Severity.INFO
    other_severities = {Severity.WARNING: "for an outlier in a project that bounds its request strings"}
    cwe = ("CWE-770",)
    owasp = ("API4:2023",)
    security_severity = 4.3
    default_options = {"exclude-fields": [], "house_style": True}

    def check(self, app: AppModel) -> Iterator[Finding]:
        excluded = set(self.options["exclude-fields"])
        response_models = response_shaped(app)
        owners: dict[str, _Owner] = {}
        labels: dict[tuple[str, int, str], bool] = {}  # every string/collection field read: bounded?
        params: list[tuple[Route, Param]] = []
        seen_params: set[tuple[str, int]] = set()
        for route in unique_routes(app):
            for p in route.params:
                # ``note: str = Body(...)``: a scalar body parameter
                if p.source != "body" or p.name in excluded or not set(p.type_names) & STRING_TYPES:
                    continue
                key = (route.handler.path, p.line)
                if key in seen_params:
                    continue
                seen_params.add(key)
                bounded = p.constraint("max_length") is not None
                labels[(route.handler.path, p.line, p.name)] = bounded
                if not bounded:
                    params.append((route, p))
            for qualname in route.request_models:
                for model, trail in self._models(app, qualname, (), set(), response_models):
                    for f in model.fields:
                        if f.name in excluded or f"{model.name}.{f.name}" in excluded or server_set(f):
                            continue
                        what = problem(f)
                        if what is None:
                            continue
                        owner = declaring(app, model, f.name)
                        labels[(owner.path, f.line, f.name)] = not what
                        if not what:
                            continue
                        o = owners.setdefault(owner.qualname, _Owner(owner))
                        o.fields.setdefault(f.name, (f, what))
                        reader = _Reader(route, model.name if not trail else trail[0].split(".")[0], trail)
                        if not any(r.route is route and r.trail == trail for r in o.readers):
                            o.readers.append(reader)
        total = len(labels)
        unbounded = sum(1 for b in labels.values() if not b)
        house = _house.enabled(self.options)
        kinds = ["bounded" if b else "unbounded" for b in labels.values()]
        style = _house.detect(kinds) if house else None
        if style is not None and style.style == "unbounded":
            yield from self._project_finding(owners, params, style)
            return
        majority = _house.detect(kinds, threshold=BOUNDED_STYLE) if house else None
        outlier = majority is not None and majority.style == "bounded"
        severity = Severity.WARNING if outlier else Severity.INFO
        style = (f"; the project bounds {total - unbounded} of its {total} request string and list fields, so "
                 f"this one looks like an oversight") if outlier else ""
        for route, p in params:
            local = _local_only([route])
            yield self.finding(
                route.handler.path, p.line, 1,
                f"body parameter `{p.name}` of `{route.display()}` is a string without `max_length`, so one "
                f"request can make the server validate and store arbitrarily large data{style}{local}",
                help="declare a limit: `Body(max_length=2000)`", related=route_related(route),
                entity=f"{route.handler.qualname}.{p.name}", severity=Severity.INFO if local else severity,
            )
        for o in owners.values():
            yield self._finding(o, severity, style)

    def _models(self, app: AppModel, qualname: str, trail: tuple[str, ...], seen: set[str],
                response_models: set[str]) -> Iterator[tuple[PydanticModel, tuple[str, ...]]]:
        if qualname in seen or len(trail) > MAX_NESTING:
            return
        if trail and qualname in response_models:
            return  # a response-shaped object sent back as a reference
        model = pydantic_model(app, qualname)
        if model is None or model.kind == "settings":
            return
        seen.add(qualname)
        yield model, trail
        for f in model.fields:
            if server_set(f):
                continue
            for t in f.type_names:
                if not t.startswith(LIBRARY_PREFIXES):
                    yield from self._models(app, t, trail + (f"{model.name}.{f.name}",), seen, response_models)

    def _finding(self, o: _Owner, severity: Severity, style: str) -> Finding:
        model = o.model
        fields = sorted(o.fields.values(), key=lambda x: x[0].line)
        listed = ", ".join(f"`{f.name}` ({what})" for f, what in fields)
        routes = list(dict.fromkeys(r.route.display() for r in o.readers))
        first = o.readers[0]
        via = f" (nested through {' -> '.join(f'`{t}`' for t in first.trail)})" if first.trail else ""
        more = f" and {len(routes) - 1} more route(s)" if len(routes) > 1 else ""
        n = len(fields)
        local = _local_only([r.route for r in o.readers])
        if local:
            severity = Severity.INFO
        related = [Related(model.path, f.line, f"`{model.name}.{f.name}` is {what}") for f, what in fields[1:]]
        seen_routes: set[str] = set()
        for r in o.readers:
            if r.route.display() in seen_routes or len(seen_routes) >= 5:
                continue
            seen_routes.add(r.route.display())
            related.append(Related(r.route.registered.path, r.route.registered.line,
                                   f"read from the body of `{r.route.display()}`"))
        return self.finding(
            model.path, fields[0][0].line, fields[0][0].col,
            f"`{model.name}` is read from the request body of `{first.route.display()}`{via}{more}, and "
            f"{'its field' if n == 1 else f'{n} of its fields'} {'is' if n == 1 else 'are'} unbounded: {listed}; "
            f"one request can make the server parse and validate arbitrarily large data (and store or echo it, "
            f"wherever the handler does){style}{local}",
            help="bound each where it is declared: `Field(max_length=200)` (strings and lists alike), "
                 "`Annotated[str, StringConstraints(max_length=200)]`, or a constrained type; use the database "
                 "column's size as the limit",
            end_line=fields[-1][0].line, related=related, severity=severity,
            # the fields are part of the identity: a new unbounded field in a model a baseline holds is new
            entity=f"{model.qualname}: {', '.join(sorted(f.name for f, _ in fields))}",
            confidence=Confidence.MEDIUM if o.nested_only else Confidence.HIGH,
        )

    def _project_finding(self, owners: dict[str, _Owner], params: list[tuple[Route, Param]], style: _house.House
                         ) -> Iterator[Finding]:
        places: list[tuple[Loc, str]] = []
        for o in owners.values():
            fields = sorted(o.fields.values(), key=lambda x: x[0].line)
            names = ", ".join(f"`{f.name}`" for f, _ in fields)
            places.append((Loc(o.model.path, fields[0][0].line, fields[0][0].col), f"`{o.model.name}`: {names}"))
        for route, p in params:
            places.append((Loc(route.handler.path, p.line, 1), f"body parameter `{p.name}` of `{route.display()}`"))
        if not places:
            return
        yield _house.project_finding(
            self, style, places,
            f"the project does not bound its request strings: {style.count} of the {style.total} string and list fields that request "
            f"bodies read have no `max_length`, in {len(places)} models and body parameters (listed as related "
            f"locations); this one finding stands for all of them",
            help="decide on limits once (the database columns' sizes are a good start) and declare them in the "
                 "models: `Field(max_length=...)` or a shared `Annotated[str, StringConstraints(max_length=...)]` "
                 "alias; also cap the body size at the proxy (`client_max_body_size`)",
            entity="unbounded",
        )


# a registration condition that names a development setup: the route is served on a developer's machine only
LOCAL_CONDITION = re.compile(r"(?i)\b(local|localhost|dev|develop|development|debug|testing|test)\b")


def _local_only(routes: list[Route]) -> str:
    """Every route is registered only under a development condition (``if settings.ENVIRONMENT == "local":
    api_router.include_router(private.router)``): said in the message, and the finding is info (a hardening
    point of a route production does not serve)."""
    conds = [r.conditional for r in routes]
    if conds and all(c and LOCAL_CONDITION.search(c) for c in conds):
        return f"; every route reading it is registered only if `{conds[0]}` (a development setup)"
    return ""
