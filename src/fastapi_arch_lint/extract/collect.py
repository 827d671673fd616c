"""Collect the per-file facts of one parsed module.

One recursive walk over statements builds the module scope, its functions and
classes; one visitor pass per function body gathers the code-level facts that
rules need (calls, raises, comparisons, names and attribute chains read).
Positions come from ``positions.py`` in a single sparse pass.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from fastapi_arch_lint.extract.convert import Converter, string_value
from fastapi_arch_lint.extract.plain import constructor
from fastapi_arch_lint.extract.positions import positions
from fastapi_arch_lint.extract.walk import walk
from fastapi_arch_lint.model.expr import Call, Const, Expr, Name, Opaque, Seq, Subscript, render
from fastapi_arch_lint.model.facts import (
    NOPOS,
    AssignFact,
    BlockFact,
    CallSite,
    ClassFact,
    CompareFact,
    DecoratorFact,
    ExceptFact,
    FieldFact,
    FunctionFact,
    GuardFact,
    ImportFact,
    ParamFact,
    Pos,
    RaiseFact,
    ReturnFact,
    Scope,
    StmtCall,
)

_CMP_OPS: dict[type, str] = {
    cst.Equal: "==", cst.NotEqual: "!=", cst.Is: "is", cst.IsNot: "is not", cst.In: "in",
    cst.NotIn: "not in", cst.LessThan: "<", cst.GreaterThan: ">", cst.LessThanEqual: "<=",
    cst.GreaterThanEqual: ">=",
}

# Built through ``constructor`` (the classes themselves stay for ``isinstance`` and as types).
_AssignFact = constructor(AssignFact)
_BlockFact = constructor(BlockFact)
_CallSite = constructor(CallSite)
_ClassFact = constructor(ClassFact)
_CompareFact = constructor(CompareFact)
_DecoratorFact = constructor(DecoratorFact)
_ExceptFact = constructor(ExceptFact)
_FieldFact = constructor(FieldFact)
_GuardFact = constructor(GuardFact)
_FunctionFact = constructor(FunctionFact)
_ImportFact = constructor(ImportFact)
_ParamFact = constructor(ParamFact)
_Pos = constructor(Pos)
_RaiseFact = constructor(RaiseFact)
_ReturnFact = constructor(ReturnFact)
_Scope = constructor(Scope)
_StmtCall = constructor(StmtCall)
_Opaque = constructor(Opaque)
_Subscript = constructor(Subscript)
_Const = constructor(Const)
# the condition of a body that may not run at all (a loop's, an ``except``'s, a ``case``'s): unknown
_MAYBE_NOT: tuple[bool, Expr] = (False, Opaque("<may not run>", "maybe"))


def dotted_name(node: cst.BaseExpression | None) -> str | None:
    # ``type(x) is`` rather than ``isinstance``: node classes are ABCs, whose ``isinstance``
    # is slow when it fails, and the parser only makes the exact classes
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _docstring(body: Sequence[cst.CSTNode]) -> str | None:
    if body and isinstance(body[0], cst.SimpleStatementLine) and body[0].body:
        first = body[0].body[0]
        if isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
            try:
                value = first.value.evaluated_value
            except Exception:
                return None
            return value if isinstance(value, str) else None
    return None


def _line_getter(pos: dict[int, Pos]):  # type: ignore[no-untyped-def]
    def line_of(node: cst.CSTNode) -> tuple[int, int]:
        p = pos.get(id(node))
        return (p.line, p.col) if p else (0, 0)

    return line_of


class _ScopeBuilder:
    __slots__ = ("assigns", "calls", "functions", "classes", "imports", "returns", "blocks", "block", "raises", "stores")

    def __init__(self) -> None:
        self.assigns: list[AssignFact] = []
        self.calls: list[StmtCall] = []
        self.functions: list[FunctionFact] = []
        self.classes: list[ClassFact] = []
        self.imports: list[ImportFact] = []
        self.returns: list[ReturnFact] = []
        self.blocks: list[BlockFact | None] = []
        self.block = -1  # the innermost ``if`` branch or ``for`` loop being walked
        self.raises: list[RaiseFact] = []
        self.stores: list[str] = []

    def build(self) -> Scope:
        return _Scope(
            tuple(self.assigns), tuple(self.calls), tuple(self.functions),
            tuple(self.classes), tuple(self.imports), tuple(self.returns), tuple(self.blocks),  # type: ignore[arg-type]
            tuple(self.raises), tuple(self.stores),
        )

    def store(self, target: cst.BaseExpression) -> None:
        """``STORE[key] = ...`` / ``del STORE[key]``: the container's dotted name, kept in ``stores``."""
        if type(target) is cst.Tuple or type(target) is cst.List:
            for el in target.elements:
                self.store(el.value)
        elif type(target) is cst.Subscript:
            name = dotted_name(target.value)
            if name is not None and name not in self.stores:
                self.stores.append(name)


_COND_MAX = 120  # characters of a condition's text kept in a ``BlockFact``


def _paren(node: cst.CSTNode, text: str) -> str:
    return f"({text})" if getattr(node, "lpar", None) else text


class Collector:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.pos = positions(module)
        self.conv = Converter(line_of=_line_getter(self.pos))  # not a bound method: no reference cycle
        self._conds: list[tuple[bool, Expr]] = []  # the ``if`` branches around the statement walked (see ReturnFact)
        self.if_tests: dict[int, Expr] = {}  # each ``if`` statement's whole test, by the node's id

    # -- helpers -------------------------------------------------------------
    def p(self, node: cst.CSTNode) -> Pos:
        return self.pos.get(id(node), NOPOS)

    def _line_of(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self.pos.get(id(node))
        return (pos.line, pos.col) if pos else (0, 0)

    def e(self, node: cst.BaseExpression | None) -> Expr | None:
        return None if node is None else self.conv.expr(node)  # ``self.conv(node)``, one call less

    # -- module --------------------------------------------------------------
    def collect(self) -> tuple[tuple[ImportFact, ...], Scope, tuple[str, ...] | None]:
        sb = _ScopeBuilder()
        self.walk(self.module.body, sb, "")
        exports = None
        for a in sb.assigns:
            if a.target == "__all__" and isinstance(a.value, Seq):
                names = [i.value for i in a.value.items if hasattr(i, "value") and isinstance(getattr(i, "value"), str)]
                exports = tuple(names) if not a.augmented or exports is None else exports + tuple(names)
        scope = sb.build()
        return scope.imports, scope, exports

    def walk(self, body: Sequence[cst.CSTNode], sb: _ScopeBuilder, qual: str) -> None:
        for stmt in body:
            t = type(stmt)
            if t is cst.SimpleStatementLine:
                for small in stmt.body:
                    self.small(small, sb)
            elif t is cst.FunctionDef:
                sb.functions.append(self.function(stmt, qual, is_method=False))
            elif t is cst.ClassDef:
                sb.classes.append(self.klass(stmt, qual))
            elif t is cst.If:
                self._if(stmt, sb, qual)
            elif t is cst.Try or t is cst.TryStar:
                self.walk(stmt.body.body, sb, qual)
                self._conds.append(_MAYBE_NOT)
                for h in stmt.handlers:
                    self.walk(h.body.body, sb, qual)
                self._conds.pop()
                if stmt.orelse:
                    self.walk(stmt.orelse.body.body, sb, qual)
                if stmt.finalbody:
                    self.walk(stmt.finalbody.body.body, sb, qual)
            elif t is cst.For:
                body = stmt.body.body if type(stmt.body) is cst.IndentedBlock else [stmt.body]
                self._conds.append(_MAYBE_NOT)  # a loop body may not run
                self._block(sb, "for", stmt.iter, False, stmt.target, stmt, body, qual)
                self._conds.pop()
                if stmt.orelse:  # runs once the loop is done: not part of it
                    self.walk(stmt.orelse.body.body, sb, qual)
            elif t is cst.With or t is cst.While:
                if t is cst.With:
                    # ``with httpx.Client() as client:`` binds ``client`` like an assignment
                    for item in stmt.items:
                        if item.asname is not None and isinstance(item.asname.name, cst.Name):
                            sb.assigns.append(_AssignFact(item.asname.name.value, self.e(item.item), None, self.p(item.item)))
                else:
                    self._conds.append(_MAYBE_NOT)  # a loop body may not run
                if type(stmt.body) is cst.IndentedBlock:
                    self.walk(stmt.body.body, sb, qual)
                else:
                    self.walk([stmt.body], sb, qual)  # type: ignore[list-item]
                if t is not cst.With:
                    self._conds.pop()
                if getattr(stmt, "orelse", None):
                    self.walk(stmt.orelse.body.body, sb, qual)  # type: ignore[union-attr]
            elif t is cst.Match:
                self._conds.append(_MAYBE_NOT)
                for case in stmt.cases:
                    self.walk(case.body.body, sb, qual)
                self._conds.pop()
            elif t is cst.SimpleStatementSuite:
                for small in stmt.body:
                    self.small(small, sb)

    def _if(self, stmt: cst.If, sb: _ScopeBuilder, qual: str) -> None:
        """An ``if`` (or ``elif``) statement: a block for its body and one for its ``else`` (which
        holds the ``elif`` chain's next ``if``)."""
        test: cst.BaseExpression = stmt.test
        negated = False
        while type(test) is cst.UnaryOperation and type(test.operator) is cst.Not:
            test, negated = test.expression, not negated
        body = stmt.body.body if type(stmt.body) is cst.IndentedBlock else [stmt.body]
        # ``_conds`` (the returns' conditions): the test, then negated in the ``else`` (an ``elif`` adds its own)
        conds = self._conds
        depth = len(conds)
        whole = self.e(stmt.test)
        self.if_tests[id(stmt)] = whole
        conds.append((False, whole))
        self._block(sb, "if", test, negated, None, stmt, body, qual)
        conds[-1] = (True, whole)
        orelse = stmt.orelse
        if orelse is not None:
            inner = [orelse] if type(orelse) is cst.If else (
                orelse.body.body if type(orelse.body) is cst.IndentedBlock else [orelse.body])
            self._block(sb, "else", test, not negated, None, stmt, inner, qual)
        del conds[depth:]

    def _block(self, sb: _ScopeBuilder, kind: str, test: cst.BaseExpression, negated: bool,
               target: cst.BaseExpression | None, stmt: cst.If | cst.For, body: Sequence[cst.CSTNode],
               qual: str) -> None:
        """Walk ``body`` as a block of ``sb``; recorded only when it holds something the linker reads."""
        index = len(sb.blocks)
        sb.blocks.append(None)
        parent, sb.block = sb.block, index
        calls, functions, assigns = len(sb.calls), len(sb.functions), len(sb.assigns)
        self.walk(body, sb, qual)
        sb.block = parent
        ranges = ((calls, len(sb.calls)), (functions, len(sb.functions)), (assigns, len(sb.assigns)))
        # kept when it holds what the linker reads of blocks: a statement call on an attribute or of a
        # call's result, a decorated function, a call of a call's result assigned (``h = r.get("/")(h)``)
        if not (any(type(c.call.func) is not Name for c in sb.calls[calls:])
                or any(f.decorators for f in sb.functions[functions:])
                or any(type(a.value) is Call and type(a.value.func) is Call for a in sb.assigns[assigns:])):
            del sb.blocks[index:]  # (nor any nested block)
            return
        if kind == "for":
            text = f"for {self._cond_text(target)} in {self._cond_text(test)}"  # type: ignore[arg-type]
        elif kind == "if":
            text = self._cond_text(stmt.test)  # type: ignore[union-attr]
        else:  # the ``else`` branch: the test negated
            kind, whole = "if", stmt.test  # type: ignore[union-attr]
            if type(whole) is cst.UnaryOperation and type(whole.operator) is cst.Not:
                text = self._cond_text(whole.expression)
            elif type(whole) in (cst.Name, cst.Attribute, cst.Call, cst.Subscript):
                text = f"not {self._cond_text(whole)}"
            else:
                text = f"not ({self._cond_text(whole)})"
        if len(text) > _COND_MAX:
            text = text[: _COND_MAX - 3] + "..."
        # ``if``/``for`` have no recorded position: the test's when it is a call or comparison, else the
        # block's first statement's
        pos = self.pos.get(id(stmt.test if kind == "if" else stmt.iter))  # type: ignore[union-attr]
        if pos is None:
            firsts = [x.pos for x, (start, end) in zip((sb.calls, sb.functions, sb.assigns), ranges) if start < end
                      for x in (x[start],)]
            pos = min(firsts, key=lambda q: (q.line, q.col)) if firsts else NOPOS
        sb.blocks[index] = _BlockFact(kind, self.e(test), negated, self.e(target), text, parent, pos, *ranges)

    def _cond_text(self, node: cst.BaseExpression, depth: int = 0) -> str:
        """A condition or loop header as written, near enough: ``settings.ENV == "local" and not DEBUG``."""
        t = type(node)
        if depth > 20:
            return "..."
        if t is cst.BooleanOperation:
            op = "and" if type(node.operator) is cst.And else "or"
            text = f"{self._cond_text(node.left, depth + 1)} {op} {self._cond_text(node.right, depth + 1)}"
        elif t is cst.UnaryOperation and type(node.operator) is cst.Not:
            text = f"not {self._cond_text(node.expression, depth + 1)}"
        elif t is cst.Comparison:
            parts = [self._cond_text(node.left, depth + 1)]
            for target in node.comparisons:
                parts.append(_CMP_OPS.get(type(target.operator), "?"))
                parts.append(self._cond_text(target.comparator, depth + 1))
            text = " ".join(parts)
        elif t is cst.SimpleString:
            return node.value  # as written, quotes included
        elif t is cst.Attribute:
            text = f"{self._cond_text(node.value, depth + 1)}.{node.attr.value}"
        elif t is cst.Call:
            args = [str(a.star)
                    + (f"{a.keyword.value}=" if a.keyword is not None else "") + self._cond_text(a.value, depth + 1)
                    for a in node.args]
            text = f"{self._cond_text(node.func, depth + 1)}({', '.join(args)})"
        elif t is cst.Tuple or t is cst.List:  # a loop target ``prefix, router``, a literal sequence
            items = [self._cond_text(el.value, depth + 1) if type(el) is cst.Element else "*..." for el in node.elements]
            text = ", ".join(items) + ("," if len(items) == 1 and t is cst.Tuple else "")
            return f"[{text}]" if t is cst.List else _paren(node, text)
        else:
            return render(self.conv.expr(node), _COND_MAX)
        return _paren(node, text)

    def small(self, small: cst.BaseSmallStatement, sb: _ScopeBuilder) -> None:
        t = type(small)
        if t is cst.Import:
            line = self.p(small).line
            for alias in small.names:
                full = dotted_name(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    sb.imports.append(_ImportFact(alias.asname.name.value, full, None, 0, line))
                else:
                    top = full.split(".")[0]
                    sb.imports.append(_ImportFact(top, top, None, 0, line))
                    if "." in full:  # ``import a.b`` also makes ``a.b`` reachable
                        sb.imports.append(_ImportFact(full, full, None, 0, line))
        elif t is cst.ImportFrom:
            line = self.p(small).line
            mod = dotted_name(small.module) if small.module is not None else ""
            level = len(small.relative)
            if type(small.names) is cst.ImportStar:
                sb.imports.append(_ImportFact("*", mod or "", "*", level, line))
            else:
                for alias in small.names:
                    name = dotted_name(alias.name) or ""
                    local = name
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        local = alias.asname.name.value
                    sb.imports.append(_ImportFact(local, mod or "", name, level, line))
        elif t is cst.Assign:
            value = self.e(small.value)
            pos = self.p(small)
            for t in small.targets:
                self._assign_target(t.target, value, None, pos, sb, small.value)
                sb.store(t.target)
        elif t is cst.AnnAssign:
            self._assign_target(small.target, self.e(small.value), self.e(small.annotation.annotation), self.p(small), sb, small.value)
            sb.store(small.target)
        elif t is cst.Del:
            sb.store(small.target)
        elif t is cst.AugAssign:
            sb.store(small.target)
            target = dotted_name(small.target) or ""
            sb.assigns.append(_AssignFact(target, self.e(small.value), None, self.p(small), augmented=True,
                                          conds=tuple(self._conds)))
        elif t is cst.Expr:
            value = small.value
            if type(value) is cst.Await:
                value = value.expression
            if type(value) is cst.Call:
                call = self.e(value)
                if isinstance(call, Call):
                    sb.calls.append(_StmtCall(call, self.p(value), tuple(self._conds) if self._conds else ()))
        elif t is cst.Return:
            sb.returns.append(_ReturnFact(self.e(small.value), self.p(small), tuple(self._conds)))
        elif t is cst.Raise:
            sb.raises.append(_RaiseFact(self.e(small.exc), self.p(small), tuple(self._conds)))
        elif t is cst.TypeAlias:
            sb.assigns.append(_AssignFact(small.name.value, self.e(small.value), None, self.p(small)))

    def _assign_target(self, target: cst.BaseExpression, value: Expr | None, annotation: Expr | None,
                       pos: Pos, sb: _ScopeBuilder, raw_value: cst.BaseExpression | None) -> None:
        if type(target) is cst.Tuple or type(target) is cst.List:
            elements = target.elements
            raw_items = None
            if (type(raw_value) is cst.Tuple or type(raw_value) is cst.List) and len(raw_value.elements) == len(elements):
                raw_items = raw_value.elements
            starred = False
            for i, el in enumerate(elements):
                starred = starred or type(el) is cst.StarredElement
                item_value: Expr | None = _Opaque("<unpacked>", "unpack")
                if raw_items is not None and type(raw_items[i]) is not cst.StarredElement:
                    item_value = self.e(raw_items[i].value)
                elif raw_items is None and value is not None and not starred:
                    # ``scheme, token = header.split(" ", 1)``: each name is the value's item at its place
                    item_value = _Subscript(value, (_Const(i),))
                inner = el.value
                self._assign_target(inner, item_value, None, pos, sb, None)
            return
        name = dotted_name(target)
        if name is None:
            return
        sb.assigns.append(_AssignFact(name, value, annotation, pos))

    # -- definitions ---------------------------------------------------------
    def decorators(self, decorators: Sequence[cst.Decorator]) -> tuple[DecoratorFact, ...]:
        return tuple(_DecoratorFact(self.conv.expr(d.decorator), self.p(d)) for d in decorators)

    def params(self, params: cst.Parameters) -> tuple[ParamFact, ...]:
        out: list[ParamFact] = []

        def add(p: cst.Param, kind: str) -> None:
            ann = self.e(p.annotation.annotation) if p.annotation else None
            out.append(_ParamFact(p.name.value, kind, ann, self.e(p.default), self.p(p)))

        for p in params.posonly_params:
            add(p, "positional")
        for p in params.params:
            add(p, "positional")
        if type(params.star_arg) is cst.Param:
            add(params.star_arg, "var_positional")
        for p in params.kwonly_params:
            add(p, "keyword")
        if params.star_kwarg is not None:
            add(params.star_kwarg, "var_keyword")
        return tuple(out)

    def function(self, node: cst.FunctionDef, qual: str, is_method: bool) -> FunctionFact:
        name = node.name.value
        qualname = f"{qual}.{name}" if qual else name
        sb = _ScopeBuilder()
        body_nodes = node.body.body if type(node.body) is cst.IndentedBlock else [node.body]
        outer_conds, self._conds = self._conds, []  # a function's returns depend on its own branches
        self.walk(body_nodes, sb, qualname)
        self._conds = outer_conds
        bv = _BodyVisitor(self)
        walk(node.body, bv)  # same hooks as node.body.visit(bv), without rebuilding the tree
        return _FunctionFact(
            name=name,
            qualname=qualname,
            pos=self.p(node),
            is_async=node.asynchronous is not None,
            params=self.params(node.params),
            decorators=self.decorators(node.decorators),
            returns=self.e(node.returns.annotation) if node.returns else None,
            scope=sb.build(),
            calls=tuple(bv.calls),
            raises=tuple(bv.raises),
            compares=tuple(bv.compares),
            names=frozenset(bv.names),
            attributes=frozenset(bv.attributes),
            subscripts=tuple(bv.subscripts),
            docstring=None,  # not collected: facts, and so the cache, hold no prose from the source
            is_method=is_method,
            truth_tests=frozenset(bv.truth_tests),
            guards=bv.guard_facts(),
            excepts=bv.except_facts(),
            is_generator=bv.is_generator,
        )

    def klass(self, node: cst.ClassDef, qual: str) -> ClassFact:
        name = node.name.value
        qualname = f"{qual}.{name}" if qual else name
        bases: list[Expr] = []
        keywords: list[tuple[str, Expr]] = []
        for arg in node.bases:
            if arg.star:
                continue
            bases.append(self.conv.expr(arg.value))
        for arg in node.keywords:
            if arg.keyword is not None:
                keywords.append((arg.keyword.value, self.conv.expr(arg.value)))
        fields: list[FieldFact] = []
        methods: list[FunctionFact] = []
        classes: list[ClassFact] = []
        body = node.body.body if type(node.body) is cst.IndentedBlock else [node.body]
        self._class_body(body, qualname, fields, methods, classes)
        return _ClassFact(
            name=name, qualname=qualname, pos=self.p(node), bases=tuple(bases),
            keywords=tuple(keywords), decorators=self.decorators(node.decorators),
            fields=tuple(fields), methods=tuple(methods), classes=tuple(classes),
            docstring=None,  # not collected: facts, and so the cache, hold no prose from the source
        )

    def _class_body(self, body: Sequence[cst.CSTNode], qualname: str, fields: list[FieldFact],
                    methods: list[FunctionFact], classes: list[ClassFact]) -> None:
        for stmt in body:
            kind = type(stmt)
            if kind is cst.SimpleStatementLine or kind is cst.SimpleStatementSuite:
                for small in stmt.body:
                    if type(small) is cst.AnnAssign and type(small.target) is cst.Name:
                        fields.append(_FieldFact(small.target.value, self.e(small.annotation.annotation),
                                                self.e(small.value), self.p(small)))
                    elif type(small) is cst.Assign:
                        value = self.e(small.value)
                        for t in small.targets:
                            if type(t.target) is cst.Name:
                                fields.append(_FieldFact(t.target.value, None, value, self.p(small)))
            elif kind is cst.FunctionDef:
                methods.append(self.function(stmt, qualname, is_method=True))
            elif kind is cst.ClassDef:
                classes.append(self.klass(stmt, qualname))
            elif kind is cst.If:
                self._class_body(stmt.body.body, qualname, fields, methods, classes)
                if type(stmt.orelse) is cst.Else:
                    self._class_body(stmt.orelse.body.body, qualname, fields, methods, classes)
            elif kind is cst.Try:
                self._class_body(stmt.body.body, qualname, fields, methods, classes)


class _BodyVisitor(cst.CSTVisitor):
    """Code-level facts of one function body, not descending into nested defs."""

    def __init__(self, collector: Collector) -> None:
        self.c = collector
        self.calls: list[CallSite] = []
        self.raises: list[RaiseFact] = []
        self.compares: list[CompareFact] = []
        self.names: set[str] = set()
        self.attributes: set[str] = set()
        self.subscripts: list[tuple[str, str]] = []
        self._awaited: set[int] = set()
        self._assigned: dict[int, str] = {}
        self.truth_tests: set[str] = set()
        # ``if`` statements: [tests, pos, body calls, body raises, orelse calls, orelse raises, test]
        self.guards: list[list] = []
        self._guard_of: dict[int, int] = {}
        self._branches: list[tuple[int, int]] = []  # (guard index, 2 = body / 4 = orelse) being visited
        # ``except`` clauses: [types, name, calls, raises, return lines]; the open ones, innermost last
        self.excepts: list[list] = []
        self._open_excepts: list[int] = []
        # ``try`` statements: the calls made in each one's body (nested blocks included); the open ones, and
        # those whose body is being visited
        self._tries: list[list[int]] = []
        self._try_stack: list[int] = []
        self._try_bodies: list[int] = []
        self.is_generator = False

    def except_facts(self) -> tuple[ExceptFact, ...]:
        return tuple(_ExceptFact(e[0], e[1], tuple(e[2]), tuple(e[3]), tuple(e[4]),
                                 tuple(self._tries[e[5]]) if e[5] is not None else ()) for e in self.excepts)

    def visit_Try(self, node: cst.Try) -> None:
        self._try_stack.append(len(self._tries))
        self._tries.append([])

    def leave_Try(self, original_node: cst.Try) -> None:
        self._try_stack.pop()

    def visit_Try_body(self, node: cst.Try) -> None:
        self._try_bodies.append(self._try_stack[-1])

    def leave_Try_body(self, node: cst.Try) -> None:
        self._try_bodies.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        t = node.type
        if t is None:
            types: tuple[Expr, ...] = ()
        elif type(t) is cst.Tuple:
            types = tuple(self.c.conv.expr(el.value) for el in t.elements)
        else:
            types = (self.c.conv.expr(t),)
        name = node.name.name.value if node.name is not None and type(node.name.name) is cst.Name else ""
        self._open_excepts.append(len(self.excepts))
        self.excepts.append([types, name, [], [], [], self._try_stack[-1] if self._try_stack else None])

    def leave_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._open_excepts.pop()

    def visit_Return(self, node: cst.Return) -> None:
        if self._open_excepts:
            line = self.c.p(node).line
            for e in self._open_excepts:
                self.excepts[e][4].append(line)

    def guard_facts(self) -> tuple[GuardFact, ...]:
        return tuple(_GuardFact(tuple(g[0]), g[1], tuple(g[2]), tuple(g[3]), tuple(g[4]), tuple(g[5]), g[6],
                                tuple(g[7]), tuple(g[8]))
                     for g in self.guards)

    def _atoms(self, test: cst.BaseExpression) -> list[tuple[bool, CompareFact | Expr]]:
        """The ``and``/``or`` operands of a condition, ``not`` folded into a flag (iterative, capped)."""
        out: list[tuple[bool, CompareFact | Expr]] = []
        stack: list[tuple[cst.BaseExpression, bool]] = [(test, False)]
        while stack and len(out) < 32:
            node, neg = stack.pop()
            t = type(node)
            if t is cst.UnaryOperation and type(node.operator) is cst.Not:
                stack.append((node.expression, not neg))
            elif t is cst.BooleanOperation:
                stack.append((node.right, neg))
                stack.append((node.left, neg))
            elif t is cst.Comparison:
                left = node.left
                for target in node.comparisons:
                    op = _CMP_OPS.get(type(target.operator), "?")
                    out.append((neg, _CompareFact(self.c.conv.expr(left), op, self.c.conv.expr(target.comparator),
                                                 self.c.p(node))))
                    left = target.comparator
            else:
                out.append((neg, self.c.conv.expr(node)))
        return out

    def _enter(self, node: cst.If, slot: int) -> None:
        g = self._guard_of.get(id(node))
        if g is not None:
            self._branches.append((g, slot))

    def _leave(self, node: cst.If) -> None:
        if id(node) in self._guard_of and self._branches:
            self._branches.pop()

    def visit_If_body(self, node: cst.If) -> None:
        self._enter(node, 2)

    def leave_If_body(self, node: cst.If) -> None:
        self._leave(node)

    def visit_If_orelse(self, node: cst.If) -> None:
        self._enter(node, 4)

    def leave_If_orelse(self, node: cst.If) -> None:
        self._leave(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Yield(self, node: cst.Yield) -> None:
        self.is_generator = True

    def visit_Await(self, node: cst.Await) -> None:
        self._awaited.add(id(node.expression))

    def _assigned_in_branches(self, node: cst.CSTNode) -> None:
        if self._branches:
            line = self.c.p(node).line
            for g, slot in self._branches:
                self.guards[g][7 if slot == 2 else 8].append(line)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and type(node.targets[0].target) is cst.Name:
            value = node.value.expression if type(node.value) is cst.Await else node.value
            self._assigned[id(value)] = node.targets[0].target.value
        self._assigned_in_branches(node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._assigned_in_branches(node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._assigned_in_branches(node)

    def visit_Call(self, node: cst.Call) -> None:
        call = self.c.conv.call(node, 1)
        spread = tuple((arg.star, self.c.conv.expr(arg.value, 1)) for arg in node.args
                       if arg.star in ("*", "**")) if call.starred else ()
        self.calls.append(_CallSite(call, self.c.p(node), id(node) in self._awaited, self._assigned.get(id(node)),
                                   spread))
        for g, slot in self._branches:
            self.guards[g][slot].append(len(self.calls) - 1)
        for e in self._open_excepts:
            self.excepts[e][2].append(len(self.calls) - 1)
        for t in self._try_bodies:
            self._tries[t].append(len(self.calls) - 1)

    def _truth(self, node: cst.BaseExpression) -> None:
        t = type(node)
        if t is cst.UnaryOperation and type(node.operator) is cst.Not:
            self._truth(node.expression)
        elif t is cst.BooleanOperation:
            self._truth(node.left)
            self._truth(node.right)
        else:
            name = dotted_name(node)
            if name is not None:
                self.truth_tests.add(name)

    def visit_If(self, node: cst.If) -> None:
        self._truth(node.test)
        self._guard_of[id(node)] = len(self.guards)
        atoms = self._atoms(node.test)
        pos = self.c.p(node.test)
        for _, atom in atoms:  # a bare ``and``/``or`` has no recorded position: take its first operand's
            if pos.line:
                break
            if isinstance(atom, CompareFact):
                pos = atom.pos
            elif isinstance(atom, Call) and atom.line:
                pos = _Pos(atom.line, atom.col, atom.line, atom.col)
        test = self.c.if_tests.get(id(node))  # converted once, by the statement walk
        self.guards.append([atoms, pos, [], [], [], [], test if test is not None else self.c.conv.expr(node.test),
                            [], []])

    def visit_While(self, node: cst.While) -> None:
        self._truth(node.test)

    def visit_Assert(self, node: cst.Assert) -> None:
        self._truth(node.test)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._truth(node.test)

    def visit_Raise(self, node: cst.Raise) -> None:
        self.raises.append(_RaiseFact(self.c.e(node.exc), self.c.p(node)))
        for g, slot in self._branches:
            self.guards[g][slot + 1].append(len(self.raises) - 1)
        for e in self._open_excepts:
            self.excepts[e][3].append(len(self.raises) - 1)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            op = _CMP_OPS.get(type(target.operator), "?")
            self.compares.append(_CompareFact(self.c.conv.expr(left), op, self.c.conv.expr(target.comparator), self.c.p(node)))
            left = target.comparator

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = dotted_name(node)
        if name is not None:
            self.attributes.add(name)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        base = dotted_name(node.value)
        if base is None or len(node.slice) != 1:
            return
        sl = node.slice[0].slice
        if type(sl) is cst.Index and type(sl.value) is cst.SimpleString:
            try:
                key = string_value(sl.value)
            except Exception:
                return
            if isinstance(key, str):
                self.subscripts.append((base, key))
