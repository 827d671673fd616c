"""A read-only driver for ``CSTVisitor`` subclasses, about five times cheaper than ``node.visit``.

``CSTNode.visit`` rebuilds every node it passes through (each ``_visit_and_replace_children``
constructs and validates a new node) and looks up ``visit_X`` / ``leave_X`` and the
attribute hooks by name on every node and every field. A collector never changes the tree,
so ``walk(node, visitor)`` calls the same hooks in the same order (``visit_X`` before the
children, the ``visit_X_field`` / ``leave_X_field`` hooks around each field, ``leave_X``
after, children skipped when ``visit_X`` returns ``False``) without rebuilding anything,
with the hooks resolved once per (visitor class, node type).

The children of a node type, in the order LibCST visits them, are read once from that
type's ``_visit_and_replace_children`` (every field is visited by a
``visit_*(self, "field", ...)`` call). Whitespace and operator tokens are not descended
into unless the visitor has a hook for one of their types.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, Callable

import libcst as cst
import libcst._nodes.op as _op
import libcst._nodes.whitespace as _ws

_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def child_fields(node_type: type) -> tuple[tuple[str, bool], ...]:
    """The fields of ``node_type`` that hold child nodes, in LibCST's visiting order, each with
    whether LibCST skips the field's attribute hooks when it is ``None`` (``x if x is not None
    else None``, as for ``format_spec``)."""
    fields = _FIELDS.get(node_type)
    if fields is None:
        tree = ast.parse(textwrap.dedent(inspect.getsource(node_type._visit_and_replace_children)))
        guarded = {id(n.body) for n in ast.walk(tree)
                   if isinstance(n, ast.IfExp) and isinstance(n.orelse, ast.Constant) and n.orelse.value is None}
        found: list[tuple[int, int, str, bool]] = []
        for n in ast.walk(tree):
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id.startswith("visit_")
                    and len(n.args) >= 2 and isinstance(n.args[1], ast.Constant)
                    and isinstance(n.args[1].value, str)):
                found.append((n.lineno, n.col_offset, n.args[1].value, id(n) in guarded))
        fields = tuple(dict.fromkeys((name, opt) for _, _, name, opt in sorted(found)))
        _FIELDS[node_type] = fields
    return fields


def _token_types() -> frozenset[type]:
    out: set[type] = {cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
                      cst.LeftCurlyBrace, cst.RightCurlyBrace}
    for mod in (_op, _ws):
        for value in vars(mod).values():
            if isinstance(value, type) and issubclass(value, cst.CSTNode) and value.__module__ == mod.__name__:
                out.add(value)
    return frozenset(out)


# nodes made only of whitespace: no expression or statement can be below them
TOKEN_TYPES = _token_types()

_Hook = Callable[[Any, Any], Any]
_Plan = tuple["_Hook | None", "_Hook | None", tuple[tuple[str, bool, "_Hook | None", "_Hook | None"], ...]]


class _Plans:
    __slots__ = ("visitor_type", "plans", "skip")

    def __init__(self, visitor_type: type) -> None:
        self.visitor_type = visitor_type
        self.plans: dict[type, _Plan] = {}
        hooked = {name.split("_")[1] for name in dir(visitor_type) if name.startswith(("visit_", "leave_"))}
        self.skip = frozenset(t for t in TOKEN_TYPES if t.__name__ not in hooked)

    def plan(self, node_type: type) -> _Plan:
        vt = self.visitor_type
        name = node_type.__name__
        fields = tuple(
            (f, optional, getattr(vt, f"visit_{name}_{f}", None), getattr(vt, f"leave_{name}_{f}", None))
            for f, optional in child_fields(node_type)
        )
        plan = (getattr(vt, f"visit_{name}", None), getattr(vt, f"leave_{name}", None), fields)
        self.plans[node_type] = plan
        return plan


_BY_VISITOR: dict[type, _Plans] = {}


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """Call ``visitor``'s hooks over ``node`` and its subtree as ``node.visit(visitor)`` would."""
    plans = _BY_VISITOR.get(type(visitor))
    if plans is None:
        vt = type(visitor)
        if any(getattr(vt, hook) is not getattr(cst.CSTVisitor, hook)
               for hook in ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute")):
            node.visit(visitor)  # generic hooks: let LibCST drive them
            return
        plans = _BY_VISITOR[type(visitor)] = _Plans(type(visitor))
    _walk(node, visitor, plans.plans, plans.skip, plans.plan)


def _walk(node: cst.CSTNode, v: Any, plans: dict[type, _Plan], skip: frozenset[type],
          make: Callable[[type], _Plan]) -> None:
    t = type(node)
    plan = plans.get(t)
    if plan is None:
        plan = make(t)
    visit, leave, fields = plan
    if visit is None or visit(v, node) is not False:
        for name, optional, visit_attr, leave_attr in fields:
            child = getattr(node, name)
            if optional and child is None:
                continue
            if visit_attr is not None:
                visit_attr(v, node)
            ct = type(child)
            if ct is tuple or ct is list:
                for item in child:
                    if type(item) not in skip and isinstance(item, cst.CSTNode):
                        _walk(item, v, plans, skip, make)
            elif ct not in skip and isinstance(child, cst.CSTNode):
                _walk(child, v, plans, skip, make)
            if leave_attr is not None:
                leave_attr(v, node)
    if leave is not None:
        leave(v, node)
