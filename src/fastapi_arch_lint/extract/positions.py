"""Line and column numbers for the few nodes the collectors keep.

LibCST's ``PositionProvider`` records a ``CodeRange`` for every node of a module,
which costs about twice a parse. The collectors need positions for a few hundred
nodes per file at most, so this module runs one code generation pass that tracks
the current line and column cheaply and records only nodes of the wanted types
(definitions, decorators, calls, parameters and a few statements).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState

from fastapi_arch_lint.model.facts import Pos


class _Null:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NULL = _Null()


@dataclass(frozen=False)
class _SparseState(CodegenState):
    wanted: frozenset[type] = frozenset()
    found: dict[int, Pos] = field(default_factory=dict)
    line: int = 1
    column: int = 0

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        if "\n" not in value and "\r" not in value:  # nearly every token: one cheap test
            self.column += len(value)
            return
        newlines = value.count("\n") + value.count("\r") - value.count("\r\n")
        if newlines:
            self.line += newlines
            cut = max(value.rfind("\n"), value.rfind("\r"))
            self.column = len(value) - cut - 1
        else:
            self.column += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:  # noqa: D102
        pass

    def after_codegen(self, node: cst.CSTNode) -> None:  # noqa: D102
        pass

    def record_syntactic_position(self, node: cst.CSTNode, *, start_node=None, end_node=None):  # type: ignore[override]
        if type(node) in self.wanted:
            return _Record(self, node)
        return _NULL


class _Record:
    """Records ``node``'s span; a plain class is several times cheaper than ``@contextmanager``."""

    __slots__ = ("state", "node", "line", "col")

    def __init__(self, state: _SparseState, node: cst.CSTNode) -> None:
        self.state = state
        self.node = node
        self.line = state.line
        self.col = state.column

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        st = self.state
        st.found[id(self.node)] = Pos(self.line, self.col + 1, st.line, st.column + 1)


WANTED: frozenset[type] = frozenset(
    {
        cst.FunctionDef, cst.ClassDef, cst.Decorator, cst.Call, cst.Param, cst.Assign,
        cst.AnnAssign, cst.AugAssign, cst.Expr, cst.Return, cst.Raise, cst.Comparison,
        cst.Import, cst.ImportFrom, cst.Subscript, cst.TypeAlias,
    }
)


def positions(module: cst.Module, wanted: frozenset[type] = WANTED) -> dict[int, Pos]:
    """``{id(node): Pos}`` for every node of a ``wanted`` type (1-based lines and columns)."""
    state = _SparseState(default_indent=module.default_indent, default_newline=module.default_newline)
    state.wanted = wanted
    module._codegen(state)
    return state.found
