"""The ``if`` branches and ``for`` loops around a scope's statements (``Scope.blocks``).

A statement under ``if`` runs only when its condition holds: ``Blocks.variants`` folds a condition
that is statically certain (a literal, ``TYPE_CHECKING``, a module-level name bound once to a
literal) and otherwise hands back its text, for the model to mark what the statement registers as
conditional. A statement in a ``for`` loop over a literal sequence (or a name bound to one) runs
once per element: each variant binds the loop target to one element by substituting the element's
expression for the target's names in the statement (``for r in [a.router, b.router]:
app.include_router(r)`` is ``app.include_router(a.router)``, then ``app.include_router(b.router)``).
A loop over anything else is noted as unresolved, unless the statement does not use its target.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.values import Env, VConst, VExt, VModule, VParam, VUnknown, compare
from fastapi_arch_lint.model.expr import (
    Attr,
    BinOp,
    BoolOp,
    Call,
    Compare,
    Cond,
    Const,
    DictExpr,
    Expr,
    FStr,
    Name,
    Not,
    Opaque,
    Seq,
    Subscript,
    render,
    walk,
)
from fastapi_arch_lint.model.facts import NOPOS, AssignFact, BlockFact, FunctionFact, ImportFact, Scope

MAX_VARIANTS = 256  # iterations of nested loops, multiplied, before giving up on a statement
_MAX_HOPS = 8  # imports followed to find a constant's binding

Subst = dict[str, Expr]


@dataclass(frozen=True, slots=True)
class Variant:
    """One way a statement runs: its loop targets bound (``subst``), the conditions it runs under, and
    the scopes that bind the names of items taken from another module's sequence (``frames``: the
    statement is evaluated in ``Env(module, functions + frames)``)."""

    subst: Subst
    conditions: tuple[str, ...]
    frames: tuple[FunctionFact, ...] = ()
    bound: Env | None = None  # the statement's env with one call's arguments bound (a loop over a parameter)

    def env(self, env: Env) -> Env:
        env = self.bound or env
        return Env(env.module, env.functions + self.frames, env.bound) if self.frames else env


_PLAIN = Variant({}, ())


def substitute(expr: Expr | None, subst: Subst) -> Expr | None:
    """``expr`` with each name in ``subst`` replaced by its expression (``expr`` itself when none occurs)."""
    if expr is None or not subst:
        return expr
    t = type(expr)
    if t is Name:
        return subst.get(expr.id, expr)  # type: ignore[union-attr]
    if t is Attr:
        v = substitute(expr.value, subst)  # type: ignore[union-attr]
        return expr if v is expr.value else Attr(v, expr.attr)  # type: ignore[union-attr, arg-type]
    if t is Call:
        c: Call = expr  # type: ignore[assignment]
        func = substitute(c.func, subst)
        args = tuple(substitute(a, subst) for a in c.args)
        kwargs = tuple((k, substitute(v, subst)) for k, v in c.kwargs)
        if func is c.func and all(a is b for a, b in zip(args, c.args)) and all(
                a[1] is b[1] for a, b in zip(kwargs, c.kwargs)):
            return c
        return Call(func, args, kwargs, c.line, c.col, c.starred)  # type: ignore[arg-type]
    if t is Seq:
        items = tuple(substitute(i, subst) for i in expr.items)  # type: ignore[union-attr]
        return Seq(expr.kind, items)  # type: ignore[union-attr, arg-type]
    if t is FStr:
        return FStr(tuple(p if isinstance(p, str) else substitute(p, subst) for p in expr.parts))  # type: ignore[union-attr, misc]
    if t is BinOp:
        return BinOp(expr.op, substitute(expr.left, subst), substitute(expr.right, subst))  # type: ignore[union-attr, arg-type]
    if t is Subscript:
        return Subscript(substitute(expr.value, subst),  # type: ignore[union-attr, arg-type]
                         tuple(substitute(i, subst) for i in expr.items))  # type: ignore[union-attr, misc]
    if t is DictExpr:
        return DictExpr(tuple(substitute(k, subst) for k in expr.keys),  # type: ignore[union-attr]
                        tuple(substitute(v, subst) for v in expr.values))  # type: ignore[union-attr, misc]
    if t is Compare:
        return Compare(expr.op, substitute(expr.left, subst), substitute(expr.right, subst))  # type: ignore[union-attr, arg-type]
    if t is Not:
        return Not(substitute(expr.operand, subst))  # type: ignore[union-attr, arg-type]
    if t is BoolOp:
        return BoolOp(expr.op, tuple(substitute(v, subst) for v in expr.values))  # type: ignore[union-attr, misc]
    if t is Cond:
        return Cond(substitute(expr.test, subst), substitute(expr.body, subst),  # type: ignore[union-attr, arg-type]
                    substitute(expr.orelse, subst))  # type: ignore[union-attr, arg-type]
    return expr  # constants, opaque code, kinds this does not know


def names_in(expr: Expr | None) -> set[str]:
    """The plain names ``expr`` reads (``"<opaque>"`` when part of it is not represented: it may read anything)."""
    out: set[str] = set()
    for e in walk(expr):
        if type(e) is Name:
            out.add(e.id)  # type: ignore[union-attr]
        elif type(e) is Opaque:
            out.add("<opaque>")
    return out


_RENAMED = re.compile(r"@[\w.]*@")


def shown(text: str) -> str:
    """``text`` (a rendered expression) with the names ``_rename`` made shown as written."""
    return _RENAMED.sub("", text) if "@" in text else text


def _rename(expr: Expr, suffix: str) -> Expr:
    """``expr`` with every name ``n`` read as ``n@suffix@``."""
    return substitute(expr, {n: Name(f"{n}@{suffix}@") for n in names_in(expr) if n != "<opaque>"})  # type: ignore[return-value]


def _target_names(target: Expr | None) -> list[str]:
    if isinstance(target, Name):
        return [target.id]
    if isinstance(target, Seq):
        return [n for i in target.items for n in _target_names(i)]
    return ["<target>"]


def _bind(target: Expr | None, item: Expr, out: Subst) -> bool:
    """Bind the loop ``target`` to ``item`` (unpacking literal tuples); False when it cannot."""
    if isinstance(target, Name):
        out[target.id] = item
        return True
    if isinstance(target, Seq) and isinstance(item, Seq) and len(target.items) == len(item.items) and not any(
            isinstance(i, Opaque) for i in item.items):
        return all(_bind(t, i, out) for t, i in zip(target.items, item.items))
    return False


class Blocks:
    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._innermost: dict[int, dict[str, list[int]]] = {}
        self._frames: dict[tuple[str, tuple[str, ...]], FunctionFact] = {}  # kept alive: the interpreter keys by id
        self._what = ""  # what the statement being expanded registers, in the linker's wording (for notes)
        # one env per call of the function a parameter belongs to, that call's arguments bound (set by
        # the registrations, which know the call sites); None: a loop over a parameter stays unresolved
        self.rebind: Callable[[VParam, Env], list[Env] | None] | None = None

    def _about(self, block: BlockFact) -> str:
        """What a note about an unresolved loop is about: the registration in it (``included router `x```,
        worded as the other notes about it are, so the review's summary counts it), then the loop."""
        return f"{shown(self._what)} in loop `{block.text}`" if self._what else f"loop `{block.text}`"

    def innermost(self, scope: Scope, kind: str) -> list[int]:
        """For each of the scope's ``calls``/``functions``/``assigns``, the innermost block it is in (-1: none)."""
        per_scope = self._innermost.get(id(scope))
        if per_scope is None:
            per_scope = {}
            sizes = {"calls": len(scope.calls), "functions": len(scope.functions), "assigns": len(scope.assigns)}
            for k, n in sizes.items():
                out = [-1] * n
                for index, b in enumerate(scope.blocks):  # outer blocks first: inner ones overwrite them
                    start, end = getattr(b, k)
                    for i in range(start, min(end, n)):
                        out[i] = index
                per_scope[k] = out
            self._innermost[id(scope)] = per_scope
        return per_scope[kind]

    def loop_targets(self, scope: Scope, kind: str, index: int) -> set[str]:
        """The names the loops around statement ``index`` of ``scope.<kind>`` bind (empty: in no loop)."""
        out: set[str] = set()
        if not scope.blocks:
            return out
        b = self.innermost(scope, kind)[index]
        while b >= 0:
            block = scope.blocks[b]
            if block.kind == "for":
                out.update(_target_names(block.target))
            b = block.parent
        return out

    def variants(self, scope: Scope, kind: str, index: int, env: Env, uses: list[Expr | None], what: str = ""
                 ) -> Iterator[Variant]:
        """The ways statement ``index`` of ``scope.<kind>`` runs; ``uses`` are the expressions it evaluates
        (to tell whether it depends on a loop's target)."""
        if not scope.blocks:
            yield _PLAIN
            return
        b = self.innermost(scope, kind)[index]
        if b < 0:
            yield _PLAIN
            return
        chain: list[BlockFact] = []
        while b >= 0:
            chain.append(scope.blocks[b])
            b = scope.blocks[b].parent
        chain.reverse()  # outermost first
        used: set[str] = set()
        for u in uses:
            used |= names_in(u)
        self._what = what
        yield from self._expand(chain, 0, Variant({}, ()), env, used)

    def _expand(self, chain: list[BlockFact], i: int, acc: Variant, env: Env, used: set[str]) -> Iterator[Variant]:
        if i == len(chain):
            yield acc
            return
        block = chain[i]
        if block.kind == "for":
            targets = _target_names(block.target)
            # conditions inside the loop may read its target, as may the statement itself
            reads = used | {n for b in chain[i + 1:] if b.kind != "for" for n in names_in(b.test)}
            if not reads & set(targets) and "<opaque>" not in reads:
                items = self.loop_items(block, acc.env(env), acc.subst, quiet=True)
                if items:  # a literal, non-empty sequence: the statement runs (its effect is the same each time)
                    yield from self._expand(chain, i + 1, acc, env, used)
                else:
                    yield from self._expand(chain, i + 1, Variant(acc.subst, acc.conditions + (block.text,), acc.frames,
                                                                  acc.bound), env, used)
                return
            per_call = self._per_call(block, acc, env)
            if per_call is not None:  # a loop over the enclosing function's parameter: once per call of it
                for bound in per_call:
                    yield from self._expand(chain, i, Variant(acc.subst, acc.conditions, acc.frames, bound), env, used)
                return
            found = self.loop_items(block, acc.env(env), acc.subst)
            if found is None:
                return
            items, where = found
            frames = acc.frames
            if where is not None:  # a sequence of another module: its names, renamed, bound as there
                names = sorted({n for item in items for n in names_in(item)} - {"<opaque>"})
                items = [_rename(item, where) for item in items]
                frames = frames + (self._frame(where, tuple(names)),)
            for item in items[:MAX_VARIANTS]:
                subst = dict(acc.subst)
                if not _bind(block.target, item, subst):
                    self.interp.note(self._about(block), f"cannot unpack `{render(item)}` into its target",
                                     env.module, block.pos.line)
                    return
                yield from self._expand(chain, i + 1, Variant(subst, acc.conditions, frames, acc.bound), env, used)
            return
        truth = self.certain(substitute(block.test, acc.subst), acc.env(env))
        if truth is not None:
            if truth != block.negated:
                yield from self._expand(chain, i + 1, acc, env, used)
            return  # statically false: the statement never runs
        yield from self._expand(chain, i + 1, Variant(acc.subst, acc.conditions + (block.text,), acc.frames, acc.bound),
                                env, used)

    def _per_call(self, block: BlockFact, acc: Variant, env: Env) -> list[Env] | None:
        """For a loop over a parameter of the function the statement is in, not bound yet (``for r in
        routers:`` in ``def create_app(routers=ROUTERS)``): the statement's env once per call of that
        function, its arguments bound (the loop then iterates what each call passes, or the default)."""
        it = substitute(block.test, acc.subst)
        if self.rebind is None or acc.bound is not None or not isinstance(it, Name) or not env.functions:
            return None
        v = self.interp.eval(it, acc.env(env))
        if not isinstance(v, VParam) or v.func.fact is not env.functions[-1]:
            return None
        return self.rebind(v, env)

    def _frame(self, module: str, names: tuple[str, ...]) -> FunctionFact:
        """A scope binding ``n@module@`` to what ``n`` is in ``module``, for each of ``names``."""
        key = (module, names)
        frame = self._frames.get(key)
        if frame is None:
            imports = tuple(ImportFact(f"{n}@{module}@", module, n, 0, 0) for n in names)
            frame = FunctionFact("<loop>", "<loop>", NOPOS, False, (), (), None, Scope(imports=imports))
            self._frames[key] = frame
        return frame

    # -- loops ---------------------------------------------------------------------
    def loop_items(self, block: BlockFact, env: Env, subst: Subst, quiet: bool = False
                   ) -> tuple[list[Expr], str | None] | None:
        """The element expressions of a loop's iterable and, when they are another module's, that module
        (else None: they mean what they say in ``env``); None (noted) when unknown."""
        it = substitute(block.test, subst)
        why = "not a literal list or tuple"
        if isinstance(it, Seq):
            items = list(it.items)
            if not any(isinstance(i, Opaque) for i in items):
                return items, None
            why = "the sequence has a starred element"
        elif isinstance(it, (Name, Attr)):
            found = self._literal_sequence(it, env)
            if not isinstance(found, str):
                return found
            why = found
        if not quiet:
            self.interp.note(self._about(block), f"iterates `{render(it)}`: {why}", env.module, block.pos.line)
        return None

    def _literal_sequence(self, it: Name | Attr, env: Env, hops: int = 0) -> tuple[list[Expr], str | None] | str:
        """The items of the literal list or tuple a name is bound to once (or to a name that is, as a
        parameter's default may be), with the module they are to be read in when it is not ``env`` (see
        ``loop_items``); else why not."""
        found = self._binding(it, env)
        if isinstance(found, str):
            return found
        a, where = found
        if isinstance(a.value, (Name, Attr)) and hops < _MAX_HOPS:
            return self._literal_sequence(a.value, where, hops + 1)
        if not isinstance(a.value, Seq) or a.value.kind not in ("list", "tuple"):
            return f"`{render(it)}` is not bound to a literal list or tuple"
        items = list(a.value.items)
        if any(isinstance(i, Opaque) for i in items):
            return "the sequence has a starred element"
        if where == env:
            return items, None
        if not where.functions:
            return items, where.module
        for i in items:  # bound in an enclosing function: its items must mean the same here
            there, here = self.interp.eval(i, where), self.interp.eval(i, env)
            if isinstance(there, VUnknown) or there != here:
                return f"`{render(i)}` in `{render(it)}` is defined in another scope"
        return items, None

    def _binding(self, expr: Name | Attr, env: Env) -> tuple[AssignFact, Env] | str:
        """The one assignment a name (or ``module.name``) is bound by, following imports; else why not."""
        if isinstance(expr, Attr):
            base = self.interp.eval(expr.value, env)
            if not isinstance(base, VModule):
                return f"`{render(expr)}` is not a module-level name"
            return self._module_binding(base.name, expr.attr, 0)
        for depth in range(len(env.functions) - 1, -1, -1):
            entries = self.interp.local_names(env.functions[depth]).get(expr.id, ())
            if entries is None:
                arg = next(((a, e) for d, n, a, e in env.bound if d == depth and n == expr.id), None)
                if arg is not None and isinstance(arg[0], (Seq, Name, Attr)):  # what a call passes (or the default)
                    return AssignFact(expr.id, arg[0], None, NOPOS), arg[1]
                if arg is not None:
                    return f"parameter `{expr.id}` is passed `{render(arg[0])}`"
                return f"`{expr.id}` is a parameter"
            if entries:
                if len(entries) != 1 or entries[0][1] != "assign":
                    return f"`{expr.id}` is bound more than once"
                return entries[0][2], Env(env.module, env.functions[: depth + 1])  # type: ignore[return-value]
        return self._module_binding(env.module, expr.id, 0)

    def _module_binding(self, module: str, name: str, hops: int) -> tuple[AssignFact, Env] | str:
        facts = self.interp.modules.get(module)
        if facts is None or hops > _MAX_HOPS:
            return f"`{name}` is not defined in the analyzed code"
        entries = self.interp.symtab(facts.scope).get(name)
        if not entries:
            return f"`{name}` is not bound in `{module}`"
        if len(entries) != 1 or any(a.target == name and a.augmented for a in facts.scope.assigns):
            return f"`{name}` is bound more than once"
        _, kind, obj = entries[0]
        if kind == "assign":
            return obj, Env(module)  # type: ignore[return-value]
        if kind == "import" and obj.name is not None:  # type: ignore[attr-defined]
            return self._module_binding(self.interp.absolute(module, obj), obj.name, hops + 1)  # type: ignore[arg-type, attr-defined]
        return f"`{name}` is not an assignment"

    # -- conditions ------------------------------------------------------------------
    def certain(self, test: Expr | None, env: Env) -> bool | None:
        """The truth of a condition when it is statically certain, else None: literals, ``TYPE_CHECKING``,
        module-level names bound once to a literal, and ``not``/``and``/``or``/comparisons of those."""
        if isinstance(test, Not):
            inner = self.certain(test.operand, env)
            return None if inner is None else not inner
        if isinstance(test, BoolOp):
            truths = [self.certain(v, env) for v in test.values]
            decisive = test.op == "or"  # the value that decides ``or`` (True) or ``and`` (False) alone
            if decisive in truths:
                return decisive
            return None if None in truths else not decisive
        if isinstance(test, Compare):
            left, right = self._constant(test.left, env), self._constant(test.right, env)
            if left is _UNKNOWN or right is _UNKNOWN:
                return None
            got = compare(test.op, VConst(left), VConst(right))
            return None if got is None else bool(got.value)
        if isinstance(test, (Name, Attr)):
            v = self.interp.eval(test, env)
            if isinstance(v, VExt) and v.qualname.rsplit(".", 1)[-1] == "TYPE_CHECKING":
                return False  # ``typing.TYPE_CHECKING`` is false when the code runs
        value = self._constant(test, env)
        return None if value is _UNKNOWN else bool(value)

    def _constant(self, expr: Expr | None, env: Env, depth: int = 0) -> object:
        """The value of a literal, or of a module-level name bound once to a literal; else ``_UNKNOWN``."""
        if isinstance(expr, Const):
            return expr.value
        if depth > _MAX_HOPS:
            return _UNKNOWN
        if isinstance(expr, Seq) and expr.kind in ("tuple", "list", "set"):
            items = [self._constant(i, env, depth + 1) for i in expr.items]
            return _UNKNOWN if _UNKNOWN in items else tuple(items)
        if not isinstance(expr, (Name, Attr)):
            return _UNKNOWN
        found = self._binding(expr, env)
        if isinstance(found, str) or found[1].functions or not isinstance(found[0].value, (Const, Seq)):
            return _UNKNOWN  # computed (settings read from the environment): not certain
        if isinstance(found[0].value, Seq):
            return self._constant(found[0].value, found[1], depth + 1)
        value = found[0].value.value
        return value if isinstance(value, (bool, int, float, str, type(None))) else _UNKNOWN


_UNKNOWN = object()
