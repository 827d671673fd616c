"""``walk()`` compiles a walker per node type: every kind of hook against ``node.visit()``.

tests/test_positions.py checks the common hooks on snippets; this adds the hooks a compiled
walker writes out separately (``leave_X`` after a ``visit_X`` that returns ``False``, a leaf's
``leave_X``, ``visit_X_field`` / ``leave_X_field`` on a field LibCST skips when ``None``) on
standard library modules.
"""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from fastapi_arch_lint.extract.parse import _deep_call
from fastapi_arch_lint.extract.walk import walk

from test_positions import SNIPPETS, standard_library_sample


class AllKinds(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: list[tuple[str, ...]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.seen.append(("Name", node.value))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.seen.append(("Attribute",))

    def leave_Attribute(self, original_node: cst.Attribute) -> None:
        self.seen.append(("/Attribute",))

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.seen.append(("Lambda",))
        return False

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.seen.append(("/Lambda",))

    def leave_Integer(self, original_node: cst.Integer) -> None:
        self.seen.append(("/Integer", original_node.value))

    def visit_FunctionDef_returns(self, node: cst.FunctionDef) -> None:
        self.seen.append(("returns",))

    def leave_FunctionDef_returns(self, node: cst.FunctionDef) -> None:
        self.seen.append(("/returns",))

    def visit_FormattedStringExpression_format_spec(self, node: cst.FormattedStringExpression) -> None:
        self.seen.append(("format_spec",))

    def leave_FormattedStringExpression_format_spec(self, node: cst.FormattedStringExpression) -> None:
        self.seen.append(("/format_spec",))

    def visit_If_orelse(self, node: cst.If) -> None:
        self.seen.append(("orelse",))

    def leave_If_orelse(self, node: cst.If) -> None:
        self.seen.append(("/orelse",))

    def visit_Dot(self, node: cst.Dot) -> None:  # a token type, walked because hooked
        self.seen.append((".",))


@pytest.mark.parametrize("source", [*SNIPPETS.values(), *(p.read_bytes() for p in standard_library_sample())],
                         ids=[*SNIPPETS, *(p.name for p in standard_library_sample())])
def test_walk_calls_every_kind_of_hook_node_visit_calls(source: str | bytes) -> None:
    module = cst.parse_module(source)
    expected, got = AllKinds(), AllKinds()
    _deep_call(module.visit, expected)
    _deep_call(walk, module, got)
    assert got.seen == expected.seen
