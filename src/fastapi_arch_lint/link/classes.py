"""Classes as the interpreter sees them: their bases, attribute lookup through a hierarchy, and the
attributes an instance gets from its methods (``self.router = APIRouter()`` in ``__init__``). A part of
the ``Interpreter`` (it evaluates the expressions), kept in a module of its own."""

from __future__ import annotations

from fastapi_arch_lint.link.values import Env, Value, VClass, VExt, VFunc, VGeneric, VInst, VUnknown, ext_name


class Classes:
    """The interpreter's class lookups. ``Interpreter`` inherits them and provides what they use: ``eval``,
    ``bind``, ``body_env``, ``at_statement``, ``project``, ``all_classes`` and the caches and guards."""

    def instance_attr(self, cls: VClass, name: str, inst: VInst | None, of_self: bool = False,
                      env: Env | None = None) -> Value:
        """Attribute ``name`` of ``inst``, an instance of ``cls`` (with ``of_self``: of ``self`` in a method of
        ``cls``, an instance of it or of any subclass): what the methods of the class and its project bases
        assign to ``self.name`` (``self.router = APIRouter()`` in ``__init__``; ``__init__``'s parameters bound
        to ``inst``'s arguments) when they all assign one value, else the class attribute. An assignment in
        the method ``env`` runs in is read there, with the arguments its call bound."""
        classes = self.hierarchy(cls)[0]
        sets = [(c, m, a) for c in classes for m, a in self.project.self_assigns(c.fact).get(name, ())]
        if of_self and any(d.fact.field(name) or d.fact.method(name) or name in self.project.self_assigns(d.fact)
                           for d in self.subclasses(cls)):
            return VUnknown(f"`self.{name}` of a `{cls.fact.name}`: a subclass sets it too")
        if not sets:
            return self.class_attr(cls, name, instance=True, inst=inst)
        key = (id(cls.fact), name)
        if key in self._eval_stack:
            self._guarded = True
            return VUnknown(f"`self.{name}` is computed from itself")
        init = self.class_attr(cls, "__init__", True) if inst is not None and inst.call is not None else None
        values: set[Value] = set()
        self._eval_stack.add(key)
        try:
            for c, m, a in sets:
                fn = VFunc(m, c.env, c)
                here = env is not None and bool(env.functions) and env.functions[-1] is m
                where = self.at_statement(env if here else self.body_env(fn), a.pos.line)  # type: ignore[arg-type]
                if isinstance(init, VFunc) and init.fact is m and inst is not None and inst.call is not None:
                    where = Env(where.module, where.functions, where.bound + self.bind(fn, inst.call, inst.env or where),
                                where.at)
                values.add(self.eval(a.value, where))
        finally:
            self._eval_stack.discard(key)
        if len(values) == 1:
            return values.pop()
        return VUnknown(f"`self.{name}` is set to {len(values)} different values")

    def subclasses(self, cls: VClass) -> list[VClass]:
        """The project classes that subclass ``cls``, transitively."""
        if self._subclasses is None:
            index: dict[str, list[VClass]] = {}
            for c, _ in self.all_classes():
                for b in self.bases(c)[1:]:
                    index.setdefault(b, []).append(c)
            self._subclasses = index
        return self._subclasses.get(cls.qualname, [])

    def class_attr(self, cls: VClass, name: str, instance: bool, inst: VInst | None = None,
                   _seen: frozenset[str] = frozenset()) -> Value:
        if cls.qualname in _seen:
            self._guarded = True
            return VUnknown("cyclic class hierarchy")
        f = cls.fact.field(name)
        if f is not None:
            if f.value is None:
                return VUnknown(f"`{cls.fact.name}.{name}` has no default")
            v = self.eval(f.value, cls.env)
            if isinstance(v, VInst) and ext_name(v.cls) in ("pydantic.Field", "sqlmodel.Field") and v.call:
                default = v.call.arg(0, "default")
                return self.eval(default, cls.env) if default is not None else VUnknown("Field without default")
            return v
        m = cls.fact.method(name)
        if m is not None:
            return VFunc(m, cls.env, cls)  # the class's env: a class made by a call keeps its arguments
        if (nested := next((c for c in cls.fact.classes if c.name == name), None)) is not None:
            return VClass(nested, cls.env)
        for b in cls.fact.bases:
            bv = self.eval(b, cls.env)
            if isinstance(bv, VClass):
                v = self.class_attr(bv, name, instance, inst, _seen | {cls.qualname})
                if not isinstance(v, VUnknown):
                    return v
            elif isinstance(bv, VExt):
                return VUnknown(f"attribute `{name}` inherited from `{bv.qualname}`") if instance else VExt(f"{bv.qualname}.{name}")
        return VUnknown(f"`{cls.fact.name}` has no attribute `{name}`")

    # -- class hierarchy -----------------------------------------------------
    def bases(self, cls: VClass | VExt) -> tuple[str, ...]:
        """Qualified names of all bases, transitively, the class itself first."""
        if isinstance(cls, VExt):
            return (cls.qualname,)
        q = cls.qualname
        cached = self._bases_cache.get(q)
        if cached is not None:
            if q in self._bases_open:  # a cyclic hierarchy: this is the cycle guard's partial answer
                self._guarded = True
            return cached
        self._bases_cache[q] = (q,)  # cycle guard
        self._bases_open.add(q)
        out = [q]
        for b in cls.fact.bases:
            bv = self.eval(b, cls.env)
            if isinstance(bv, VGeneric):
                bv = bv.base
            if isinstance(bv, (VClass, VExt)):
                for n in self.bases(bv):
                    if n not in out:
                        out.append(n)
            elif isinstance(bv, VInst) and isinstance(bv.cls, VExt):
                out.append(bv.cls.qualname + "()")
        result = tuple(out)
        self._bases_cache[q] = result
        self._bases_open.discard(q)
        return result

    def hierarchy(self, cls: VClass, limit: int = 40) -> tuple[list[VClass], list[VClass | VExt | VInst | None]]:
        """``cls`` and its project bases, depth first in declaration order (enough for attribute lookup in
        the usual mixin hierarchies), and the bases that are not project classes: the library classes
        (``VExt``), instances of them used as bases (``declarative_base()``) and ``None`` for a base that
        does not evaluate."""
        classes: list[VClass] = []
        other: list[VClass | VExt | VInst | None] = []
        todo = [cls]
        while todo and len(classes) < limit:
            c = todo.pop(0)
            if any(k.qualname == c.qualname for k in classes):
                continue
            classes.append(c)
            for b in c.fact.bases:
                bv = self.eval(b, c.env)
                if isinstance(bv, VGeneric):
                    bv = bv.base
                if isinstance(bv, VClass):
                    todo.append(bv)
                else:
                    other.append(bv if isinstance(bv, (VExt, VInst)) else None)
        return classes, other

