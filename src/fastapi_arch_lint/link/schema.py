"""Pydantic models and ORM tables (SQLAlchemy, SQLModel), and the model classes a type names."""

from __future__ import annotations

from dataclasses import replace

from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.knowledge import (
    CON_MARKERS,
    CON_TYPES,
    MODEL_BASES,
    SQLA_BASES,
)
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VAnnotated,
    VClass,
    VConst,
    VExt,
    VGeneric,
    VInst,
    ext_name,
)
from fastapi_arch_lint.model.app import (
    Column,
    ModelField,
    PydanticModel,
    Relationship,
    Table,
)
from fastapi_arch_lint.model.expr import (
    Attr,
    Call,
    Const,
    DictExpr,
    Expr,
    Name,
    Seq,
    Subscript,
    render,
)


# classes outside the project that declare no columns: a mapped class deriving from them alone still
# shows its whole key
CLOSED_EXTERNAL_BASES = frozenset({
    "builtins.object", "typing.Generic", "abc.ABC", "typing.Protocol", "sqlmodel.SQLModel",
    "sqlalchemy.orm.MappedAsDataclass", "sqlalchemy.ext.asyncio.AsyncAttrs", "pydantic.BaseModel",
    "enum.Enum", "builtins.dict",
})


class Schema:
    def __init__(self, interp: Interpreter) -> None:
        self.interp = interp
        self._fields_memo: dict[tuple[int, str], tuple[list[ModelField], int]] = {}

    def type_names(self, v: Value | None, _depth: int = 0) -> list[str]:
        if v is None or _depth > 6:
            return []
        if isinstance(v, VClass):
            return [v.qualname]
        if isinstance(v, VExt):
            return [v.qualname]
        if isinstance(v, VGeneric):
            out = self.type_names(v.base, _depth + 1)
            for i in v.items:
                out.extend(self.type_names(i, _depth + 1))
            return out
        if isinstance(v, VAnnotated):
            return self.type_names(v.base, _depth + 1)
        if isinstance(v, VConst) and v.value is None:
            return ["builtins.None"]
        return []

    def is_model_class(self, v: Value) -> bool:
        return isinstance(v, VClass) and any(b in MODEL_BASES for b in self.interp.bases(v))

    def is_body_type(self, v: Value | None, _depth: int = 0) -> bool:
        if v is None or _depth > 5:
            return False
        if self.is_model_class(v):
            return True
        if isinstance(v, VExt) and v.qualname in ("builtins.dict", "typing.Dict", "typing.Any"):
            return v.qualname != "typing.Any"
        if isinstance(v, VGeneric):
            base = ext_name(v.base)
            if base in ("builtins.dict", "typing.Dict"):
                return True
            if base in ("typing.Optional", "typing.Union"):
                return any(self.is_body_type(i, _depth + 1) for i in v.items)
            return any(self.is_model_class(i) for i in v.items)
        if isinstance(v, VAnnotated):
            return self.is_body_type(v.base, _depth + 1)
        return False

    def model_names(self, v: Value | None, _depth: int = 0) -> list[str]:
        if v is None or _depth > 6:
            return []
        if self.is_model_class(v):
            return [v.qualname]  # type: ignore[union-attr]
        if isinstance(v, VGeneric):
            out = []
            for i in v.items:
                out.extend(self.model_names(i, _depth + 1))
            return out
        if isinstance(v, VAnnotated):
            return self.model_names(v.base, _depth + 1)
        return []

    def build_models(self) -> tuple[list[PydanticModel], list[Table]]:
        models: list[PydanticModel] = []
        tables: list[Table] = []
        for cls, path in self.interp.all_classes():
            bases = self.interp.bases(cls)
            kind = next((MODEL_BASES[b] for b in bases if b in MODEL_BASES), None)
            is_table_kw = any(k == "table" and isinstance(v, Const) and v.value is True for k, v in cls.fact.keywords)
            if kind == "sqlmodel" and is_table_kw:
                tables.append(self.table(cls, path, "sqlmodel"))
                continue
            if kind is not None:
                models.append(self.pyd_model(cls, path, kind, bases))
                continue
            if self.is_sqla_model(cls, bases):
                tables.append(self.table(cls, path, "sqlalchemy"))
        return models, self.module_indexes(tables)

    def is_sqla_model(self, cls: VClass, bases: tuple[str, ...]) -> bool:
        if cls.fact.field("__abstract__") is not None:
            f = cls.fact.field("__abstract__")
            if f and isinstance(f.value, Const) and f.value.value is True:
                return False
        declarative = any(b in SQLA_BASES or b.endswith("declarative_base()") for b in bases[1:])
        if not declarative:
            return False
        # the declarative base itself (class Base(DeclarativeBase)) is not a table
        return cls.fact.field("__tablename__") is not None or cls.fact.field("__table__") is not None or any(
            self._is_column_field(f.annotation, f.value) for f in cls.fact.fields
        )

    @staticmethod
    def _is_column_field(annotation: Expr | None, value: Expr | None) -> bool:
        if isinstance(value, Call):
            fn = value.func
            name = fn.attr if isinstance(fn, Attr) else fn.id if isinstance(fn, Name) else ""
            if name in ("mapped_column", "Column", "column_property"):
                return True
        if isinstance(annotation, Subscript):
            base = annotation.value
            name = base.attr if isinstance(base, Attr) else base.id if isinstance(base, Name) else ""
            if name == "Mapped":
                return True
        return False

    def model_fields(self, cls: VClass, _seen: frozenset[str] = frozenset()) -> list[ModelField]:
        """The fields of a model class, inherited ones first (memoized: subclasses share their bases')."""
        if cls.qualname in _seen:
            self.interp.guard_fired()
            return []
        return self.interp.memoized(self._fields_memo, (id(cls.fact), cls.env.module), self._model_fields, cls, _seen)

    def _model_fields(self, cls: VClass, _seen: frozenset[str]) -> list[ModelField]:
        fields: dict[str, ModelField] = {}
        for b in cls.fact.bases:
            bv = self.interp.eval(b, cls.env)
            if isinstance(bv, VClass) and self.is_model_class(bv):
                for f in self.model_fields(bv, _seen | {cls.qualname}):
                    fields[f.name] = f
        for f in cls.fact.fields:
            if f.annotation is None or f.name.startswith("_") or f.name == "model_config":
                continue
            ann_v = self.interp.annotation(f.annotation, cls.env)
            if isinstance(ann_v, VGeneric) and ext_name(ann_v.base) == "typing.ClassVar":
                continue
            base = ann_v.base if isinstance(ann_v, VAnnotated) else ann_v
            constraints: list[tuple[str, object]] = []
            required = f.value is None
            default = render(f.value) if f.value is not None else ""
            field_calls: list[VInst] = []
            if isinstance(ann_v, VAnnotated):
                field_calls.extend(m for m in ann_v.meta if isinstance(m, VInst) and ext_name(m.cls) in ("pydantic.Field", "sqlmodel.Field"))
            # ``StringConstraints(max_length=)`` metadata (also inside ``X | None``) and ``constr()``/``conlist()`` types
            union = isinstance(ann_v, VGeneric) and ext_name(ann_v.base) in ("typing.Optional", "typing.Union")
            for part in [ann_v, *(ann_v.items if union else ())]:  # type: ignore[union-attr]
                if isinstance(part, VAnnotated):
                    field_calls.extend(m for m in part.meta if isinstance(m, VInst) and (
                        ext_name(m.cls) in CON_MARKERS or (part is not ann_v and ext_name(m.cls) in ("pydantic.Field", "sqlmodel.Field"))))
                elif isinstance(part, VInst) and ext_name(part.cls) in CON_TYPES:
                    field_calls.append(part)
            if f.value is not None:
                vv = self.interp.eval(f.value, cls.env)
                if isinstance(vv, VInst) and ext_name(vv.cls) in ("pydantic.Field", "sqlmodel.Field"):
                    field_calls.append(vv)
                    d = vv.call.arg(0, "default") if vv.call else None
                    required = d is None and (vv.call is None or vv.call.kwarg("default_factory") is None)
                    if d is not None:
                        dv = self.interp.eval(d, cls.env)
                        required = isinstance(dv, VConst) and dv.value is Ellipsis
                        default = render(d)
            for fc in field_calls:
                if fc.call is None:
                    continue
                for k, e in fc.call.kwargs:
                    if k in ("default", "default_factory"):
                        continue
                    constraints.append((k, self.interp.const(e, cls.env)))
            names = self.type_names(base)
            if not names and isinstance(base, VInst) and ext_name(base.cls) in CON_TYPES:
                names = [CON_TYPES[ext_name(base.cls) or ""]]
            optional = "builtins.None" in names or "typing.Optional" in names
            fields[f.name] = ModelField(f.name, render(f.annotation), tuple(names), required, default,
                                        tuple(constraints), f.pos.line, f.pos.col, optional)
        return list(fields.values())

    def pyd_model(self, cls: VClass, path: str, kind: str, bases: tuple[str, ...]) -> PydanticModel:
        config: list[tuple[str, object]] = []
        mc = cls.fact.field("model_config")
        if mc is not None and isinstance(mc.value, Call):
            for k, e in mc.value.kwargs:
                config.append((k, self.interp.const(e, cls.env)))
        for inner in cls.fact.classes:
            if inner.name == "Config":
                for f in inner.fields:
                    config.append((f.name, self.interp.const(f.value, cls.env)))
        validators = tuple(
            m.name for m in cls.fact.methods
            if any(isinstance(d.expr, (Call, Name, Attr)) and "validator" in render(d.expr) for d in m.decorators)
        )
        return PydanticModel(cls.qualname, cls.fact.name, kind, path, cls.fact.pos.line, bases[1:],
                             tuple(self.model_fields(cls)), tuple(config), validators)

    def table(self, cls: VClass, path: str, kind: str) -> Table:
        tn = cls.fact.field("__tablename__")
        tablename = None
        if tn is not None:
            v = self.interp.const(tn.value, cls.env)
            tablename = v if isinstance(v, str) else None
        # columns of mixins and abstract bases, all the way up (not a mapped parent's under joined
        # inheritance: those columns live in the parent's table). SQLAlchemy's declarative places
        # them after the class's own, in the bases' order; SQLModel, a Pydantic model, before them
        own_table = tn is not None
        bases = self._column_bases(cls, own_table)
        inherited: list[Column] = []
        seen: set[str] = set()
        for bv in bases:
            for f in bv.fact.fields:
                col = self.column(f.name, f.annotation, f.value, f.pos.line, f.pos.col, bv.env, kind)
                if col and col.name not in seen:
                    inherited.append(col)
                    seen.add(col.name)
        own: list[Column] = []
        for f in cls.fact.fields:
            col = self.column(f.name, f.annotation, f.value, f.pos.line, f.pos.col, cls.env, kind)
            if col is not None:
                own = [c for c in own if c.name != col.name] + [col]
        names = {c.name for c in own}
        if kind == "sqlmodel":
            columns = [c for c in inherited if c.name not in names] + own
        else:
            columns = own + [c for c in inherited if c.name not in names]
        uniques, indexes, pks, unknown = self.table_args(cls)
        fkcs, fk_groups = self.fk_constraints(cls)
        if fkcs:
            columns = [replace(c, foreign_key=c.foreign_key or fkcs[c.name][0], ondelete=c.ondelete or fkcs[c.name][1])
                       if c.name in fkcs else c for c in columns]
        rels: dict[str, Relationship] = {}
        for bv in bases:
            for f in bv.fact.fields:
                r = self.relationship(f.name, f.annotation, f.value, f.pos.line, bv.env)
                if r is not None:
                    rels.setdefault(r.name, r)
        for f in cls.fact.fields:
            r = self.relationship(f.name, f.annotation, f.value, f.pos.line, cls.env)
            if r is not None:
                rels[r.name] = r
        return Table(cls.qualname, cls.fact.name, tablename, kind, path, cls.fact.pos.line, tuple(columns),
                     tuple(uniques), tuple(indexes), tuple(pks), unknown, self.open_bases(cls),
                     tuple(rels.values()), tuple(fk_groups))

    def _column_bases(self, cls: VClass, own_table: bool) -> list[VClass]:
        """The project classes whose columns ``cls``'s table gets: its bases and theirs, depth first
        in declaration order, not through a base with a ``__tablename__`` of its own when ``cls``
        has one too (joined inheritance)."""
        out: list[VClass] = []
        seen: set[int] = {id(cls)}

        def visit(c: VClass, depth: int) -> None:
            if depth > 12:
                return
            for b in c.fact.bases:
                bv = self.interp.eval(b, c.env)
                if isinstance(bv, VInst) and isinstance(bv.cls, VExt) and bv.cls.qualname.endswith(
                        "declarative_base") and bv.call is not None and bv.env is not None:
                    # ``Base = declarative_base(cls=Mixin)``: every model of ``Base`` gets the mixin's columns
                    given = bv.call.kwarg("cls")
                    bv = self.interp.eval(given, bv.env) if given is not None else bv
                if not isinstance(bv, VClass) or id(bv) in seen:
                    continue
                if own_table and bv.fact.field("__tablename__") is not None:
                    continue
                seen.add(id(bv))
                out.append(bv)
                visit(bv, depth + 1)

        visit(cls, 0)
        return out

    def fk_constraints(self, cls: VClass) -> tuple[dict[str, tuple[str, str | None]], list[tuple[str, ...]]]:
        """``ForeignKeyConstraint(["col"], ["parents.id"], ondelete=...)`` in the class's own literal
        ``__table_args__``: column name -> (target, ondelete), and each constraint's column group."""
        ta = cls.fact.field("__table_args__")
        if ta is None or not isinstance(ta.value, Seq):
            return {}, []
        out: dict[str, tuple[str, str | None]] = {}
        groups: list[tuple[str, ...]] = []
        for item in ta.value.items:
            if not isinstance(item, Call) or render(item.func).split(".")[-1] != "ForeignKeyConstraint":
                continue
            if len(item.args) < 2 or not isinstance(item.args[0], Seq) or not isinstance(item.args[1], Seq):
                continue
            od = self.interp.const(item.kwarg("ondelete"), cls.env) if item.kwarg("ondelete") is not None else None
            group: list[str] = []
            for c, t in zip(item.args[0].items, item.args[1].items):
                name = self._column_name(c, 0)
                if name:
                    out[name] = (self.fk_target(t, cls.env), od.upper() if isinstance(od, str) else None)
                    group.append(name)
            if group:
                groups.append(tuple(group))
        return out, groups

    def relationship(self, name: str, annotation: Expr | None, value: Expr | None, line: int,
                     env: Env) -> Relationship | None:
        """A ``relationship(...)`` / ``Relationship(...)`` attribute: its target class, whether it is a
        collection, and how it is joined."""
        if not isinstance(value, Call):
            return None
        fname = render(value.func).split(".")[-1]
        if fname not in ("relationship", "Relationship"):
            return None
        target = ""
        if value.args:
            a = value.args[0]
            v = self.interp.eval(a, env)
            if isinstance(v, VClass):
                target = v.fact.name
            elif isinstance(a, Const) and isinstance(a.value, str):
                target = a.value
            else:
                target = render(a)
        ann = render(annotation) if annotation is not None else ""
        if not target and annotation is not None:
            inner = annotation
            if isinstance(inner, Subscript) and render(inner.value).split(".")[-1] == "Mapped" and inner.items:
                inner = inner.items[0]
            t = render(inner).strip("'\"")
            for wrapper in ("list[", "List[", "set[", "Set[", "Optional[", "typing.Optional[", "typing.List["):
                if t.startswith(wrapper) and t.endswith("]"):
                    t = t[len(wrapper):-1]
            t = t.split("|")[0].strip().strip("'\"").strip()
            target = t
        target = target.strip("'\"").split(".")[-1]
        uselist: bool | None = None
        ul = value.kwarg("uselist")
        if ul is not None:
            c = self.interp.const(ul, env)
            uselist = c if isinstance(c, bool) else None
        elif ann:
            base = ann.replace("typing.", "")
            if any(w in base for w in ("list[", "List[", "set[", "Set[", "Sequence[", "DynamicMapped[", "WriteOnlyMapped[")):
                uselist = True
            elif base.startswith("Mapped["):
                uselist = False

        def text(k: str) -> str:
            e = value.kwarg(k)
            if e is None:
                return ""
            c = self.interp.const(e, env)
            return c if isinstance(c, str) else render(e)

        backref = None
        br = value.kwarg("backref")
        if br is not None:
            if isinstance(br, Call) and br.args:
                br = br.args[0]
            c = self.interp.const(br, env)
            backref = c if isinstance(c, str) else render(br)
        sec = value.kwarg("secondary")
        secondary = None
        if sec is not None:
            c = self.interp.const(sec, env)
            secondary = c if isinstance(c, str) else render(sec)
        bp = text("back_populates") or None
        return Relationship(name, target, uselist, bp, backref, text("foreign_keys"), text("primaryjoin"),
                            secondary, line, text("remote_side"))

    def open_bases(self, cls: VClass) -> bool:
        """Whether some base in ``cls``'s hierarchy is unresolved, or a class outside the project that is
        not a declarative base (a library mixin may declare the primary key)."""
        for b in self.interp.hierarchy(cls)[1]:
            if isinstance(b, VExt):
                if b.qualname not in SQLA_BASES and b.qualname not in CLOSED_EXTERNAL_BASES:
                    return True
            elif isinstance(b, VInst) and isinstance(b.cls, VExt):
                if b.cls.qualname + "()" not in SQLA_BASES and not b.cls.qualname.endswith("declarative_base"):
                    return True
            else:
                return True
        return False

    def _mro(self, cls: VClass) -> list[VClass]:
        """``cls`` and its project bases, depth first in declaration order."""
        return self.interp.hierarchy(cls)[0]

    def table_args(self, cls: VClass) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], list[tuple[str, ...]], bool]:
        """Unique, index and primary-key column groups of ``__table_args__`` (the class's own or the first
        base's that declares it, as attribute lookup finds it; a ``declared_attr`` whose returns are
        literal sequences too), and whether some of it could not be read."""
        uniques: list[tuple[str, ...]] = []
        indexes: list[tuple[str, ...]] = []
        pks: list[tuple[str, ...]] = []
        items: list[Expr] = []
        unknown = False
        own_table = cls.fact.field("__tablename__") is not None
        for c in self._mro(cls):
            ta = c.fact.field("__table_args__")
            method = next((m for m in c.fact.methods if m.name == "__table_args__"), None)
            if c is not cls and own_table and ta is not None and c.fact.field("__tablename__") is not None:
                # joined inheritance: a mapped parent's plain ``__table_args__`` belong to the parent's
                # table (SQLAlchemy takes them from mixins and ``declared_attr`` only)
                continue
            if ta is not None:
                if isinstance(ta.value, Seq):
                    items.extend(ta.value.items)
                elif not isinstance(ta.value, DictExpr):
                    unknown = True  # built by a call or taken from elsewhere
                break
            if method is not None:
                rets = [r.value for r in method.scope.returns]
                if not rets:
                    unknown = True
                for r in rets:
                    if isinstance(r, Seq):
                        items.extend(r.items)
                    elif not isinstance(r, DictExpr):
                        unknown = True
                break
        for item in items:
            if isinstance(item, DictExpr):
                continue
            if not isinstance(item, Call):
                unknown = True  # a name or a starred expression: not visible here
                continue
            fname = item.func.attr if isinstance(item.func, Attr) else item.func.id if isinstance(item.func, Name) else ""
            if item.starred and fname in ("UniqueConstraint", "Index", "PrimaryKeyConstraint"):
                unknown = True
                continue
            if fname == "UniqueConstraint":
                uniques.append(self.index_columns(item.args))
            elif fname == "Index":
                cols = self.index_columns(item.args[1:])
                u = item.kwarg("unique")
                (uniques if isinstance(u, Const) and u.value is True else indexes).append(cols)
            elif fname == "PrimaryKeyConstraint":
                pks.append(self.index_columns(item.args))
        return uniques, indexes, pks, unknown

    @classmethod
    def index_columns(cls, args: tuple[Expr, ...]) -> tuple[str, ...]:
        """The column names an index or constraint lists: names as strings, ``Column("email")``,
        ``func.lower(Column("email"))`` (an expression index covers the column it reads), ``Model.col``,
        ``Model.__table__.c.col``."""
        out: list[str] = []
        for a in args:
            name = cls._column_name(a, 0)
            if name:
                out.append(name)
        return tuple(out)

    @classmethod
    def _column_name(cls, e: Expr, depth: int) -> str | None:
        if depth > 4:
            return None
        if isinstance(e, Const) and isinstance(e.value, str):
            return e.value
        if isinstance(e, Attr):
            return e.attr
        if isinstance(e, Call):
            fn = render(e.func).split(".")[-1]
            if fn in ("Column", "column", "literal_column") and e.args:
                return cls._column_name(e.args[0], depth + 1) if isinstance(e.args[0], Const) else None
            if isinstance(e.func, Attr) and (e.func.attr == "collate" or (e.func.attr in ("desc", "asc") and not e.args)):
                return cls._column_name(e.func.value, depth + 1)  # ``Model.col.desc()``
            if fn in ("desc", "asc", "collate") or render(e.func).startswith(("func.", "sa.func.", "sqlalchemy.func.")):
                return next((n for n in (cls._column_name(x, depth + 1) for x in e.args) if n), None)
        return None

    def module_indexes(self, tables: list[Table]) -> list[Table]:
        """Tables with the indexes declared at module level after their class: ``Index("ix", Model.col)``
        or ``Index("ix", Model.__table__.c.col)`` (SQLAlchemy attaches them to the column's table)."""
        by_name = {t.qualname: i for i, t in enumerate(tables)}
        extra: dict[int, tuple[list[tuple[str, ...]], list[tuple[str, ...]]]] = {}
        for name in sorted(self.interp.modules):
            facts = self.interp.modules[name]
            calls = [c.call for c in facts.scope.calls]
            calls.extend(a.value for a in facts.scope.assigns if isinstance(a.value, Call))
            env = Env(name)
            for call in calls:
                fname = call.func.attr if isinstance(call.func, Attr) else call.func.id if isinstance(call.func, Name) else ""
                if fname not in ("Index", "UniqueConstraint") or not call.args:
                    continue
                args = call.args[1:] if fname == "Index" else call.args
                owner = next((o for o in (self._owner(a, env) for a in args) if o), None)
                if owner is None or owner not in by_name:
                    continue
                cols = self.index_columns(args)
                u = call.kwarg("unique")
                unique = fname == "UniqueConstraint" or (isinstance(u, Const) and u.value is True)
                groups = extra.setdefault(by_name[owner], ([], []))
                groups[0 if unique else 1].append(cols)
        out = list(tables)
        for i, (uniques, indexes) in extra.items():
            t = out[i]
            out[i] = replace(t, unique_groups=t.unique_groups + tuple(uniques),
                             index_groups=t.index_groups + tuple(indexes))
        return out

    def _owner(self, e: Expr, env: Env) -> str | None:
        """The mapped class a ``Model.col`` / ``Model.__table__.c.col`` argument names."""
        for _ in range(4):  # ``func.lower(Model.col)``, ``Model.col.desc()``
            if not isinstance(e, Call):
                break
            if isinstance(e.func, Attr) and e.func.attr in ("desc", "asc", "collate", "lower"):
                e = e.func.value
            elif e.args:
                e = e.args[0]
            else:
                return None
        if not isinstance(e, Attr):
            return None
        base = e.value
        if isinstance(base, Attr) and base.attr == "c" and isinstance(base.value, Attr) and base.value.attr == "__table__":
            base = base.value.value
        if not isinstance(base, (Name, Attr)):
            return None
        v = self.interp.eval(base, env)
        return v.qualname if isinstance(v, VClass) else None

    def fk_target(self, e: Expr, env: Env) -> str:
        """A foreign key's target as the code says it: ``"users.id"`` (also through a constant), or the
        expression (``User.id``) when it names a column object."""
        v = self.interp.eval(e, env)
        if isinstance(v, VConst) and isinstance(v.value, str):
            return v.value
        return render(e)

    def _alias_column_flags(self, item: Expr, env: Env) -> dict[str, bool]:
        """``primary_key``/``unique``/``index`` that the ``mapped_column(...)`` in an ``Annotated`` alias
        sets; one chosen at runtime between two columns sets a flag when either of them does (the rules
        that read these flags warn when one is missing, so an undecided one counts as present)."""
        ann = self.interp.annotation(item, env)
        if not isinstance(ann, VAnnotated):
            return {}
        groups = [(m,) for m in ann.meta if isinstance(m, VInst)] + list(ann.either)
        flags: dict[str, bool] = {}
        for group in groups:
            for m in group:
                if not (isinstance(m, VInst) and m.call is not None
                        and ext_name(m.cls).split(".")[-1] in ("mapped_column", "Column")):
                    continue
                for k in ("primary_key", "unique", "index"):
                    e = m.call.kwarg(k)
                    if e is not None:
                        flags[k] = flags.get(k, False) or self.interp.const(e, m.env or env) is True
        return flags

    def column(self, name: str, annotation: Expr | None, value: Expr | None, line: int, col: int, env: Env,
               kind: str) -> Column | None:
        if name.startswith("__") or name == "model_config":
            return None
        call = value if isinstance(value, Call) else None
        fname = ""
        if call is not None:
            fname = call.func.attr if isinstance(call.func, Attr) else call.func.id if isinstance(call.func, Name) else ""
        is_mapped = isinstance(annotation, Subscript) and render(annotation.value).split(".")[-1] == "Mapped"
        if kind == "sqlalchemy":
            if fname not in ("mapped_column", "Column") and not is_mapped:
                return None
            if fname == "relationship":
                return None
        else:  # sqlmodel
            if annotation is None:
                return None
            if fname == "Relationship":
                return None
            ann_text = render(annotation)
            if "ClassVar" in ann_text:
                return None
        type_text = ""
        fk = None
        ondelete: str | None = None
        pk = unique = index = False
        nullable: bool | None = None
        if call is not None and fname in ("mapped_column", "Column"):
            for a in call.args:
                if isinstance(a, Call):
                    fn = render(a.func).split(".")[-1]
                    if fn == "ForeignKey" and a.args:
                        fk = self.fk_target(a.args[0], env)
                        od = a.kwarg("ondelete")
                        odv = self.interp.const(od, env) if od is not None else None
                        ondelete = odv.upper() if isinstance(odv, str) else None
                    elif not type_text:
                        type_text = render(a)
                elif isinstance(a, (Name, Attr)) and not type_text:
                    type_text = render(a)
                elif isinstance(a, Const) and isinstance(a.value, str) and fname == "Column" and not type_text:
                    pass
        if is_mapped and isinstance(annotation, Subscript) and annotation.items:
            # ``id: Mapped[pk_bigint]`` with ``pk_bigint = Annotated[int, mapped_column(primary_key=True)]``: the
            # alias's column merges under the attribute's own ``mapped_column(...)``, which wins where both say
            own = {k for k, _ in call.kwargs} if call is not None and fname in ("mapped_column", "Column") else set()
            for k, got in self._alias_column_flags(annotation.items[0], env).items():
                if k in own:
                    continue
                if k == "primary_key":
                    pk = got
                elif k == "unique":
                    unique = got
                else:
                    index = got
        if call is not None:
            for k, e in call.kwargs:
                v = self.interp.const(e, env)
                if k == "primary_key":
                    pk = v is True
                elif k == "unique":
                    unique = v is True
                elif k == "index":
                    index = v is True
                elif k == "nullable":
                    nullable = v if isinstance(v, bool) else None
                elif k == "foreign_key":
                    fk = self.fk_target(e, env)
                elif k == "ondelete" and isinstance(v, str):
                    ondelete = v.upper()  # SQLModel ``Field(foreign_key=..., ondelete="CASCADE")``
                elif k == "sa_type" and not type_text:
                    type_text = render(e)
                elif k == "sa_column" and isinstance(e, Call):
                    inner = self.column(name, None, e, line, col, env, "sqlalchemy")
                    if inner is not None:
                        return inner
        if is_mapped and isinstance(annotation, Subscript) and annotation.items:
            inner_ann = render(annotation.items[0])
            if not type_text:
                type_text = inner_ann
            if nullable is None:
                nullable = "Optional" in inner_ann or "None" in inner_ann
        elif kind == "sqlmodel" and annotation is not None:
            ann = render(annotation)
            if not type_text:
                type_text = ann
            if nullable is None:
                nullable = "Optional" in ann or "None" in ann
        return Column(name, type_text, nullable, unique, index, pk, fk, line, col, ondelete)
