"""The analyzed project as modules: module names, relative imports, packages (regular and namespace),
and every scope, class and function in them with the env it is defined in. No evaluation here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from fastapi_arch_lint.link.values import Env, VClass, VFunc
from fastapi_arch_lint.model.expr import Attr, Call, Name, Seq
from fastapi_arch_lint.model.facts import AssignFact, ClassFact, FunctionFact, ImportFact, ModuleFacts, ParamFact, Scope


# methods that change a list, set or dict in place
MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "add", "discard", "update",
                      "setdefault"})


def grows(value: object) -> bool:
    """A list or set made empty or literal, which the scope may then grow (``result = []``, ``set()``): not
    a database session or an app (``db = Session(); db.add(row)`` keeps its value)."""
    if isinstance(value, Seq):
        return value.kind in ("list", "set")
    return isinstance(value, Call) and isinstance(value.func, Name) and value.func.id in ("list", "set")


class Project:
    def __init__(self, modules: Mapping[str, ModuleFacts]) -> None:
        self.modules = modules
        self._package_prefixes: set[str] | None = None
        self._symtabs: dict[int, dict[str, list[tuple[int, str, object]]]] = {}
        self._twice: dict[int, bool] = {}
        self._owners: dict[int, VClass] | None = None
        self._mutated: dict[int, frozenset[str]] = {}
        self._self_assigns: dict[int, dict[str, list[tuple[FunctionFact, AssignFact]]]] = {}

    def symtab(self, scope: Scope) -> dict[str, list[tuple[int, str, object]]]:
        """The names ``scope`` binds, each with its bindings ``(line, kind, fact)`` in line order."""
        key = id(scope)
        tab = self._symtabs.get(key)
        if tab is not None:
            return tab
        tab = {}
        for a in scope.assigns:
            if a.target and "." not in a.target and not a.augmented:
                tab.setdefault(a.target, []).append((a.pos.line, "assign", a))
        for f in scope.functions:
            tab.setdefault(f.name, []).append((f.pos.line, "func", f))
        for c in scope.classes:
            tab.setdefault(c.name, []).append((c.pos.line, "class", c))
        for i in scope.imports:
            if i.local != "*":
                tab.setdefault(i.local, []).append((i.line, "import", i))
        for entries in tab.values():
            if len(entries) > 1:
                entries.sort(key=lambda e: e[0])
        self._symtabs[key] = tab
        return tab

    def binds_twice(self, scope: Scope, params: Sequence[ParamFact] = ()) -> bool:
        """Whether ``scope`` binds some name more than once (a parameter counts as a binding)."""
        got = self._twice.get(id(scope))
        if got is None:
            names = {p.name for p in params}
            got = self._twice[id(scope)] = any(len(e) > 1 or n in names for n, e in self.symtab(scope).items())
        return got

    def mutated(self, scope: Scope) -> frozenset[str]:
        """The names ``scope`` changes in place after binding them: ``x.append(...)`` and the other methods
        that grow or shrink a list, set or dict, called as a statement, and ``x += ...`` (the interpreter
        asks only for names bound to a list or set: ``grows``)."""
        got = self._mutated.get(id(scope))
        if got is None:
            names = {c.call.func.value.id for c in scope.calls  # type: ignore[union-attr]
                     if isinstance(c.call.func, Attr) and c.call.func.attr in MUTATORS and isinstance(c.call.func.value, Name)}
            names |= {a.target for a in scope.assigns if a.augmented and a.target and "." not in a.target}
            got = self._mutated[id(scope)] = frozenset(names)
        return got

    def owner(self, fn: FunctionFact) -> VClass | None:
        """The class whose body defines the method ``fn``."""
        if self._owners is None:
            self._owners = {id(v.fact): v.cls for v, _ in self.functions() if v.cls is not None}
        return self._owners.get(id(fn))

    def self_assigns(self, cls: ClassFact) -> dict[str, list[tuple[FunctionFact, AssignFact]]]:
        """What the methods of ``cls`` itself assign to attributes of their instance, by attribute name
        (``self.router = APIRouter()`` in ``__init__``), with the method; not a class or static method's."""
        got = self._self_assigns.get(id(cls))
        if got is None:
            got = self._self_assigns[id(cls)] = {}
            for m in cls.methods:
                if not (m.params and m.params[0].name != "cls" and m.params[0].kind == "positional") or any(
                        isinstance(d.expr, Name) and d.expr.id in ("staticmethod", "classmethod") for d in m.decorators):
                    continue
                own = m.params[0].name + "."
                for a in m.scope.assigns:
                    if a.target.startswith(own) and "." not in a.target[len(own):] and not a.augmented:
                        got.setdefault(a.target[len(own):], []).append((m, a))
        return got

    def path_of(self, module: str) -> str:
        m = self.modules.get(module)
        return m.path if m else module

    def absolute(self, module: str, imp: ImportFact) -> str:
        """The module a (possibly relative) import in ``module`` names."""
        if imp.level == 0:
            return imp.module
        facts = self.modules.get(module)
        parts = module.split(".")
        if not (facts and facts.is_package):
            parts = parts[:-1]
        if imp.level > 1:
            parts = parts[: len(parts) - (imp.level - 1)] if imp.level - 1 <= len(parts) else []
        base = ".".join(parts)
        if imp.module:
            return f"{base}.{imp.module}" if base else imp.module
        return base

    def is_package(self, name: str) -> bool:
        """Whether ``name`` is a package (regular or namespace) of the analyzed modules."""
        prefixes = self._package_prefixes
        if prefixes is None:
            prefixes = {m.rsplit(".", k)[0] for m in self.modules for k in range(1, m.count(".") + 1)}
            self._package_prefixes = prefixes
        return name in prefixes

    def all_scopes(self) -> Iterator[tuple[Scope, Env]]:
        """Every module, function and method scope, with the env its statements run in."""
        for name in sorted(self.modules):
            facts = self.modules[name]
            env = Env(name)
            yield facts.scope, env
            yield from self._function_scopes(facts.scope.functions, env)
            for c in facts.scope.classes:
                yield from self._class_scopes(c, env)

    def _function_scopes(self, functions: Iterable[FunctionFact], env: Env) -> Iterator[tuple[Scope, Env]]:
        for f in functions:
            inner = Env(env.module, env.functions + (f,))
            yield f.scope, inner
            yield from self._function_scopes(f.scope.functions, inner)
            for c in f.scope.classes:
                yield from self._class_scopes(c, inner)

    def _class_scopes(self, c: ClassFact, env: Env) -> Iterator[tuple[Scope, Env]]:
        yield from self._function_scopes(c.methods, env)
        for inner in c.classes:
            yield from self._class_scopes(inner, env)

    def all_classes(self) -> Iterator[tuple[VClass, str]]:
        for name in sorted(self.modules):
            facts = self.modules[name]
            env = Env(name)
            for c in facts.scope.classes:
                yield from self._classes(c, env)

    def _classes(self, c: ClassFact, env: Env) -> Iterator[tuple[VClass, str]]:
        yield VClass(c, env), self.path_of(env.module)
        for inner in c.classes:
            yield from self._classes(inner, env)

    def functions(self) -> Iterator[tuple[VFunc, str | None]]:
        """Every function and method with its class's qualified name."""
        for name in sorted(self.modules):
            facts = self.modules[name]
            env = Env(name)
            yield from self._funcs(facts.scope.functions, env, None)
            for c in facts.scope.classes:
                yield from self._class_funcs(c, env)

    def _funcs(self, functions: Iterable[FunctionFact], env: Env, cls: VClass | None) -> Iterator[tuple[VFunc, str | None]]:
        for f in functions:
            v = VFunc(f, env, cls)
            yield v, cls.qualname if cls else None
            inner = Env(env.module, env.functions + (f,))
            yield from self._funcs(f.scope.functions, inner, None)
            for c in f.scope.classes:
                yield from self._class_funcs(c, inner)

    def _class_funcs(self, c: ClassFact, env: Env) -> Iterator[tuple[VFunc, str | None]]:
        cls = VClass(c, env)
        yield from self._funcs(c.methods, env, cls)
        for inner in c.classes:
            yield from self._class_funcs(inner, env)


def bound_at(entry: tuple[int, str, object]) -> int:
    """The last line of a binding's statement: a ``def`` or an assignment binds when it completes."""
    pos = getattr(entry[2], "pos", None) if entry[1] != "import" else None
    return pos.end_line if pos is not None and pos.end_line else entry[0]
