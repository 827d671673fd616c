"""Helpers shared by the REST rules (pure functions of the model)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from fastapi_arch_lint.analysis.index import router_by_id, routers_named
from fastapi_arch_lint.model.app import AppModel, Loc, Param, Route, Router
from fastapi_arch_lint.model.facts import FunctionFact
from fastapi_arch_lint.rules._util import PARAM_RE, in_test_function, pattern_key, pydantic_model  # noqa: F401 (re-exported)

# ``v1``, ``v2``, ``v1.2``, ``v2beta1``, ``v1-alpha``
VERSION_RE = re.compile(r"^v\d+(?:[._]\d+)*(?:[-_]?(?:alpha|beta|rc)\d*)?$", re.IGNORECASE)

LIST_TYPES = frozenset({
    "builtins.list", "typing.List", "typing.Sequence", "collections.abc.Sequence", "builtins.set", "typing.Set",
    "builtins.frozenset", "typing.FrozenSet", "typing.Iterable", "collections.abc.Iterable", "builtins.tuple",
    "typing.Tuple",
})

# wire names that make a GET a paginated one
PAGINATION_NAMES = frozenset({
    "limit", "offset", "page", "size", "page_size", "pagesize", "per_page", "perpage", "cursor", "skip", "take",
    "first", "last", "after", "before", "page_token", "pagetoken", "next_token", "continuation_token",
    "start", "top", "max_results", "maxresults", "page_number", "pagenumber", "page_num", "since_id", "max_id",
    "starting_after", "ending_before",
})

# wire names of a page-size parameter (FAL109)
PAGE_SIZE_NAMES = frozenset({
    "limit", "page_size", "pagesize", "per_page", "perpage", "size", "take", "first", "top",
    "max_results", "maxresults", "page_limit", "pagelimit",
})


def norm_name(name: str) -> str:
    """``pageSize`` / ``page-size`` / ``page_size`` -> ``page_size``."""
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return s.replace("-", "_").lower()


def wire_name(p: Param) -> str:
    return p.alias or p.name


# ---------------------------------------------------------------------------
# path patterns (Starlette's ``compile_path``)

CONVERTOR_RE = {
    "str": r"[^/]+",
    "path": r".*",
    "int": r"[0-9]+",
    "float": r"[0-9]+(?:\.[0-9]+)?",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
}


@dataclass(frozen=True, slots=True)
class Seg:
    text: str
    kind: str  # "static" | "param" | "mixed"
    convertor: str = "str"  # for "param"

    @property
    def regex(self) -> str:
        out = []
        pos = 0
        for m in PARAM_RE.finditer(self.text):
            out.append(re.escape(self.text[pos:m.start()]))
            out.append(f"(?:{CONVERTOR_RE.get(m.group(2) or 'str', '[^/]+')})")
            pos = m.end()
        out.append(re.escape(self.text[pos:]))
        return "".join(out)


@lru_cache(maxsize=4096)
def parse_path(path: str) -> tuple[Seg, ...]:
    segs = []
    for raw in path.split("/")[1:] if path.startswith("/") else path.split("/"):
        m = PARAM_RE.fullmatch(raw)
        if m:
            segs.append(Seg(raw, "param", m.group(2) or "str"))
        elif PARAM_RE.search(raw):
            segs.append(Seg(raw, "mixed"))
        else:
            segs.append(Seg(raw, "static"))
    return tuple(segs)


# which convertor's values are all accepted by which (value sets as subsets)
_SUBSET = {
    ("int", "str"), ("int", "float"), ("float", "str"), ("uuid", "str"),
    ("int", "path"), ("float", "path"), ("uuid", "path"), ("str", "path"),
}


def swallows(earlier: str, later: str) -> bool:
    """Whether every URL that ``later`` matches is also matched by ``earlier`` (segment-wise, conservative)."""
    a, b = parse_path(earlier), parse_path(later)
    for i, sa in enumerate(a):
        if sa.kind == "param" and sa.convertor == "path":
            # ``{p:path}`` takes the rest, slashes included (and must be last to mean that)
            return i == len(a) - 1 and len(b) > i
        if i >= len(b):
            return False
        sb = b[i]
        if sa.kind == "static":
            if sb.kind != "static" or sb.text != sa.text:
                return False
        elif sa.kind == "param":
            if sb.kind == "static":
                if not sb.text or not re.fullmatch(CONVERTOR_RE.get(sa.convertor, "[^/]+"), sb.text):
                    return False
            elif sb.kind == "param":
                if sb.convertor != sa.convertor and (sb.convertor, sa.convertor) not in _SUBSET:
                    return False
            else:  # mixed text and parameters: every value is a non-empty segment without ``/``
                if sa.convertor != "str":
                    return False
        else:  # a mixed earlier segment only swallows literal text
            if sb.kind != "static" or not re.fullmatch(sa.regex, sb.text):
                return False
    return len(a) == len(b)


# ---------------------------------------------------------------------------
# responses


def returns_list(route: Route) -> bool:
    """The route's response model (decorator or return annotation) is a list-like collection."""
    types = route.response_model_types
    if not types:
        return False
    first = types[0]
    if first in LIST_TYPES:
        return True
    if first in ("typing.Optional", "typing.Union") and len(types) > 1 and types[1] in LIST_TYPES:
        return True
    return False


# ---------------------------------------------------------------------------
# dependencies


def dependency_functions(app: AppModel, route: Route) -> Iterator[tuple[str, str, FunctionFact]]:
    """(qualname, path, fact) of the handler and of every project function whose parameters FastAPI reads."""
    yield route.handler.qualname, route.handler.path, route.handler.fact
    seen = {route.handler.qualname}
    for d in route.dependencies:
        for q in (d.name, f"{d.name}.__init__", f"{d.name}.__call__"):
            fn = app.function(q)
            if fn is not None and q not in seen:
                seen.add(q)
                yield q, fn.path, fn.fact
                break


def param_site(app: AppModel, route: Route, param: Param) -> tuple[str, str, FunctionFact] | None:
    """The function that declares ``param`` (the handler or a dependency), as (qualname, path, fact)."""
    for q, path, fact in dependency_functions(app, route):
        pf = fact.param(param.name)
        if pf is not None and (not param.line or pf.pos.line == param.line):
            return q, path, fact
    return None


def class_field_names(app: AppModel, qualname: str) -> tuple[str, ...] | None:
    """Field names (and aliases) of a project class used as a dependency without its own ``__init__``."""
    m = pydantic_model(app, qualname)
    if m is not None:
        out = []
        for f in m.fields:
            out.append(f.name)
            alias = f.constraint("alias")
            if isinstance(alias, str):
                out.append(alias)
        return tuple(out)
    entry = app.classes.get(qualname)
    if entry is not None:
        return tuple(f.name for f in entry[1].fields if f.annotation is not None)
    return None


def opaque_dependencies(app: AppModel, route: Route) -> list[str]:
    """Dependencies whose parameters the model cannot see (external callables, unresolved names)."""
    out = []
    for d in route.dependencies:
        if d.kind == "scheme" or d.is_async is not None:
            continue
        if d.kind == "class" and class_field_names(app, d.name) is not None:
            continue
        out.append(d.name)
    return out


def dependency_class_fields(app: AppModel, route: Route) -> Iterator[tuple[str, str]]:
    """(class qualname, field name) of project classes used as dependencies without an ``__init__``."""
    for d in route.dependencies:
        if d.kind == "class" and d.is_async is None:
            for name in class_field_names(app, d.name) or ():
                yield d.name, name


# ---------------------------------------------------------------------------
# where a path segment comes from


def _router_named(app: AppModel, name: str, path: str) -> Router | None:
    """The one router called ``name`` defined in the file ``path`` (None when there is not exactly one)."""
    found = [r for r in routers_named(app, name, path) if not r.is_app]
    return found[0] if len(found) == 1 else None


def segment_origin(app: AppModel, route: Route, index: int) -> tuple[Loc, str]:
    """The place that wrote segment ``index`` of ``route.path`` and a word for it.

    The path is ``include prefixes + router prefix + route path``; when the pieces do
    not add up (a prefix of an intermediate router), the route's registration is used.
    """
    pieces: list[tuple[str, Loc, str]] = []
    for i, step in enumerate(route.include_chain):
        if i > 0:
            # the including router's own ``APIRouter(prefix=)`` (a router included into another
            # one, ``org_router = APIRouter(prefix="/{org}")``): defined beside its include calls
            parent = _router_named(app, step.parent, step.path)
            if parent is not None and parent.prefix:
                pieces.append((parent.prefix, parent.loc, f"the prefix of router `{parent.name}`"))
        if step.prefix:
            pieces.append((step.prefix, Loc(step.path, step.line), f"the prefix of `{step.parent}.include_router({step.child})`"))
    if route.router_prefix:
        router = router_by_id(app, route.router)
        router = router if router is not None and router.id == route.router else None
        if router is not None:
            pieces.append((route.router_prefix, router.loc, f"the prefix of router `{router.name}`"))
        else:
            pieces.append((route.router_prefix, route.registered, "the router prefix"))
    own = route.path[len("".join(p for p, _, _ in pieces)):]
    pieces.append((own, route.registered, "the route path"))
    if "".join(p for p, _, _ in pieces) != route.path:
        return route.registered, "the route path"
    # character offset of the segment
    parts = route.path.split("/")
    start = len("/".join(parts[:index])) + 1  # +1 for the slash before the segment
    pos = 0
    for text, loc, what in pieces:
        if pos <= start < pos + len(text):
            return loc, what
        pos += len(text)
    return route.registered, "the route path"
