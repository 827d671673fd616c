"""A read-only driver for ``CSTVisitor`` subclasses, about five times cheaper than ``node.visit``.

``CSTNode.visit`` rebuilds every node it passes through (each ``_visit_and_replace_children``
constructs and validates a new node) and looks up ``visit_X`` / ``leave_X`` and the
attribute hooks by name on every node and every field. A collector never changes the tree,
so ``walk(node, visitor)`` calls the same hooks in the same order (``visit_X`` before the
children, the ``visit_X_field`` / ``leave_X_field`` hooks around each field, ``leave_X``
after, children skipped when ``visit_X`` returns ``False``) without rebuilding anything,
with the hooks resolved once per (visitor class, node type) and written, with that type's
fields, into one compiled function (``_compile``).

The children of a node type, in the order LibCST visits them, are read once from that
type's ``_visit_and_replace_children`` (every field is visited by a
``visit_*(self, "field", ...)`` call). Whitespace and operator tokens are not descended
into unless the visitor has a hook for one of their types. Where that source cannot be read
(a LibCST installed with only ``.pyc`` files, or zipped), the walker of that type is
``node.visit`` itself (``_generic``): the same hooks in the same order, at LibCST's speed.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
import typing
from typing import Any, Callable

import libcst as cst
import libcst._nodes.op as _op
import libcst._nodes.whitespace as _ws
from libcst import MaybeSentinel

from fastapi_arch_lint.extract.plain import PLAIN

_FIELDS: dict[type, tuple[tuple[str, bool], ...] | None] = {}


def child_fields(node_type: type) -> tuple[tuple[str, bool], ...] | None:
    """The fields of ``node_type`` that hold child nodes, in LibCST's visiting order, each with
    whether LibCST skips the field's attribute hooks when it is ``None`` (``x if x is not None
    else None``, as for ``format_spec``); ``None`` when LibCST's source cannot be read (an
    install with only ``.pyc`` files, a zipapp): ``node.visit`` then walks that type."""
    if node_type in _FIELDS:
        return _FIELDS[node_type]
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(node_type._visit_and_replace_children)))
    except (OSError, TypeError, SyntaxError):  # no source file (or not Python): the generic walk
        _FIELDS[node_type] = None
        return None
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
# (name, visit_X_field, leave_X_field, skip the field's hooks when None)
_Field = tuple[str, "_Hook | None", "_Hook | None", bool]


def _all_subclasses(base: type) -> set[type]:
    """The node classes derived from ``base``, as their modules define them (``@add_slots``
    replaces each dataclass by a copy: the first class object lingers in ``__subclasses__``)."""
    out: set[type] = set()
    todo = [base]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in out:
                out.add(sub)
                todo.append(sub)
    return {t for t in out if getattr(sys.modules.get(t.__module__), t.__name__, None) is t}


def _hook(visitor_type: type, name: str) -> "_Hook | None":
    """``visitor_type``'s own hook called ``name``, or ``None`` when it only inherits
    ``CSTVisitor``'s no-op (every ``visit_X`` / ``leave_X`` / ``visit_X_field`` exists there):
    calling a no-op changes nothing, and a type without real hooks can then be skipped."""
    hook = getattr(visitor_type, name, None)
    return None if hook is None or hook is getattr(cst.CSTVisitor, name, None) else hook


def _annotation_types(annotation: Any) -> set[Any]:
    """The classes a field annotation admits (``Sequence[X]``, ``Optional[X]``, unions...)."""
    args = getattr(annotation, "__args__", None)
    if args is None:
        return {annotation}
    out: set[Any] = set()
    for arg in args:
        out |= _annotation_types(arg)
    return out


class _Plans:
    """The hooks of one visitor class, resolved per node type on first use.

    ``skip``: the node types the walk never enters (whitespace and operator tokens without a
    hook of the visitor). ``nodes``: every other node type. ``walkers``: what the walk calls
    for a child of a given type, as ``walker(visitor, child)``: for a node type, a function
    compiled for it (``_compile``), ``_generic`` when its fields cannot be read, or, when it
    is a leaf with only a ``visit_X`` hook (``Name`` for most visitors), that hook itself,
    called without entering the node; ``None`` for everything else (no hooks and no field that
    can hold a node: strings, numbers...; skipped tokens; values that are not nodes). A field
    whose annotation admits only skipped types (``lpar``, ``comma``, ``whitespace_*``...) and
    that has no attribute hooks is left out: reading it could only find something skipped.
    """

    __slots__ = ("visitor_type", "skip", "nodes", "walkers")

    def __init__(self, visitor_type: type) -> None:
        self.visitor_type = visitor_type
        hooked = {name.split("_")[1] for name in dir(visitor_type)
                  if name.startswith(("visit_", "leave_")) and _hook(visitor_type, name) is not None}
        self.skip = frozenset(t for t in TOKEN_TYPES if t.__name__ not in hooked)
        self.nodes = frozenset(_all_subclasses(cst.CSTNode) - self.skip)
        self.walkers = _Walkers(self)

    def _only_skipped(self, node_type: type, field: str) -> bool:
        try:
            annotation = typing.get_type_hints(node_type)[field]
        except Exception:  # an annotation we cannot resolve: keep the field
            return False
        for t in _annotation_types(annotation):
            if t is type(None) or t is str or t is MaybeSentinel or not isinstance(t, type):
                continue  # None, text, sentinels and ``Literal`` values hold no node
            if not issubclass(t, cst.CSTNode) or any(s not in self.skip for s in _all_subclasses(t) | {t}):
                return False
        return True

    def walker(self, node_type: type) -> "_Hook | None":
        """What the walk calls for a child of type ``node_type``."""
        if node_type not in self.nodes:
            return None
        vt = self.visitor_type
        name = node_type.__name__
        children = child_fields(node_type)
        if children is None:  # LibCST's source is not there to read the fields from
            return _generic
        fields: list[_Field] = []
        for f, optional in children:
            visit_attr, leave_attr = _hook(vt, f"visit_{name}_{f}"), _hook(vt, f"leave_{name}_{f}")
            if visit_attr is None and leave_attr is None and self._only_skipped(node_type, f):
                continue
            fields.append((f, visit_attr, leave_attr, optional))
        visit, leave = _hook(vt, f"visit_{name}"), _hook(vt, f"leave_{name}")
        if leave is None and not fields:  # a leaf: its ``visit_X`` alone, or nothing to do
            return visit
        return _compile(node_type, visit, leave, fields, self.walkers)


def _generic(visitor: cst.CSTVisitor, node: cst.CSTNode) -> None:
    """The walker of a node type whose fields are unknown: LibCST's own ``node.visit``, which
    calls the same hooks on the node and its subtree (rebuilding it, as it always does)."""
    node.visit(visitor)


class _Walkers(dict):  # type: ignore[type-arg]
    """``type -> walker or None`` (see ``_Plans``), made on first use of each type."""

    __slots__ = ("plans",)

    def __init__(self, plans: _Plans) -> None:
        super().__init__()
        self.plans = plans

    def __missing__(self, node_type: type) -> "_Hook | None":
        walker = self[node_type] = self.plans.walker(node_type)
        return walker


# The walk into one field's value: a node, a sequence of nodes, or a value holding none.
_DESCEND = """\
if type(child) is tuple or type(child) is list:
    for item in child:
        w = walkers[type(item)]
        if w is not None:
            w(v, item)
else:
    w = walkers[type(child)]
    if w is not None:
        w(v, child)
"""


def _compile(node_type: type, visit: "_Hook | None", leave: "_Hook | None", fields: list[_Field],
             walkers: _Walkers) -> _Hook:
    """The walker of ``node_type``: its hooks and its fields' walks written out as one function.

    A generic loop over a per-type plan (hooks or not, field hooks or not, each field by name
    through ``getattr``) cost more than the hooks themselves; the function below does for one
    node type only what that type needs, with the hooks and the table of walkers as globals.
    """
    env: dict[str, Any] = {"walkers": walkers, "visit": visit, "leave": leave}
    lines = [f"def walk_{node_type.__name__}(v, node):"]
    indent = "    "
    if visit is not None:
        if fields:
            lines.append("    if visit(v, node) is not False:")
            indent = "        "
        else:
            lines.append("    visit(v, node)")
    for name, visit_attr, leave_attr, optional in fields:
        lines.append(f"{indent}child = node.{name}")
        inner = indent
        if optional and (visit_attr is not None or leave_attr is not None):
            lines.append(f"{indent}if child is not None:")  # LibCST skips the field's hooks then
            inner = indent + "    "
        if visit_attr is not None:
            env[f"visit_{name}"] = visit_attr
            lines.append(f"{inner}visit_{name}(v, node)")
        lines.append(textwrap.indent(_DESCEND, inner).rstrip("\n"))
        if leave_attr is not None:
            env[f"leave_{name}"] = leave_attr
            lines.append(f"{inner}leave_{name}(v, node)")
    if leave is not None:
        lines.append("    leave(v, node)")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines) + "\n", f"<walker of {node_type.__qualname__}>", "exec"), env, namespace)
    return namespace[f"walk_{node_type.__name__}"]  # type: ignore[no-any-return]


_BY_VISITOR: dict[type, _Plans] = {}


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """Call ``visitor``'s hooks over ``node`` and its subtree as ``node.visit(visitor)`` would
    (with ``FASTAPI_ARCH_LINT_PLAIN_LIBCST`` set, ``plain.py``, by calling it)."""
    if PLAIN:
        node.visit(visitor)
        return
    plans = _BY_VISITOR.get(type(visitor))
    if plans is None:
        vt = type(visitor)
        if any(getattr(vt, hook) is not getattr(cst.CSTVisitor, hook)
               for hook in ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute")):
            node.visit(visitor)  # generic hooks: let LibCST drive them
            return
        plans = _BY_VISITOR[type(visitor)] = _Plans(type(visitor))
    walker = plans.walkers[type(node)]
    if walker is not None:  # else a skipped token or a leaf without hooks: nothing to call
        walker(visitor, node)
