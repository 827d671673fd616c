"""Per-file facts: plain, frozen, picklable data collected from one module.

The extractor fills these and never reports; the linker joins the facts of all
files into the app model. Because they are plain data they can cross a process
pool and be cached by content hash. They hold no source text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi_arch_lint.model._init import fast_inits
from fastapi_arch_lint.model.expr import Call, Expr


@dataclass(frozen=True, slots=True)
class Pos:
    line: int
    col: int  # 1-based
    end_line: int
    end_col: int


NOPOS = Pos(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class ImportFact:
    """``local`` is bound to ``module`` (``name`` None) or to ``module.name``.

    Relative imports keep their ``level`` (number of leading dots); the linker
    resolves them once module names are known, so facts do not depend on where
    a file lies and can be cached by content alone.
    """

    local: str
    module: str
    name: str | None
    level: int
    line: int


@dataclass(frozen=True, slots=True)
class ParamFact:
    name: str
    kind: str  # "positional" | "keyword" | "var_positional" | "var_keyword"
    annotation: Expr | None
    default: Expr | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class DecoratorFact:
    expr: Expr
    pos: Pos


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call anywhere in a function body (nested functions excluded)."""

    call: Call
    pos: Pos
    awaited: bool = False
    # the name the call's result is assigned to, when it is ``x = call(...)``
    assigned_to: str | None = None
    # the ``*x`` / ``**x`` arguments as ("*" or "**", expression); ``call.starred`` only says they exist
    spread: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class RaiseFact:
    expr: Expr | None
    pos: Pos
    # in ``Scope.raises`` only: the conditions under which the ``raise`` runs, as ``ReturnFact.conds``
    conds: tuple[tuple[bool, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class CompareFact:
    left: Expr
    op: str
    right: Expr
    pos: Pos


@dataclass(frozen=True, slots=True)
class GuardFact:
    """One ``if``/``elif`` statement: the operands of its test and what its branches do.

    ``tests`` are the ``and``/``or`` operands of the condition with ``not`` folded into the flag:
    ``(negated, atom)``, a comparison as a ``CompareFact`` (``x not in S`` keeps its op), anything
    else as an expression (``path.startswith("/public")``). ``body_calls``/``body_raises`` (and the
    ``orelse_`` ones) are indexes into the function's ``calls`` and ``raises`` made inside that branch,
    nested branches included. Middleware path allowlists are read from these. ``test`` is the whole
    condition as written (``not`` included), for folding it when the arguments a call binds decide it.
    """

    tests: tuple[tuple[bool, "CompareFact | Expr"], ...]
    pos: Pos
    body_calls: tuple[int, ...] = ()
    body_raises: tuple[int, ...] = ()
    orelse_calls: tuple[int, ...] = ()
    orelse_raises: tuple[int, ...] = ()
    test: Expr | None = None
    # the lines of the assignments (``x = ...``, ``x: T = ...``, ``x += ...``) made inside each branch,
    # nested branches included: which branch a ``Scope.assigns`` entry sits in, by its line
    body_assigns: tuple[int, ...] = ()
    orelse_assigns: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class ExceptFact:
    """One ``except`` clause of a function body: what it catches and what its body does.

    ``types`` are the caught classes as written (empty for a bare ``except:``), ``name`` the ``as``
    name ("" without one); ``calls``/``raises`` index the function's ``calls`` and ``raises`` made in
    the clause's body (nested blocks included), ``returns`` are the lines of its ``return`` statements,
    ``try_calls`` index the calls of the guarded ``try`` body.
    """

    types: tuple[Expr, ...]
    name: str
    calls: tuple[int, ...] = ()
    raises: tuple[int, ...] = ()
    returns: tuple[int, ...] = ()
    # the calls made in the body of the ``try`` the clause belongs to (nested blocks included)
    try_calls: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AssignFact:
    target: str  # a dotted target: ``x``, ``self.router``; "" when not representable
    value: Expr | None
    annotation: Expr | None
    pos: Pos
    augmented: bool = False
    # for an augmented assignment (``params += [...]``): the ``if`` branches it sits in, as ``ReturnFact.conds``
    conds: tuple[tuple[bool, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class StmtCall:
    """A call used as a statement (``app.include_router(...)``)."""

    call: Call
    pos: Pos
    conds: tuple[tuple[bool, Expr], ...] = ()  # the ``if`` branches it sits in, as ``ReturnFact.conds``


@dataclass(frozen=True, slots=True)
class ReturnFact:
    value: Expr | None
    pos: Pos
    # the conditions under which the ``return`` runs, outermost first: ``(negated, test)`` for each
    # enclosing ``if``/``elif`` branch (negated in an ``else``, and for the tests an ``elif`` follows);
    # a loop, ``except`` or ``case`` body adds an ``Opaque`` test (it may not run at all)
    conds: tuple[tuple[bool, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class BlockFact:
    """An ``if`` branch or a ``for`` loop of a scope, and the statements it holds.

    ``kind`` "if": the branch runs when ``test`` is true (``negated``: when it is false; the ``else``
    branch, or ``if not x:`` with ``test`` the ``x``). ``kind`` "for": ``test`` is the iterable and
    ``target`` the loop target (a ``Name`` or a ``Seq`` of them). ``text`` is the condition under
    which the branch runs, near enough as written (``not (a == b)`` for an ``else``), or
    ``for TARGET in ITER``. ``calls``,
    ``functions`` and ``assigns`` are ``[start, end)`` index ranges into the scope's tuples, nested
    blocks included; blocks are listed outer before inner, ``parent`` is the enclosing block's index
    (-1 for none). Only blocks that hold what the linker reads of them are recorded: a statement
    call of an attribute or of a call's result, a decorated function, a call's result called and
    assigned.
    """

    kind: str
    test: Expr | None
    negated: bool
    target: Expr | None
    text: str
    parent: int
    pos: Pos
    calls: tuple[int, int] = (0, 0)
    functions: tuple[int, int] = (0, 0)
    assigns: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class Scope:
    """The statements of a module or function body that the linker interprets.

    Compound statements (``if``, ``try``, ``with``, loops) are flattened into their
    enclosing scope; function and class bodies are scopes of their own. ``blocks`` says which of
    the flattened statements sit under an ``if`` branch or in a ``for`` loop.
    """

    assigns: tuple[AssignFact, ...] = ()
    calls: tuple[StmtCall, ...] = ()
    functions: tuple["FunctionFact", ...] = ()
    classes: tuple["ClassFact", ...] = ()
    imports: tuple[ImportFact, ...] = ()
    returns: tuple[ReturnFact, ...] = ()
    blocks: tuple[BlockFact, ...] = ()
    # ``raise`` statements with their conditions (a function's own, not those of nested functions)
    raises: tuple[RaiseFact, ...] = ()
    # the containers an item is stored into or deleted from by subscript, by dotted name: ``STORE[key] = v``,
    # ``del self.rows[key]``, ``COUNTS[key] += 1`` give ``STORE``, ``self.rows``, ``COUNTS``
    stores: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionFact:
    name: str
    qualname: str
    pos: Pos
    is_async: bool
    params: tuple[ParamFact, ...]
    decorators: tuple[DecoratorFact, ...]
    returns: Expr | None
    scope: Scope
    calls: tuple[CallSite, ...] = ()
    raises: tuple[RaiseFact, ...] = ()
    compares: tuple[CompareFact, ...] = ()
    names: frozenset[str] = frozenset()
    # attribute chains read in the body, such as ``request.headers`` or ``user.id``
    attributes: frozenset[str] = frozenset()
    # string subscripts such as ``request.headers["Authorization"]`` -> ("request.headers", "Authorization")
    subscripts: tuple[tuple[str, str], ...] = ()
    docstring: str | None = None
    is_method: bool = False
    # names and attribute chains tested for truth in ``if``/``while``/``assert``/ternary conditions,
    # bare or under ``not`` / ``and`` / ``or``: ``if not token:`` -> "token"
    truth_tests: frozenset[str] = frozenset()
    # ``if`` statements with their test operands and the calls/raises of each branch
    guards: tuple[GuardFact, ...] = ()
    # ``except`` clauses with what they catch and the calls, raises and returns of their bodies
    excepts: tuple[ExceptFact, ...] = ()
    # the body has a ``yield`` (its own, not a nested function's): calling it runs nothing until iterated
    is_generator: bool = False

    def param(self, name: str) -> ParamFact | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


@dataclass(frozen=True, slots=True)
class FieldFact:
    """A class-level assignment: a Pydantic field, a column, a class constant."""

    name: str
    annotation: Expr | None
    value: Expr | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class ClassFact:
    name: str
    qualname: str
    pos: Pos
    bases: tuple[Expr, ...]
    keywords: tuple[tuple[str, Expr], ...]
    decorators: tuple[DecoratorFact, ...]
    fields: tuple[FieldFact, ...]
    methods: tuple[FunctionFact, ...]
    classes: tuple["ClassFact", ...] = ()
    docstring: str | None = None

    def method(self, name: str) -> FunctionFact | None:
        found = None
        for m in self.methods:
            if m.name == name:
                found = m
        return found

    def field(self, name: str) -> FieldFact | None:
        found = None
        for f in self.fields:
            if f.name == name:
                found = f
        return found


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    path: str  # as given to the tool, relative to the working directory when possible
    module: str  # dotted module name
    is_package: bool
    digest: str
    line_count: int
    imports: tuple[ImportFact, ...]
    scope: Scope
    exports: tuple[str, ...] | None = None  # ``__all__`` when literal
    # line -> codes suppressed by ``# noqa: CODES`` (empty frozenset for a bare ``# noqa``)
    noqa: dict[int, frozenset[str]] = field(default_factory=dict)
    # ``# fastapi-arch-lint: noqa`` on its own line suppresses the whole file
    file_noqa: frozenset[str] | None = None


# built by the hundred thousand per run: constructors that set the slots directly (see _init.py)
fast_inits(globals())
