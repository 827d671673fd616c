"""Request-data flow from route handlers (the injection and mass-assignment rules use it).

A small intra-procedural taint walk over the model, no LibCST:

- **sources** are a route handler's request-derived parameters (``Route.params`` whose
  source is path, query, header, cookie, body, form or file) and the data accessors of a
  ``Request``/``WebSocket`` parameter (``request.query_params``, ``await request.json()``...);
- taint follows the handler's local assignments (``Scope.assigns``, in source order, up to
  the line of the sink) through f-strings, ``+``/``%``/``/``, ``.format()``, ``join``, ``or``,
  conditional expressions (unless their test calls or compares the value), method calls on
  tainted values and a few known pass-through functions (``str``, ``os.path.join``, ``Path``,
  ``urljoin``...);
- it crosses into the project functions the handler calls (1-2 levels, via the resolved call
  graph), mapping positional and keyword arguments onto the callee's parameters;
- it stops at sanitizers (``int()``, ``len()``, ``uuid.UUID()``; ``shlex.quote`` for commands;
  ``os.path.basename``/``secure_filename``/``Path(...).name`` for paths), at values whose
  declared type cannot carry text (``int``, ``bool``, ``UUID``, ``datetime``, ``ZoneInfo``, enums,
  ``Literal``, containers of those, anchored ``pattern=`` of word characters, also from
  ``constr``/``StringConstraints``, or a field validator that raises unless such a pattern matches),
  after an allowlist check (``if x not in ALLOWED: raise``) and after a lookup for equality the
  function gives up without (``row = fetchone("... WHERE k = :k", {"k": x})``, ``if not row: raise``),
  see ``checks.py``; a project check it cannot read marks the value (``Source.checked``);
- for paths it tracks what the text can reach (``Source.reach``, ``pathflow.py``): a ``{name}`` path
  parameter holds no ``/`` (only ``..`` alone), so it is harmless as the last component of a file
  call, or between the code's own components that keep it below the base and end the path; dots
  removed (``x.replace(".", "")``) cannot climb; an upload's bytes are no path (``Source.content``);
- a value passed into a function keeps the code's text in front of it (``Source.lead``: a URL whose
  caller fixed scheme and host).

Code that serves no requests (migrations, scripts, CLI commands: ``is_offline_module``) is where
the unknown-origin rules stay quiet.

Return values of project functions are not followed, nor loop targets (``for k in ...``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from fastapi_arch_lint.analysis.calls import is_test_path
from fastapi_arch_lint.analysis.checks import (
    CheckedValues, confining_marker, names_in, pattern_confines, pattern_is_dotted_token, str_set, validated_shape,
)
from fastapi_arch_lint.analysis.index import find_table, pydantic_model, route_entity, unique_routes
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.analysis.pathflow import PATH_JOINERS, PathPieces, drops_dots, flatten_div, flatten_plus
from fastapi_arch_lint.findings import Related
from fastapi_arch_lint.model.app import AppModel, Function, Route
from fastapi_arch_lint.model.expr import (
    Attr, BinOp, BoolOp, Call, Compare, Cond, Const, DictExpr, Expr, FStr, Name, Opaque, Seq, Subscript, dotted, render,
    walk,
)
from fastapi_arch_lint.model.facts import AssignFact, CallSite

# parameter sources that carry client-controlled data
REQUEST_SOURCES = {
    "path": "path parameter",
    "query": "query parameter",
    "header": "header",
    "cookie": "cookie",
    "body": "request body",
    "form": "form field",
    "file": "uploaded file",
}
# ``Request``/``WebSocket`` members that return client data
REQUEST_ATTRS = frozenset({
    "query_params", "headers", "cookies", "path_params", "json", "body", "form", "stream", "url",
    "receive_text", "receive_json", "receive_bytes", "receive", "iter_text", "iter_json", "iter_bytes",
})
# types whose values cannot carry a payload into SQL, a shell, a URL or a path
SAFE_TYPES = frozenset({
    "builtins.int", "builtins.float", "builtins.bool", "builtins.complex", "uuid.UUID", "datetime.datetime",
    "datetime.date", "datetime.time", "datetime.timedelta", "decimal.Decimal", "typing.Literal",
    "pydantic.UUID1", "pydantic.UUID4", "pydantic.PositiveInt", "pydantic.NonNegativeInt", "pydantic.conint",
    "pydantic.StrictInt", "pydantic.StrictBool", "pydantic.StrictFloat", "pydantic.PastDate", "pydantic.FutureDate",
    "zoneinfo.ZoneInfo", "pydantic.AwareDatetime", "pydantic.NaiveDatetime", "pydantic.PositiveFloat",
})
ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})
NEUTRAL_TYPES = frozenset({"typing.Union", "typing.Optional", "builtins.None", "typing.Annotated"})
# containers: a ``list[UUID]`` holds no more text than a ``UUID`` (``dict`` keys are text: not here)
CONTAINER_TYPES = frozenset({"builtins.list", "builtins.set", "builtins.frozenset", "builtins.tuple", "typing.List",
                             "typing.Set", "typing.FrozenSet", "typing.Tuple", "typing.Sequence",
                             "collections.abc.Sequence", "collections.abc.Set", "typing.AbstractSet"})
SAFE_ANNOTATIONS = frozenset({"int", "float", "bool", "UUID", "uuid.UUID", "datetime", "date", "time", "timedelta",
                              "Decimal", "datetime.datetime", "datetime.date", "ZoneInfo", "zoneinfo.ZoneInfo",
                              "UUID4", "UUID1", "pydantic.UUID4"})
# calls whose result no longer carries the input as text, whatever the sink
SANITIZERS = frozenset({
    "builtins.int", "builtins.float", "builtins.bool", "builtins.len", "builtins.abs", "builtins.round",
    "builtins.hash", "builtins.id", "builtins.isinstance", "uuid.UUID", "builtins.ord",
})
SANITIZERS_BY_KIND: dict[str, frozenset[str]] = {
    "command": frozenset({"shlex.quote", "pipes.quote", "shlex.join"}),
    "path": frozenset({"os.path.basename", "posixpath.basename", "ntpath.basename", "werkzeug.utils.secure_filename",
                       "secure_filename", "pathvalidate.sanitize_filename", "sanitize_filename"}),
    "sql": frozenset(),
    "url": frozenset(),
}
PATH_SAFE_ATTRS = frozenset({"name", "stem", "suffix"})
# sinks a dotted token (``^[a-z0-9.]+$``: no quote, space, ``/``, ``:`` or brace) cannot harm: it may
# still name a host (``url``) or be ``..`` (``path``)
TOKEN_HARMLESS = frozenset({"sql", "command", "redirect", "code", "template", "deserialize", "xml"})
# methods on a tainted value that return something harmless
HARMLESS_METHODS = frozenset({
    "isdigit", "isnumeric", "isdecimal", "isalnum", "isalpha", "isidentifier", "isspace", "islower", "isupper",
    "startswith", "endswith", "count", "find", "rfind", "index", "rindex", "__len__", "exists", "is_file", "is_dir",
    "is_relative_to", "is_absolute",
})
HARMLESS_ATTRS = frozenset({"size", "status_code", "is_absolute"})
# external calls that pass their arguments' text through
PROPAGATORS = frozenset({
    "builtins.str", "builtins.bytes", "builtins.repr", "builtins.format", "builtins.list", "builtins.tuple",
    "builtins.dict", "builtins.sorted", "builtins.reversed", "builtins.vars", "os.path.join", "os.path.abspath",
    "os.path.normpath", "os.path.realpath", "os.path.expanduser", "os.fspath", "posixpath.join", "pathlib.Path",
    "pathlib.PurePath", "pathlib.PurePosixPath", "urllib.parse.urljoin", "urllib.parse.unquote",
    "urllib.parse.unquote_plus", "fastapi.encoders.jsonable_encoder", "json.dumps", "json.loads", "typing.cast",
    "textwrap.dedent", "base64.b64decode", "base64.urlsafe_b64decode",
})
DUMP_METHODS = frozenset({"model_dump", "dict"})
DUMP_FUNCS = frozenset({"builtins.dict", "builtins.vars", "fastapi.encoders.jsonable_encoder"})


@dataclass(frozen=True, slots=True)
class Source:
    """Where a tainted value came from, and what it is now."""

    origin: str  # "query parameter `name`"
    param: str  # the handler parameter it started from
    shape: str = "value"  # "value" | "model" (a request model object) | "dump" (its dict) | "request" (a Request)
    model: str | None = None  # the request model's qualname for "model"/"dump"
    excluded: frozenset[str] = frozenset()  # ``model_dump(exclude=...)``
    included: frozenset[str] | None = None  # ``model_dump(include=...)``
    via: tuple[str, ...] = ()  # project functions the value was passed into
    # what the text can hold, for paths: "any"; "segment" (a ``{name}`` path parameter: no ``/``,
    # but it may be ``..`` alone); "nodots" (``.replace(".", "")``, ``.split(".")[i]``: no ``..``,
    # but it may start with ``/``); "inside" (``{name}`` segments between the code's own components, ending in
    # one: ``BASE / "a" / name / "index.html"``: each ``..`` climbs one level at most, never above ``BASE``,
    # and the file is one the code names)
    reach: str = "any"
    depth: int = 0  # for "inside": how many levels below its first component the path surely stays
    # what rejects some values first in a way the analysis cannot read (a field validator, a project
    # predicate): "the validator `Model.check_name`"; the rules then say so and lower their severity
    checked: str = ""
    content: bool = False  # an uploaded file's bytes or file object (its ``.filename`` is text)
    token: bool = False  # validated to letters, digits, ``_-.``: harmless in SQL and shell lines
    # the code's own text in front of the request data, for a value built around it and passed into a function
    # (``f"https://api.example.com/users/{name}"`` -> ``https://api.example.com/users/``; a server-side value
    # there is ``SERVER_TEXT``); None when request data may come first
    lead: str | None = None

    def value(self) -> "Source":
        if self.shape == "value":
            return self
        return replace(self, shape="value")

    def text(self) -> str:
        return self.origin + (f" (passed into {', '.join(f'`{v}`' for v in self.via)})" if self.via else "")


def is_safe_type(app: AppModel, type_names: Iterable[str]) -> bool:
    """True when every type in the annotation is one that cannot carry text (``int``, enums, ``Literal``)."""
    names = [t for t in type_names if t not in NEUTRAL_TYPES and t not in CONTAINER_TYPES]
    if not names:
        return False
    for t in names:
        if t in SAFE_TYPES:
            continue
        if any(b in ENUM_BASES for b in app.class_bases.get(t, ())):
            continue  # the value is one of the members
        return False
    return True


def annotation_is_safe(app: AppModel, ann: Expr | None, _depth: int = 0) -> bool:
    """A parameter annotation that cannot carry text: ``int``, ``Literal[...]``, an enum, ``Annotated[int, ...]``."""
    if ann is None or _depth > 6:
        return False
    d = _depth + 1
    if isinstance(ann, Const):
        return ann.value is None
    if isinstance(ann, BinOp) and ann.op == "|":
        sides = [ann.left, ann.right]
        return all(annotation_is_safe(app, x, d) for x in sides) and not all(
            isinstance(x, Const) and x.value is None for x in sides)
    if isinstance(ann, Subscript):
        head = (dotted(ann.value) or "").rsplit(".", 1)[-1]
        if head == "Literal":
            return True
        if head == "Annotated" and ann.items and any(confining_marker(m) for m in ann.items[1:]):
            return True  # ``Annotated[str, Query(pattern="^[a-z0-9-]+$")]``
        if head in ("Annotated", "Optional") and ann.items:
            return annotation_is_safe(app, ann.items[0], d)
        if head == "Union":
            return all(annotation_is_safe(app, i, d) for i in ann.items)
        return False
    name = dotted(ann)
    if name is None:
        return False
    if name in SAFE_ANNOTATIONS:
        return True
    return name.rsplit(".", 1)[-1] in memo(app, _enum_short_names)


def _enum_short_names(app: AppModel) -> frozenset[str]:
    """The last names of the project's enum classes (an annotation names a class by its short name)."""
    return frozenset(q.rsplit(".", 1)[-1] for q, bases in app.class_bases.items() if any(b in ENUM_BASES for b in bases))



def model_of(app: AppModel, type_names: Iterable[str]) -> str | None:
    for t in type_names:
        if pydantic_model(app, t) is not None or find_table(app, t) is not None:
            return t
    return None


def route_sources(app: AppModel, route: Route) -> dict[str, Source]:
    """The handler's parameters that carry request data."""
    env: dict[str, Source] = {}
    for p in route.params:
        if p.source in ("request", "websocket"):
            env[p.name] = Source(f"`{p.name}`", p.name, shape="request")
            continue
        kind = REQUEST_SOURCES.get(p.source)
        pattern = p.constraint("pattern") or p.constraint("regex")
        if kind is None or pattern_confines(pattern):
            continue
        if pattern_is_dotted_token(pattern):
            # ``^[a-z0-9.]+$``: no SQL or shell text, no ``/``; still a host name or ``..``
            env[p.name] = Source(f"{kind} `{p.name}`", p.name, reach="segment", token=True)
            continue
        model = model_of(app, p.type_names) if p.source in ("body", "form") else None
        if model is not None:
            env[p.name] = Source(f"{kind} `{p.name}`", p.name, shape="model", model=model)
        elif p.source == "file":
            env[p.name] = Source(f"{kind} `{p.name}`", p.name, content=True)
        elif not is_safe_type(app, p.type_names):
            reach = "segment" if p.source == "path" and not _path_convertor(route.path, p.alias or p.name) else "any"
            env[p.name] = Source(f"{kind} `{p.name}`", p.name, reach=reach)
    return env


def _path_convertor(path: str, name: str) -> bool:
    """``{name:path}``: the one path convertor whose value may hold ``/``."""
    return re.search(r"\{" + re.escape(name) + r":path\}", path) is not None


def is_offline_path(path: str) -> bool:
    """Code that does not serve requests: migrations, scripts, CLI commands, dev tooling.

    Alembic revisions (``alembic/``, ``migrations/``, ``revisions/``; others are known by their
    ``from alembic import op``), ``scripts/``,
    ``dev/``, ``tools/``, ``bin/``, ``manage.py`` and ``cli.py`` / ``cli/`` modules."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    if name in ("manage.py", "cli.py", "__main__.py", "setup.py", "noxfile.py", "fabfile.py"):
        return True
    return any(p in OFFLINE_DIRS for p in parts[:-1])


OFFLINE_DIRS = frozenset({"alembic", "migrations", "migration", "revisions", "scripts", "script", "dev",
                          "tools", "bin", "cli", "management", "commands"})


def is_offline_module(app: AppModel, fn: Function) -> bool:
    """``is_offline_path``, a module that imports ``alembic.op`` (a revision kept elsewhere), or a
    click / typer command (``@cli.command()``, ``@app.command()`` in a module importing click or typer)."""
    if is_offline_path(fn.path) or fn.module in memo(app, _alembic_modules):
        return True
    return fn.module in memo(app, _cli_modules) and any(
        isinstance(d.expr, Call) and isinstance(d.expr.func, Attr) and d.expr.func.attr in ("command", "group")
        or isinstance(d.expr, Attr) and d.expr.attr in ("command", "group") for d in fn.fact.decorators)


def _cli_modules(app: AppModel) -> frozenset[str]:
    return frozenset(mod.name for mod in app.modules
                     if any(imp.module.split(".")[0] in ("click", "typer", "asyncclick") for imp in mod.facts.imports))


def _alembic_modules(app: AppModel) -> frozenset[str]:
    out = set()
    for mod in app.modules:
        for imp in mod.facts.imports:
            if (imp.module == "alembic" and imp.name == "op") or imp.module == "alembic.op":
                out.add(mod.name)
                break
    return frozenset(out)


class Flow(CheckedValues, PathPieces):
    """Taint of expressions inside one function, given its tainted parameters (the checks that clear a value
    are in ``checks.CheckedValues``, what a path can reach in ``pathflow.PathPieces``)."""

    def __init__(self, app: AppModel, fn: Function, env: Mapping[str, Source]) -> None:
        self.app = app
        self.fn = fn
        self.env = dict(env)
        self.assigns: dict[str, list[AssignFact]] = {}
        for a in fn.fact.scope.assigns:
            if a.target and "." not in a.target:
                self.assigns.setdefault(a.target, []).append(a)
        self.sites: dict[tuple[int, int], tuple[CallSite, str | None]] = {
            (s.call.line, s.call.col): (s, t) for s, t in fn.calls
        }
        self.params = {p.name for p in fn.fact.params}
        self._memo: dict[tuple[str, int, str], Source | None] = {}
        self._busy: set[tuple[str, int, str]] = set()

    # -- calls -------------------------------------------------------------
    def target(self, call: Call) -> str:
        found = self.sites.get((call.line, call.col))
        if found is not None and found[1]:
            return found[1]
        return dotted(call.func) or ""

    def site(self, call: Call) -> CallSite | None:
        found = self.sites.get((call.line, call.col))
        return found[0] if found else None

    # -- taint -------------------------------------------------------------
    def taint(self, expr: Expr | None, line: int, kind: str = "") -> Source | None:
        """The request source ``expr`` carries at ``line``, for a sink of ``kind`` (sql, command, url, path)."""
        s = self._taint(expr, line, kind)
        return None if s is None or s.shape == "request" else s

    def raw(self, expr: Expr | None, line: int, kind: str = "") -> Source | None:
        """Like ``taint`` but keeps a bare ``Request`` object (shape "request")."""
        return self._taint(expr, line, kind)

    def _name(self, name: str, line: int, kind: str) -> Source | None:
        key = (name, line, kind)
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return None
        self._busy.add(key)
        src = self.env.get(name)
        if src is not None and src.token and kind in TOKEN_HARMLESS:
            src = None
        since = 0  # the line from which ``src`` holds
        for a in self.assigns.get(name, ()):
            if a.pos.line >= line:
                break
            t = self._taint(a.value, a.pos.line, kind) if a.value is not None else None
            if a.augmented:
                src = src or t
            elif name in names_in(a.value):
                src = t  # ``x = x.strip()`` / ``x = int(x)``: the new value replaces the old
            elif t is not None:
                src = t  # branches are flattened: a clean reassignment does not wash out earlier taint
            else:
                continue
            since = a.pos.line
        if src is not None and (self._allowlisted(name, since, line) or (
                src.shape == "value" and self._found_by(name, since, line))):
            src = None
        self._busy.discard(key)
        self._memo[key] = src
        return src

    def _taint(self, e: Expr | None, line: int, kind: str) -> Source | None:
        if e is None or isinstance(e, (Const, Opaque)):
            return None
        if isinstance(e, (Name, Attr)) and self.fn.fact.guards:
            if self._char_checked(e, line):
                return None
            checked = self._predicate(e, line)
            if checked == "token":
                return None
            if checked is not None:
                found = self._taint_unchecked(e, line, kind)
                return replace(found, checked=checked) if found is not None and found.shape != "request" else found
        return self._taint_unchecked(e, line, kind)

    def _taint_unchecked(self, e: Expr, line: int, kind: str) -> Source | None:
        if isinstance(e, Name):
            return self._name(e.id, line, kind)
        if isinstance(e, Attr):
            base = self._taint(e.value, line, kind)
            if base is None:
                return None
            if base.shape == "request":
                return replace(base.value(), origin=f"`{dotted(e) or render(e)}`") if e.attr in REQUEST_ATTRS else None
            if e.attr in HARMLESS_ATTRS or (kind == "path" and e.attr in PATH_SAFE_ATTRS):
                return None
            if e.attr == "parent" and base.reach == "inside":
                return replace(base.value(), depth=base.depth - 1) if base.depth > 0 else replace(base.value(), reach="any")
            if base.content:
                # ``upload.filename`` is text the client chose; ``upload.file`` is still the bytes
                if e.attr == "filename":
                    return replace(base.value(), content=False, origin=f"the file name `{base.param}.filename` of {base.origin}")
                return base.value()
            if base.shape == "model" and base.model:
                m = pydantic_model(self.app, base.model)
                f = m.field(e.attr) if m else None
                checked = validated_shape(self.app, base.model, e.attr) if f is not None else None
                if f is not None and (is_safe_type(self.app, f.type_names) or checked == "token"
                                      or pattern_confines(f.constraint("pattern") or f.constraint("regex"))):
                    return None
                if f is not None and (checked == "dotted"
                                      or pattern_is_dotted_token(f.constraint("pattern") or f.constraint("regex"))):
                    if kind in TOKEN_HARMLESS:
                        return None
                    return replace(base.value(), origin=f"body field `{base.param}.{e.attr}`", reach="segment", token=True)
                return replace(base.value(), origin=f"body field `{base.param}.{e.attr}`",
                               checked=checked[1:] if checked and checked.startswith("?") else base.checked)
            return base.value()
        if isinstance(e, Subscript):
            return self._taint(e.value, line, kind)
        if isinstance(e, FStr):
            if kind == "path":
                return self._pieces(list(e.parts), line, kind)
            return self._first(line, kind, *(p for p in e.parts if not isinstance(p, str)))
        if isinstance(e, BinOp):
            if kind == "path" and e.op == "/":
                return self._join(flatten_div(e), line, kind)
            if kind == "path" and e.op == "+":
                return self._pieces(flatten_plus(e), line, kind)
            return self._first(line, kind, e.left, e.right)
        if isinstance(e, Seq):
            return self._first(line, kind, *e.items)
        if isinstance(e, BoolOp):
            # ``next or "/"`` is either operand; ``a and b`` is ``b`` (or a falsy ``a``)
            return self._first(line, kind, *(e.values if e.op == "or" else e.values[-1:]))
        if isinstance(e, Cond):
            # ``url if is_local(url) else "/"``: a test that calls or compares the value checks it
            checked = names_in(e.body) & {x.id for c in walk(e.test) if isinstance(c, (Call, Compare))
                                           for x in walk(c) if isinstance(x, Name)}
            return self._first(line, kind, *((e.orelse,) if checked else (e.body, e.orelse)))
        if isinstance(e, DictExpr):
            for k, v in zip(e.keys, e.values):
                if k is None:
                    s = self._taint(v, line, kind)
                    if s is not None and s.shape == "dump":
                        return s
            return self._first(line, kind, *(k for k in e.keys if k is not None), *e.values)
        if isinstance(e, Call):
            return self._call(e, line, kind)
        return None

    def _first(self, line: int, kind: str, *exprs: Expr | None) -> Source | None:
        for x in exprs:
            s = self._taint(x, line, kind)
            if s is not None and s.shape != "request":
                return s.value()
        return None

    def _call(self, e: Call, line: int, kind: str) -> Source | None:
        target = self.target(e)
        if target in SANITIZERS or target in SANITIZERS_BY_KIND.get(kind, ()) or (
                kind == "path" and target.rsplit(".", 1)[-1] in ("basename", "secure_filename", "sanitize_filename")):
            return None
        if kind == "path" and target in PATH_JOINERS:
            return self._join(list(e.args), line, kind)
        func = e.func
        if isinstance(func, Attr):
            if func.attr in HARMLESS_METHODS:
                return None
            recv = self._taint(func.value, line, kind)
            if recv is not None:
                if recv.shape == "request":
                    return replace(recv.value(), origin=f"`{render(e, 60)}`") if func.attr in REQUEST_ATTRS else None
                if func.attr in DUMP_METHODS and recv.shape == "model":
                    return self._dump(recv, e)
                if kind == "path" and func.attr in ("joinpath", "__truediv__") and e.args:
                    return self._join([func.value, *e.args], line, kind)
                if recv.reach == "any" and drops_dots(e):
                    return replace(recv.value(), reach="nodots")  # ``ext.replace(".", "")``: no ``..`` left
                return recv.value()
            if kind == "path" and func.attr in ("joinpath", "__truediv__"):
                return self._join(list(e.args), line, kind)
            if func.attr in ("format", "format_map", "join", "replace", "joinpath", "with_name", "__truediv__"):
                return self._first(line, kind, *e.args, *(v for _, v in e.kwargs))
            return None
        if target in DUMP_FUNCS and e.args:
            s = self._taint(e.args[0], line, kind)
            if s is not None and s.shape == "model":
                return self._dump(s, e)
        if target in PROPAGATORS:
            return self._first(line, kind, *e.args, *(v for _, v in e.kwargs))
        return None

    def _dump(self, src: Source, call: Call) -> Source:
        exc = self._names_set(call.kwarg("exclude"), call.line)
        inc = self._names_set(call.kwarg("include"), call.line)
        if call.kwarg("include") is not None and inc is None:
            inc = frozenset()
        if call.kwarg("exclude") is not None and exc is None:
            inc = frozenset()  # an exclusion the code computes: which fields are copied is unknown, none is assumed
        return replace(src, shape="dump", excluded=src.excluded | (exc or frozenset()),
                       included=inc if inc is not None else src.included)

    def _names_set(self, e: Expr | None, line: int) -> frozenset[str] | None:
        """A literal set of names, or a local bound to one before ``line`` and grown by ``x.add("name")``."""
        found = str_set(e)
        if found is not None or not isinstance(e, Name):
            return found
        binds = [a for a in self.assigns.get(e.id, ()) if a.pos.line < line]
        if len(binds) != 1 or binds[0].augmented:
            return None
        found = str_set(binds[0].value)
        if found is None:
            return None
        for site, _ in self.fn.calls:
            f = site.call.func
            if isinstance(f, Attr) and isinstance(f.value, Name) and f.value.id == e.id and site.pos.line < line:
                if f.attr != "add" or len(site.call.args) != 1 or not isinstance(site.call.args[0], Const):
                    return None
                found = found | {str(site.call.args[0].value)}
        return found

    # -- constants -----------------------------------------------------------
    def is_constant(self, e: Expr | None, line: int, _depth: int = 0, kind: str = "") -> bool:
        """No part of ``e`` comes from a parameter or an unknown value (module names count as constants)."""
        if _depth > 30:
            return False
        if kind:
            return self._const_kind(e, line, kind)
        d = _depth + 1
        if e is None or isinstance(e, Const):
            return True
        if isinstance(e, Opaque):
            return False
        if isinstance(e, Name):
            if e.id in self.params or e.id in self.env:
                pf = self.fn.fact.param(e.id)
                if e.id not in self.env and pf is not None and (
                        annotation_is_safe(self.app, pf.annotation) or confining_marker(pf.default)):
                    return True  # ``lines: int`` cannot carry text
                if not any(a.pos.line < line for a in self.assigns.get(e.id, ())):
                    return False
            defs = [a for a in self.assigns.get(e.id, ()) if a.pos.line < line]
            if not defs:
                return e.id not in self.params
            return all(a.value is not None and self.is_constant(a.value, a.pos.line, d) for a in defs)
        if isinstance(e, Attr):
            return self.is_constant(e.value, line, d)
        if isinstance(e, Subscript):
            return self.is_constant(e.value, line, d)  # an element of a constant table, whatever the key
        if isinstance(e, FStr):
            return all(self.is_constant(p, line, d) for p in e.parts if not isinstance(p, str))
        if isinstance(e, BinOp):
            return self.is_constant(e.left, line, d) and self.is_constant(e.right, line, d)
        if isinstance(e, Seq):
            return all(self.is_constant(i, line, d) for i in e.items)
        if isinstance(e, DictExpr):
            return all(self.is_constant(v, line, d) for v in e.values)
        if isinstance(e, Call):
            target = self.target(e)
            if target in SANITIZERS or target in SANITIZERS_BY_KIND.get(self._kind, ()):
                return True
            func = e.func
            if isinstance(func, Attr) and func.attr == "join" and isinstance(func.value, Const):
                # ``", ".join(f":p{i}" for i in range(n))`` placeholders
                return all(isinstance(a, Opaque) and a.kind == "comprehension" or self.is_constant(a, line, d) for a in e.args)
            if isinstance(func, Attr) and func.attr == "get" and not isinstance(func.value, Call):
                # ``SORT_COLUMNS.get(sort, "id")``: a lookup in a constant allowlist
                return self.is_constant(func.value, line, d) and all(self.is_constant(a, line, d) for a in e.args[1:])
            if isinstance(func, Attr) and func.attr in ("format", "join", "upper", "lower", "strip"):
                return self.is_constant(func.value, line, d) and all(self.is_constant(a, line, d) for a in e.args) and all(
                    self.is_constant(v, line, d) for _, v in e.kwargs)
            return False
        return False

    _kind = ""

    def _const_kind(self, e: Expr | None, line: int, kind: str) -> bool:
        """``is_constant`` that also accepts the sanitizers of one sink kind (``shlex.quote`` for commands)."""
        saved, self._kind = self._kind, kind
        try:
            return self.is_constant(e, line)
        finally:
            self._kind = saved

    # -- strings built by formatting ----------------------------------------------
    def building(self, e: Expr | None, line: int, _depth: int = 0) -> tuple[str, Expr] | None:
        """How a string is built by formatting: ("an f-string" | "`%` formatting" | ..., the building expression).

        Follows local names to their assignments before ``line``.
        """
        if e is None or _depth > 8:
            return None
        if isinstance(e, Name):
            for a in reversed([a for a in self.assigns.get(e.id, ()) if a.pos.line < line]):
                if a.augmented:
                    return "`+=` concatenation", Seq("tuple", (e, a.value)) if a.value is not None else e
                found = self.building(a.value, a.pos.line, _depth + 1)
                if found is not None:
                    return found
            return None
        if isinstance(e, FStr):
            if any(not isinstance(p, str) for p in e.parts):
                return "an f-string", e
            return None
        if isinstance(e, BinOp):
            if e.op == "%" and self.is_stringy(e.left, line):
                return "`%` formatting", e
            if e.op == "+" and (self.is_stringy(e.left, line) or self.is_stringy(e.right, line)):
                return "`+` concatenation", e
            return None
        if isinstance(e, Call) and isinstance(e.func, Attr):
            if e.func.attr in ("format", "format_map") and self.is_stringy(e.func.value, line):
                return "`.format()`", e
            if e.func.attr == "join" and isinstance(e.func.value, Const) and isinstance(e.func.value.value, str):
                return "`join()`", e
        return None

    def is_stringy(self, e: Expr | None, line: int, _depth: int = 0) -> bool:
        if _depth > 8:
            return False
        if isinstance(e, Const):
            return isinstance(e.value, str)
        if isinstance(e, FStr):
            return True
        if isinstance(e, BinOp):
            return self.is_stringy(e.left, line, _depth + 1) or self.is_stringy(e.right, line, _depth + 1)
        if isinstance(e, Name):
            return any(a.value is not None and self.is_stringy(a.value, a.pos.line, _depth + 1)
                       for a in self.assigns.get(e.id, ()) if a.pos.line < line)
        return False

    def string_parts(self, e: Expr | None, line: int, _depth: int = 0) -> list[str]:
        """The literal text of a built string (to tell SQL from other strings)."""
        if e is None or _depth > 8:
            return []
        d = _depth + 1
        if isinstance(e, Const):
            return [e.value] if isinstance(e.value, str) else []
        if isinstance(e, FStr):
            return [p for p in e.parts if isinstance(p, str)]
        if isinstance(e, BinOp):
            return self.string_parts(e.left, line, d) + self.string_parts(e.right, line, d)
        if isinstance(e, Seq):
            return [s for i in e.items for s in self.string_parts(i, line, d)]
        if isinstance(e, Name):
            return [s for a in self.assigns.get(e.id, ()) if a.pos.line < line for s in self.string_parts(a.value, a.pos.line, d)]
        if isinstance(e, Call) and isinstance(e.func, Attr):
            return self.string_parts(e.func.value, line, d)
        return []

    # -- crossing into callees -------------------------------------------------------
    def call_env(self, site: CallSite, callee: Function) -> dict[str, Source]:
        """The callee's parameters that receive tainted arguments at ``site``."""
        call = site.call
        params = [p for p in callee.fact.params if p.kind in ("positional", "keyword")]
        positional = [p for p in callee.fact.params if p.kind == "positional"]
        is_static = any("staticmethod" in render(d.expr) for d in callee.fact.decorators)
        if callee.fact.is_method and not is_static and positional and positional[0].name in ("self", "cls"):
            bound = positional[0].name
            positional = positional[1:]
            params = [p for p in params if p.name != bound]
        by_name = {p.name: p for p in params}
        out: dict[str, Source] = {}
        pairs: list[tuple[str, Expr]] = []
        for p, a in zip(positional, call.args):
            pairs.append((p.name, a))
        for k, v in call.kwargs:
            if k in by_name:
                pairs.append((k, v))
        short = callee.qualname.rsplit(".", 1)[-1] if callee.class_name is None else ".".join(callee.qualname.rsplit(".", 2)[-2:])
        for name, arg in pairs:
            s = self.raw(arg, site.pos.line)
            if s is None:
                continue
            pf = by_name.get(name)
            if s.shape == "value" and pf is not None and annotation_is_safe(self.app, pf.annotation):
                continue
            out[name] = replace(s, via=s.via + (short,), lead=self.lead(arg, site.pos.line))
        return out


@dataclass(slots=True)
class Context:
    """One function on a route's request path, with its tainted parameters."""

    app: AppModel
    route: Route
    function: Function
    env: dict[str, Source]
    trail: tuple[tuple[Function, CallSite], ...] = ()  # the calls that led here from the handler
    _flow: Flow | None = field(default=None, repr=False)

    @property
    def flow(self) -> Flow:
        if self._flow is None:
            self._flow = Flow(self.app, self.function, self.env)
        return self._flow

    def related(self) -> tuple[Related, ...]:
        r = self.route
        out = [Related(r.registered.path, r.registered.line, f"route `{r.display()}` handled by `{r.handler.qualname}`")]
        for fn, site in self.trail:
            out.append(Related(fn.path, site.pos.line, f"request data passed into `{render(site.call.func, 60)}(...)`"))
        return tuple(out)

    def entity(self) -> str:
        return route_entity(self.route)


# how many calls deep request data is followed from a handler
CONTEXT_DEPTH = 2


def contexts(app: AppModel) -> Iterator[Context]:
    """Each route handler with tainted parameters, then the project functions it passes them to.

    The injection rules walk them (FAL520-FAL525, FAL530-FAL534), so they are built once per model and
    shared, flows included: a ``Flow`` only caches what is a function of its inputs, so which rule
    asks first does not matter."""
    return iter(memo(app, _contexts))


def _contexts(app: AppModel) -> tuple[Context, ...]:
    out: list[Context] = []
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    for route in unique_routes(app):
        fn = app.function(route.handler.qualname)
        if fn is None:
            continue
        env = route_sources(app, route)
        if not env:
            continue
        queue = [Context(app, route, fn, env)]
        while queue:
            ctx = queue.pop(0)
            key = (route_entity(route), ctx.function.qualname, tuple(sorted((k, v.lead or "") for k, v in ctx.env.items())))
            if key in seen:
                continue
            seen.add(key)
            out.append(ctx)
            if len(ctx.trail) >= CONTEXT_DEPTH:
                continue
            for site, target in ctx.function.calls:
                callee = app.functions.get(target) if target else None
                if callee is None or callee.qualname == ctx.function.qualname:
                    continue
                sub = ctx.flow.call_env(site, callee)
                if sub:
                    queue.append(Context(app, route, callee, sub, ctx.trail + ((ctx.function, site),)))
    return tuple(out)


def untraced_functions(app: AppModel) -> Iterator[Function]:
    """Every project function outside test code, for FAL529 (SQL built from values of unknown origin)."""
    for fn in app.functions.values():
        if not is_test_path(fn.path):
            yield fn


def call_arg(call: Call, index: int, *names: str) -> Expr | None:
    for n in names:
        v = call.kwarg(n)
        if v is not None:
            return v
    return call.args[index] if index < len(call.args) else None
