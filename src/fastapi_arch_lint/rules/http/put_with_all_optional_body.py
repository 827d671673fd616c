"""FAL206 put-with-all-optional-body."""

from __future__ import annotations

import re
from collections.abc import Iterator

from fastapi_arch_lint.findings import Finding, Related, Severity
from fastapi_arch_lint.model.app import AppModel, ModelField, PydanticModel, Route
from fastapi_arch_lint.model.expr import Attr, Expr, Name, walk
from fastapi_arch_lint.model.facts import CompareFact, FunctionFact
from fastapi_arch_lint.rule import Rule, register
from fastapi_arch_lint.rules._house import House, app_label, detect, project_finding
from fastapi_arch_lint.rules._house import enabled as house_enabled
from fastapi_arch_lint.rules._html import renders_html
from fastapi_arch_lint.rules._util import aliases_text, pydantic_model, route_entity, route_related, same_handler
from fastapi_arch_lint.rules.http._common import registrations


# a default that is a value, not ``None``: a literal (``5``, ``"light"``, ``True``) or a member of an enum
# or constant namespace (``Kind.DRAFT``, ``Kind.DRAFT.value``), also as ``Field(default=...)``
_REAL_DEFAULT = re.compile(r"""-?\d[\d_.eE+-]*|[rbuf]*(['"]).*\1|True|False|[A-Za-z_]\w*(\.[A-Za-z_]\w*)+""", re.S)


def _optional(f: ModelField) -> bool:
    """Not required, and left out means ``None``: the field of a partial update. A nullable field whose
    default is a real value (``kind: int | None = Field(default=Kind.DRAFT.value)``) is not: left out, it
    resets to that value."""
    if f.required:
        return False
    if f.default == "None":
        return True
    return f.optional and not _REAL_DEFAULT.fullmatch(f.default)


def _judge(app: AppModel, route: Route) -> tuple[PydanticModel | None] | None:
    """``(model,)`` with the route's all-optional body model, ``(None,)`` when its body model has a
    required field, None when no body model of the project is known."""
    judged = False
    for qualname in route.request_models:
        model = pydantic_model(app, qualname)
        if model is None or not model.fields:
            continue
        judged = True
        if all(_optional(f) for f in model.fields):
            return (model,)
    return (None,) if judged else None


# keywords of ``model_dump``/``dict`` and attributes that ask which fields the client sent: a partial update
_PARTIAL_KEYWORDS = frozenset({"exclude_unset", "exclude_none", "exclude_defaults"})
_SENT_FIELDS = ("model_fields_set", "__fields_set__")


def _is_field(e: Expr | None, body: str, name: str) -> bool:
    return isinstance(e, Attr) and e.attr == name and isinstance(e.value, Name) and e.value.id == body


def _reads(e: Expr | None, body: str, name: str) -> bool:
    return any(_is_field(x, body, name) for x in walk(e))


def _taken_as_sent(route: Route, model: PydanticModel) -> bool:
    """The handler uses every field of the body as the value to store or hand on, ``None`` included
    (``folder.parent_id = body.parent_id``, ``place(before=body.before)``), outside any ``if`` that tests
    that field, and never asks which fields were sent (``exclude_unset=True``, ``model_fields_set``):
    a full replacement whose ``None`` means something (no parent: the root), not a partial update."""
    fact: FunctionFact = route.handler.fact
    bodies = [p.name for p in route.params if p.source == "body" and model.qualname in p.type_names]
    if len(bodies) != 1:
        return False
    body = bodies[0]
    if any(k in _PARTIAL_KEYWORDS for site in fact.calls for k, _ in site.call.kwargs) or \
            any(a == f"{body}.{s}" or a.endswith(f".{s}") for a in fact.attributes for s in _SENT_FIELDS):
        return False
    for f in model.fields:
        guarded_lines: set[int] = set()
        guarded_calls: set[int] = set()
        for g in fact.guards:
            atoms = [x for _, t in g.tests for x in ((t.left, t.right) if isinstance(t, CompareFact) else (t,))]
            if any(_reads(a, body, f.name) for a in atoms):
                guarded_lines |= {*g.body_assigns, *g.orelse_assigns}
                guarded_calls |= {*g.body_calls, *g.orelse_calls}
        # the field itself, not ``body.name or item.name`` (which keeps the old value: a partial update)
        stored = any("." in a.target and _is_field(a.value, body, f.name) and a.pos.line not in guarded_lines
                     for a in fact.scope.assigns)
        handed = any(i not in guarded_calls and any(_is_field(a, body, f.name) for a in (*site.call.args,
                                                                                       *(v for _, v in site.call.kwargs)))
                     for i, site in enumerate(fact.calls))
        if not stored and not handed:
            return False
    return True


@register
class PutWithAllOptionalBody(Rule):
    code = "FAL206"
    name = "put-with-all-optional-body"
    summary = "A PUT's body model has every field optional: a partial update (PATCH) in disguise"
    severity = Severity.WARNING
    other_severities = {Severity.INFO: "once per app or project, when its house style is what the rule dislikes; "
                                       "and for each in an app with no PATCH route and no PUT that replaces"}
    default_options = {"house_style": True}

    def check(self, app: AppModel) -> Iterator[Finding]:
        # every PUT and PATCH with a body model: partial (every field optional) or not
        puts: list[tuple[Route, PydanticModel | None]] = []
        patches: list[tuple[Route, PydanticModel | None]] = []
        patching: set[str] = set()  # apps with a PATCH route, whatever its body
        for route in registrations(app):
            if route.kind != "http" or renders_html(app, route):
                continue
            if "PATCH" in route.methods:
                patching.add(route.app)
            if "PUT" in route.methods:
                judged = _judge(app, route)
                if judged is not None:
                    puts.append((route, judged[0]))
            elif "PATCH" in route.methods:
                judged = _judge(app, route)
                if judged is not None:
                    patches.append((route, judged[0]))
        if house_enabled(self.options):
            # per app: an admin app and a public API may follow different conventions
            housed: set[str] = set()
            for app_id in dict.fromkeys(r.app for r, _ in puts):
                mine = [(r, m) for r, m in puts if r.app == app_id]
                if not any(m is not None for _, m in mine):
                    continue
                their_patches = [(r, m) for r, m in patches if r.app == app_id]
                if any(m is not None for _, m in their_patches):
                    continue  # the API serves partial updates with PATCH: a partial PUT departs from that
                house, text = self._house(mine, their_patches)
                if house is None:
                    continue
                housed.add(app_id)
                patched = {r.path for r, _ in their_patches}
                places = [(r.registered, f"`PUT {r.path}` takes `{m.name}`") for r, m in mine
                          if m is not None and r.path not in patched]
                if not places:
                    continue
                yield project_finding(
                    self, house, places,
                    f"{text} (judged as the house style: a partial PUT is reported only where the same path "
                    f"also has a PATCH)",
                    help="HTTP says PUT replaces the resource and PATCH changes part of it; clients and caches that "
                         "follow it may resend whole objects. If PUT is a partial update by choice, document it; "
                         "else serve partial updates with `@router.patch`. Set `house_style = false` to see each",
                    entity=f"partial-put {app_label(app, app_id)}",
                )
            # a partial PUT beside a PATCH on the same path is two ways to change part of one resource
            patch_paths = {(r.app, r.path) for r, _ in patches}
            puts = [(r, m) for r, m in puts if r.app not in housed or (r.app, r.path) in patch_paths]
        # the contrast that makes a partial PUT an inconsistency: the app replaces with PUT elsewhere (a
        # client that sends part of a resource there wipes the rest) or knows PATCH; without either, the
        # app's PUTs are all partial and PUT may be its partial update by choice (an API spec's)
        contrast = patching | {r.app for r, m in puts if m is None}
        body = {id(r): m for r, m in puts}
        # one finding per handler: its stacked aliases (``/items/{id}`` and ``/items/{id}/``) take one body
        for route, others in same_handler(r for r, m in puts if m is not None):
            model = body[id(route)]
            assert model is not None
            if _taken_as_sent(route, model):
                continue  # the handler stores what was sent, None included: no partial update
            handler = route.handler.qualname.rsplit(".", 1)[-1]
            alone = route.app not in contrast
            yield self.finding(
                route.registered.path, route.registered.line, route.registered.col,
                f"`PUT {route.path}` (`{handler}`) takes `{model.name}`, whose "
                f"{len(model.fields)} field{'s are' if len(model.fields) > 1 else ' is'} all optional: "
                f"a client can send `{{}}`, which reads as a partial update{aliases_text(others)}"
                + (" (this app has no PATCH route and no PUT that replaces: PUT may be its partial update by "
                   "choice)" if alone else ""),
                help="PUT replaces the whole resource, so its body should require the resource's fields; "
                     "serve partial updates with `@router.patch` (and `model_dump(exclude_unset=True)`), or "
                     "give the PUT a model with required fields",
                related=(Related(model.path, model.line, f"`{model.name}`: every field defaults to `None`"),
                         *route_related(route)),
                entity=f"{route_entity(route)} {model.qualname}",
                severity=Severity.INFO if alone else None,
            )

    @staticmethod
    def _house(puts: list[tuple[Route, PydanticModel | None]],
               patches: list[tuple[Route, PydanticModel | None]]) -> tuple[House | None, str]:
        """The app's house style that makes its partial PUTs the convention, and the sentence saying it.

        Either PUT is the app's partial update (most PUTs take an all-optional model), or PUT is the
        app's update method (most routes that change a resource with a body use PUT, PATCH next to
        never, and none takes a partial model): then which PUT body happens to require a field is
        no choice of method, and the all-optional ones follow the convention.
        """
        partial = detect("partial" if m is not None else "full" for _, m in puts)
        if partial is not None and partial.style == "partial":
            return partial, (f"PUT is this API's partial update: {partial.share} PUT routes with a body take a "
                             f"model whose fields are all optional")
        method = detect(["PUT"] * len(puts) + ["PATCH"] * len(patches))
        if method is not None and method.style == "PUT":
            n = sum(1 for _, m in puts if m is not None)
            return method, (f"PUT is this API's update method: {method.share} routes that update with a body use "
                            f"PUT and none serves a partial update with PATCH; {n} of those PUTs take a model "
                            f"whose fields are all optional")
        return None, ""
