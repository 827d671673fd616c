"""Applying the fixes rules describe (``findings.Fix``): a LibCST codemod that keeps formatting and comments.

A rule knows what to change but never sees the syntax tree: it describes each edit as data at the
model's positions (``findings.Edit``: 1-based line and column of a call, a decorator, an assignment's
target or a parameter). Here the source is parsed again, each edit's node is found at its position
(the extractor's ``positions``, the spans the facts were made with), and the tree is changed where it must be and
nowhere else. All the edits of a file are made in one pass over the original tree (their positions
are the original's), then the imports the fixes need are added. A fix whose node is not found, or
whose import would clash with a name the module already binds, is left out whole; a file that does
not parse is not touched; the result must parse (LibCST, and ``compile`` when the original compiled
under the running Python) or nothing is written.

Every edit is idempotent: a keyword that is already there with the same value, a parameter that is
already gone, an import already present change nothing, so fixing twice is fixing once.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from fastapi_arch_lint.extract.positions import positions
from fastapi_arch_lint.findings import Edit, Fix

# ``from fastapi import status`` is also satisfied by Starlette's module of the same constants
EQUIVALENT_IMPORTS = {("fastapi", "status"): {"fastapi", "starlette"}}


@dataclass(slots=True)
class FileFixes:
    """The outcome of fixing one file: its new text (None when nothing changed) and, for each fix
    asked for, whether it was applied or why not."""

    source: str
    fixed: str | None = None
    applied: list[Fix] = field(default_factory=list)
    skipped: list[tuple[Fix, str]] = field(default_factory=list)
    problem: str | None = None  # the file was not touched: it does not parse, or the result would not


class _Index(cst.CSTVisitor):
    """Where the nodes an edit may name are: calls by their start, decorators and parameters by line.
    Positions come from the extractor's own pass (``positions``: a fraction of ``PositionProvider``'s cost,
    the same spans the facts were made with)."""

    def __init__(self, module: cst.Module) -> None:
        self.pos = positions(module)
        self.calls: dict[tuple[int, int], list[cst.Call]] = {}
        self.decorators: dict[int, list[tuple[cst.Decorator, cst.FunctionDef]]] = {}
        self.params: dict[tuple[int, int], tuple[cst.Param, cst.FunctionDef]] = {}
        self.targets: dict[tuple[int, int], cst.Call] = {}  # ``name = Call(...)``: the call, by the name's place

    def _start(self, node: cst.CSTNode) -> tuple[int, int] | None:
        pos = self.pos.get(id(node))
        return (pos.line, pos.col) if pos is not None else None

    def visit_Call(self, node: cst.Call) -> None:
        at = self._start(node)
        if at is not None:
            self.calls.setdefault(at, []).append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        for d in node.decorators:
            at = self._start(d)
            if at is not None:
                self.decorators.setdefault(at[0], []).append((d, node))
        for p in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            at = self._start(p)
            if at is None:
                continue
            if isinstance(p.star, str):  # ``*args``/``**kwargs``: the name starts after the stars
                at = (at[0], at[1] + len(p.star) + len(p.whitespace_after_star.value
                                                         if isinstance(p.whitespace_after_star, cst.SimpleWhitespace)
                                                         else ""))
            self.params[at] = (p, node)

    def visit_Assign(self, node: cst.Assign) -> None:
        # the statement starts where its first target does (``name = Call(...)``)
        at = self._start(node)
        if isinstance(node.value, cst.Call) and at is not None and node.targets:
            self.targets[at] = node.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        at = self._start(node)
        if isinstance(node.value, cst.Call) and at is not None:
            self.targets[at] = node.value


def _call_at(index: _Index, edit: Edit) -> cst.Call | None:
    """The call an edit names: the call starting there, the call a decorator there makes, or the
    call assigned to the name there; a position known only by its line (column 1) is taken when one
    candidate is on the line."""
    at = (edit.line, edit.column)
    calls = index.calls.get(at, [])
    if not calls and at in index.targets:
        calls = [index.targets[at]]
    if not calls:
        calls = [d.decorator for d, _ in index.decorators.get(edit.line, []) if isinstance(d.decorator, cst.Call)]
    if edit.callee:
        calls = [c for c in calls if _text(c.func) == "".join(edit.callee.split())]
    return calls[0] if len(calls) == 1 else None


def _text(node: cst.CSTNode) -> str:
    return "".join(cst.Module([]).code_for_node(node).split())


def _equal() -> cst.AssignEqual:
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _bare(ws: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """``ws`` without its comments and blank lines: the same line break and indentation."""
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return cst.ParenthesizedWhitespace(indent=ws.indent, last_line=ws.last_line)
    return ws


def with_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """``call`` with the keyword argument ``name=value`` (the value replaced when the keyword is there),
    laid out like its other arguments: on its own line in a call written one argument a line, with a
    trailing comma when the call has one; comments stay where they were."""
    args = list(call.args)
    for i, a in enumerate(args):
        if a.keyword is not None and a.keyword.value == name:
            if a.value.deep_equals(value):
                return call
            args[i] = a.with_changes(value=value)
            return call.with_changes(args=args)
    new = cst.Arg(value=value, keyword=cst.Name(name), equal=_equal())
    if not args:
        return call.with_changes(args=[new])
    if len(args) == 1 and isinstance(args[0].value, cst.GeneratorExp) and not args[0].value.lpar:
        # ``any(x for x in xs)``: a generator is bare only as the sole argument
        args[0] = args[0].with_changes(value=args[0].value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))
    last = args[-1]
    new = new.with_changes(whitespace_after_arg=last.whitespace_after_arg)
    last = last.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
    if isinstance(last.comma, cst.Comma):  # a trailing comma: the new argument goes after it, with one
        trailing = last.comma.whitespace_after
        if isinstance(trailing, cst.ParenthesizedWhitespace):
            before = args[-2].comma.whitespace_after if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) \
                else call.whitespace_before_args
            if isinstance(before, cst.ParenthesizedWhitespace):
                line = cst.ParenthesizedWhitespace(first_line=trailing.first_line, empty_lines=trailing.empty_lines,
                                                   indent=before.indent, last_line=before.last_line)
            else:
                line = cst.SimpleWhitespace(" ")
            last = last.with_changes(comma=last.comma.with_changes(whitespace_after=line))
            new = new.with_changes(comma=cst.Comma(whitespace_after=_bare(trailing)))
        else:
            new = new.with_changes(comma=last.comma)
            last = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    else:
        last = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args[:-1], last, new])


def _ends_list(prev: cst.Param, removed: cst.Param) -> cst.Param:
    """``prev`` as the last parameter, in place of ``removed``."""
    pc, rc = prev.comma, removed.comma
    own = pc.whitespace_after if isinstance(pc, cst.Comma) else None  # holds prev's comment, if any
    first = own.first_line if isinstance(own, cst.ParenthesizedWhitespace) else cst.TrailingWhitespace()
    lines = own.empty_lines if isinstance(own, cst.ParenthesizedWhitespace) else ()
    closing = rc.whitespace_after if isinstance(rc, cst.Comma) else removed.whitespace_after_param
    if isinstance(closing, cst.ParenthesizedWhitespace):  # ``)`` on its own line: keep a trailing comma
        after = cst.ParenthesizedWhitespace(first_line=first, empty_lines=lines, indent=closing.indent,
                                            last_line=closing.last_line)
        return prev.with_changes(comma=cst.Comma(whitespace_after=after), whitespace_after_param=cst.SimpleWhitespace(""))
    if isinstance(rc, cst.Comma):
        return prev.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace("")),
                                 whitespace_after_param=removed.whitespace_after_param)
    return prev.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_param=removed.whitespace_after_param)


def _without_param(params: cst.Parameters, drop: cst.Param) -> cst.Parameters:
    """``params`` without ``drop``. When it was the last, the one before ends the list as it did: with a
    trailing comma and the closing parenthesis on its own line, or without. Comments on the removed
    parameter's line go with it; the previous parameter's own comment stays."""
    def remove(items: Sequence[cst.Param]) -> list[cst.Param]:
        out = list(items)
        for i, p in enumerate(out):
            if p.name.value != drop.name.value:
                continue
            del out[i]
            if i == len(out) and out:  # it was the last of its group
                out[-1] = _ends_list(out[-1], p)
            break
        return out

    kept, kwonly = remove(params.params), remove(params.kwonly_params)
    star = params.star_arg
    if params.kwonly_params and not kwonly and isinstance(star, cst.ParamStar):
        # ``def f(a, *, dependencies=[...])``: a bare ``*`` with nothing after it does not parse
        star = cst.MaybeSentinel.DEFAULT
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return params.with_changes(posonly_params=remove(params.posonly_params), params=kept, star_arg=star,
                               kwonly_params=kwonly)


@dataclass(slots=True)
class _Located:
    calls: dict[cst.Call, list[tuple[str, cst.BaseExpression]]] = field(default_factory=dict)
    functions: dict[cst.FunctionDef, list[tuple[Edit, cst.Param, int]]] = field(default_factory=dict)


class _Apply(cst.CSTTransformer):
    def __init__(self, located: _Located) -> None:
        self.located = located

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        for name, value in self.located.calls.get(original_node, ()):
            updated_node = with_keyword(updated_node, name, value)
        return updated_node

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        for edit, param, deco in self.located.functions.get(original_node, ()):
            params = updated_node.params
            current = next((p for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                            if p.name.value == param.name.value), None)
            if current is None or current.default is None:
                continue
            if edit.kind == "wrap-default":
                wrapper = cst.parse_expression(edit.value.format("None"))
                if isinstance(wrapper, cst.Call) and isinstance(current.default, cst.Call) \
                        and _text(current.default.func) == _text(wrapper.func):
                    continue  # already wrapped: fixing twice is fixing once
                wrapped = cst.parse_expression(edit.value.format(cst.Module([]).code_for_node(current.default)))
                new_params = _replace_param(params, current, current.with_changes(default=wrapped))
                updated_node = updated_node.with_changes(params=new_params)
            elif edit.kind == "move-to-decorator":
                decorators = list(updated_node.decorators)
                d = decorators[deco]
                assert isinstance(d.decorator, cst.Call)
                decorators[deco] = d.with_changes(decorator=with_keyword(d.decorator, edit.name, current.default))
                updated_node = updated_node.with_changes(params=_without_param(params, current),
                                                         decorators=decorators)
        return updated_node


def _replace_param(params: cst.Parameters, old: cst.Param, new: cst.Param) -> cst.Parameters:
    def swap(items: Sequence[cst.Param]) -> list[cst.Param]:
        return [new if p is old else p for p in items]

    return params.with_changes(posonly_params=swap(params.posonly_params), params=swap(params.params),
                               kwonly_params=swap(params.kwonly_params))


def _module_bindings(module: cst.Module) -> dict[str, set[str]]:
    """For each name the module's top level binds: the modules it is imported from with
    ``from M import name`` (``""`` for any other binding)."""
    out: dict[str, set[str]] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    src = "." * len(small.relative) + (module.code_for_node(small.module) if small.module else "")
                    for alias in small.names:
                        bound = alias.evaluated_alias or alias.evaluated_name
                        out.setdefault(bound, set()).add(src if alias.asname is None else "")
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        out.setdefault((alias.evaluated_alias or alias.evaluated_name).split(".")[0], set()).add("")
                elif isinstance(small, (cst.Assign, cst.AnnAssign)):
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    for t in targets:
                        if isinstance(t, cst.Name):
                            out.setdefault(t.value, set()).add("")
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            out.setdefault(stmt.name.value, set()).add("")
    return out


def _import_ok(bindings: dict[str, set[str]], module: str, name: str) -> bool | None:
    """True when the module already imports ``name`` from ``module`` (or an equivalent), None when the
    import is missing and may be added, False when ``name`` is bound to something else."""
    bound = bindings.get(name)
    if not bound:
        return None
    allowed = EQUIVALENT_IMPORTS.get((module, name), {module})
    return True if bound & allowed and not bound - allowed else False


def _add_import(module: cst.Module, source_module: str, name: str) -> cst.Module:
    """``from source_module import name``: added to a one-line ``from source_module import ...`` when
    there is one, else a new line after the last top-level import (after the docstring and
    ``__future__`` imports when there is none)."""
    body = list(module.body)
    last_import = -1
    for i, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for j, small in enumerate(stmt.body):
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                last_import = i
            if (isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None
                    and module.code_for_node(small.module) == source_module
                    and not isinstance(small.names, cst.ImportStar) and small.lpar is None):
                names = list(small.names)
                names[-1] = names[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                names.append(cst.ImportAlias(name=cst.Name(name)))
                smalls = list(stmt.body)
                smalls[j] = small.with_changes(names=names)
                body[i] = stmt.with_changes(body=smalls)
                return module.with_changes(body=body)
    line = cst.parse_statement(f"from {source_module} import {name}\n")
    if last_import < 0:  # after the docstring
        first = body[0] if body else None
        at = 1 if (isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1
                   and isinstance(first.body[0], cst.Expr) and isinstance(first.body[0].value,
                                                                          (cst.SimpleString, cst.ConcatenatedString))) else 0
        if at == 0 and body:  # keep the file's leading comments (shebang, licence) above the import
            line = line.with_changes(leading_lines=body[0].leading_lines)
            body[0] = body[0].with_changes(leading_lines=())
        body.insert(at, line)
    else:
        body.insert(last_import + 1, line)
    return module.with_changes(body=body)


def _locate(index: _Index, fix: Fix, located: _Located) -> str | None:
    """Record where ``fix``'s edits go; the reason when one of them cannot be placed."""
    calls: list[tuple[cst.Call, tuple[str, cst.BaseExpression]]] = []
    functions: list[tuple[cst.FunctionDef, tuple[Edit, cst.Param, int]]] = []
    for edit in fix.edits:
        try:
            value = cst.parse_expression(edit.value) if edit.kind == "keyword" else None
        except cst.ParserSyntaxError:
            return f"the fix's value `{edit.value}` is not an expression"
        if edit.kind == "keyword":
            call = _call_at(index, edit)
            if call is None:
                return f"no call at {edit.line}:{edit.column}"
            assert value is not None
            calls.append((call, (edit.name, value)))
        elif edit.kind in ("wrap-default", "move-to-decorator"):
            found = index.params.get((edit.line, edit.column))
            if found is None:
                return f"no parameter at {edit.line}:{edit.column}"
            param, fn = found
            if param.name.value != edit.name or param.default is None:
                return f"the parameter at {edit.line}:{edit.column} is not `{edit.name}` with a default"
            deco = -1
            if edit.kind == "move-to-decorator":
                at = [i for i, d in enumerate(fn.decorators)
                      if any(d is x for x, _ in index.decorators.get(edit.to_line, []))]
                if len(at) != 1 or not isinstance(fn.decorators[at[0]].decorator, cst.Call):
                    return f"no route decorator at line {edit.to_line}"
                deco = at[0]
                call = fn.decorators[deco].decorator
                assert isinstance(call, cst.Call)
                if any(a.keyword is not None and a.keyword.value == edit.name for a in call.args):
                    return f"the decorator already has `{edit.name}=`"
            functions.append((fn, (edit, param, deco)))
        else:
            return f"unknown edit {edit.kind!r}"
    for call, what in calls:
        located.calls.setdefault(call, []).append(what)
    for fn, what in functions:
        located.functions.setdefault(fn, []).append(what)
    return None


def _parses(code: str) -> bool:
    try:
        cst.parse_module(code)
    except (cst.ParserSyntaxError, RecursionError):
        return False
    return True


def _compiles(code: str, path: str) -> bool:
    """Python's own parser accepts ``code`` (the running Python's grammar: a file written for a newer
    one, ``class Box[T]:`` under 3.11, may not compile here and still be fine)."""
    try:
        compile(code, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST
    except (SyntaxError, ValueError, RecursionError):
        return False
    return True


def apply_fixes(source: str, fixes: Sequence[Fix], path: str = "<fix>") -> FileFixes:
    """``source`` with ``fixes`` applied (all their edits are in this file)."""
    out = FileFixes(source)
    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError):
        out.problem = "the file does not parse: not touched"
        out.skipped = [(f, out.problem) for f in fixes]
        return out
    compiles = _compiles(source, path)  # then the fixed file must compile too
    index = _Index(module)
    module.visit(index)
    bindings = _module_bindings(module)
    located = _Located()
    imports: list[tuple[str, str]] = []
    for fix in fixes:
        clash = [f"`{n}` is already bound in the module" for m, n in fix.imports if _import_ok(bindings, m, n) is False]
        why = clash[0] if clash else _locate(index, fix, located)
        if why is not None:
            out.skipped.append((fix, why))
            continue
        out.applied.append(fix)
        imports += [(m, n) for m, n in fix.imports if _import_ok(bindings, m, n) is None and (m, n) not in imports]
    if not out.applied:
        return out
    try:
        new = module.visit(_Apply(located))
        for m, n in imports:
            new = _add_import(new, m, n)
        code = new.code
    except Exception as exc:  # a bug in an edit (LibCST refuses the tree): refuse rather than crash
        code, why = "", f"{type(exc).__name__}: {exc}"
    else:
        # Python's own parser when it accepts the original (stricter than LibCST's, and in C, so
        # much faster: the JSON and SARIF reports apply every fix on its own to show its lines); LibCST's
        # for a file written for a newer Python than this one
        why = "" if (_compiles(code, path) if compiles else _parses(code)) else "it would not parse"
    if why:  # pragma: no cover - a bug in an edit: refuse rather than break the file
        out.problem = f"the fixes could not be applied ({why}): not touched"
        out.skipped += [(f, out.problem) for f in out.applied]
        out.applied = []
        return out
    out.fixed = code if code != source else None
    return out


def unified_diff(path: str, before: str, after: str) -> str:
    """``git diff``'s form (``a/`` and ``b/`` prefixes, the mark of a last line without a newline)."""
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass(frozen=True, slots=True)
class Replacement:
    """Lines ``start_line`` to ``end_line`` (1-based, inclusive; ``end_line == start_line - 1`` for an
    insertion before ``start_line``) replaced by ``text``."""

    start_line: int
    end_line: int
    text: str


def replacements(before: str, after: str) -> list[Replacement]:
    """The line ranges that differ between ``before`` and ``after`` (for SARIF's ``fixes`` and JSON)."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            out.append(Replacement(i1 + 1, i2, "".join(b[j1:j2])))
    return out
