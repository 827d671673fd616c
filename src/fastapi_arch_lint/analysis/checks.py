"""What a check on a request value lets through, for the taint walk (``taint.py``).

- anchored ``pattern=``s of word characters (``^[a-z0-9_-]+$``) and of dotted tokens (``^[\\w.]+$``);
- Pydantic field validators (``@validator("f")``, ``@field_validator("f")``) that raise unless such a
  pattern matches, directly or through a project predicate that returns the match;
- the checks a function makes before a sink (``CheckedValues``, a part of ``taint.Flow``): an allowlist
  (``if x not in ALLOWED: raise``), a ``str`` character check (``isidentifier``), a project predicate
  whose failure raises, a lookup for equality the function gives up without
  (``row = fetchone("... WHERE k = :k", {"k": x})`` then ``if not row: raise``).
"""

from __future__ import annotations

import re

from fastapi_arch_lint.analysis.index import pydantic_model
from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import (
    Attr, BoolOp, Call, Compare, Const, DictExpr, Expr, FStr, Name, Not, Seq, dotted, render, walk,
)
from fastapi_arch_lint.model.facts import AssignFact, CompareFact, GuardFact

# ``str`` checks whose success leaves letters and digits (and ``_``) only
CHAR_CLASS_CHECKS = frozenset({"isidentifier", "isalnum", "isalpha", "isdigit", "isdecimal", "isnumeric"})

_PATTERN_TOKEN = re.compile(r"\[(?:[A-Za-z0-9_-]|\\[wd])+\]|\\[wd]|[A-Za-z0-9_-]")
_PATTERN_DOTTED = re.compile(r"\[(?:[A-Za-z0-9_.-]|\\[wd.])+\]|\\[wd.]|[A-Za-z0-9_-]")
_PATTERN_QUANT = re.compile(r"[+*?]|\{\d+(?:,\d*)?\}")


def pattern_is_dotted_token(pattern: object) -> bool:
    """An anchored pattern that admits letters, digits, ``_``, ``-`` and ``.`` (``^[a-z0-9.]+$``, a
    version or a file name): no quote, space, shell metacharacter or ``/``, but maybe ``..`` and a host."""
    return _anchored_body_matches(pattern, _PATTERN_DOTTED)


def pattern_confines(pattern: object) -> bool:
    """An anchored ``pattern=`` that admits only letters, digits, ``_`` and ``-`` (``^[a-z0-9-]{1,40}$``).

    Such a value cannot hold a quote, a shell metacharacter, a dot, a slash or a host separator,
    so it is no longer request *text* for any sink.
    """
    return _anchored_body_matches(pattern, _PATTERN_TOKEN)


def _anchored_body_matches(pattern: object, token: re.Pattern[str]) -> bool:
    if not isinstance(pattern, str):
        return False
    body = pattern
    for head in ("^", "\\A"):
        if body.startswith(head):
            body = body[len(head):]
            break
    else:
        return False
    for tail in ("$", "\\Z", "\\z"):
        if body.endswith(tail) and not body.endswith("\\" + tail):
            body = body[: -len(tail)]
            break
    else:
        return False
    return bool(body) and _sequence_end(body, 0, token) == len(body)


def _sequence_end(body: str, i: int, token: re.Pattern[str], _depth: int = 0) -> int:
    """Where a run of allowed tokens, groups (``(-[a-z]{2})?``, ``(?:a|b)``) and quantifiers starting
    at ``i`` ends: at the end of ``body``, at a ``)`` or ``|`` closing a group, or at the first thing
    the pattern must not admit (``-1`` then)."""
    while i < len(body) and body[i] not in ")|":
        if body[i] == "(" and _depth < 4:
            i += 3 if body.startswith("(?:", i) else 1
            while True:
                i = _sequence_end(body, i, token, _depth + 1)
                if i < 0 or i >= len(body):
                    return -1
                if body[i] == ")":
                    i += 1
                    break
                i += 1  # ``|``: the next alternative
        else:
            m = token.match(body, i)
            if m is None:
                return -1
            i = m.end()
        q = _PATTERN_QUANT.match(body, i)
        if q is not None:
            i = q.end()
    return i if _depth or i == len(body) else -1


def confining_marker(e: Expr | None) -> bool:
    """``Query(pattern="^[a-z0-9-]+$")`` / ``Field(regex=...)`` with a confining pattern."""
    if not isinstance(e, Call):
        return False
    for key in ("pattern", "regex"):
        v = e.kwarg(key)
        if isinstance(v, Const) and pattern_confines(v.value):
            return True
    return False


REGEX_TESTS = frozenset({"re.match", "re.fullmatch", "re.search"})


def validated_shape(app: AppModel, model: str, field_name: str) -> str | None:
    """What a field validator of ``model`` (``@validator("f")``, ``@field_validator("f")``, its bases' too)
    lets through: ``"token"`` when it raises for every value that fails an anchored pattern of letters,
    digits, ``_`` and ``-`` (``if not re.fullmatch(r"^[a-z0-9_]+$", v): raise ValueError``, also through a
    project predicate that returns such a match) or a ``str`` check of letters and digits (``isidentifier``);
    ``"dotted"`` when the pattern also admits ``.``; ``"?the validator `M.f`"`` when a validator checks it
    with a project predicate the analysis cannot read; None otherwise."""
    return memo(app, _validated_shapes).get((model, field_name))


def _validated_shapes(app: AppModel) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for m in app.models:
        seen: set[str] = set()
        todo = [m.qualname]
        while todo:
            q = todo.pop()
            pm = pydantic_model(app, q)
            if pm is None or q in seen:
                continue
            seen.add(q)
            todo.extend(pm.bases)
            for name in pm.validators:
                fn = app.functions.get(f"{q}.{name}")
                if fn is None:
                    continue
                shape = _validator_shape(app, fn)
                if shape is None and _calls_a_predicate(app, fn):
                    shape = f"?the validator `{pm.name}.{name}`"
                if shape is None:
                    continue
                for field_name in _validated_fields(fn):
                    for f in m.fields:
                        key = (m.qualname, f.name)
                        if field_name not in (f.name, "*"):
                            continue
                        had = out.get(key)  # a shape read beats one not read; "token" beats "dotted"
                        if had is None or (had.startswith("?") and not shape.startswith("?")) or (
                                had == "dotted" and shape == "token"):
                            out[key] = shape
    return out


def _calls_a_predicate(app: AppModel, fn: Function) -> bool:
    """A validator that raises under a test handing its value to a project function or a regex (``if not
    acceptable(v): raise ValueError``): it checks the value in a way the shapes above do not capture."""
    value = next((p.name for p in fn.fact.params if p.kind == "positional" and p.name not in ("cls", "self")), None)
    if value is None:
        return False
    targets = {(s.call.line, s.call.col): t for s, t in fn.calls if t}
    return any(isinstance(c, Call) and any(isinstance(a, Name) and a.id == value for a in c.args)
               and is_predicate(app, targets.get((c.line, c.col)))
               for r in fn.fact.scope.raises for _, test in r.conds for c in walk(test))


def is_predicate(app: AppModel, target: str | None) -> bool:
    """A project function (or a regex test) that may judge a value; one that asks whether a file or row
    exists (``exists``, ``path_exists``) judges where it points, not what it holds."""
    if not target or "exist" in target.rsplit(".", 1)[-1].lower():
        return False
    return target in app.functions or target in REGEX_TESTS


def _validated_fields(fn: Function) -> list[str]:
    return [a.value for d in fn.fact.decorators if isinstance(d.expr, Call)
            and (dotted(d.expr.func) or "").rsplit(".", 1)[-1] in ("validator", "field_validator")
            for a in d.expr.args if isinstance(a, Const) and isinstance(a.value, str)]


def _validator_shape(app: AppModel, fn: Function) -> str | None:
    """The narrowest shape a validator's top-level ``if ...: raise`` checks enforce on its value parameter."""
    value = next((p.name for p in fn.fact.params if p.kind == "positional" and p.name not in ("cls", "self")), None)
    if value is None:
        return None
    best: str | None = None
    for r in fn.fact.scope.raises:
        if len(r.conds) != 1:
            continue
        negated, test = r.conds[0]
        fails = not negated  # the raise runs when ``test`` is ``fails``
        while isinstance(test, Not):
            test, fails = test.operand, not fails
        shape = _check_shape(app, fn, test, fails, value)
        if shape == "token" or (shape == "dotted" and best is None):
            best = shape
    return best


def _check_shape(app: AppModel, fn: Function, test: Expr, fails: bool, value: str, _depth: int = 0) -> str | None:
    """The shape of ``value`` when the check ``test`` is not ``fails`` (the branch that does not raise)."""
    if isinstance(test, Compare) and isinstance(test.right, Const) and test.right.value is None \
            and test.op in ("is", "is not", "==", "!="):
        return _check_shape(app, fn, test.left, fails != (test.op in ("is", "==")), value, _depth)  # ``m is None`` is ``not m``
    if fails or not isinstance(test, Call) or _depth > 2:
        return None
    func = test.func
    if isinstance(func, Attr) and func.attr in CHAR_CLASS_CHECKS and not test.args \
            and isinstance(func.value, Name) and func.value.id == value:
        return "token"
    site = next((t for s, t in fn.calls if s.call.line == test.line and s.call.col == test.col), None)
    if site in REGEX_TESTS:
        if len(test.args) != 2 or test.kwargs or not isinstance(test.args[1], Name) or test.args[1].id != value \
                or not isinstance(test.args[0], Const):
            return None
        pattern = test.args[0].value
        return "token" if pattern_confines(pattern) else "dotted" if pattern_is_dotted_token(pattern) else None
    callee = app.functions.get(site) if site else None
    if callee is None or len(callee.fact.scope.returns) != 1:
        return None
    # ``if not is_slug(v): raise``: the predicate's one ``return`` is the check, on its own parameter
    params = [p.name for p in callee.fact.params if p.kind == "positional"]
    at = next((i for i, a in enumerate(test.args) if isinstance(a, Name) and a.id == value), None)
    ret = callee.fact.scope.returns[0]
    if at is None or at >= len(params) or ret.value is None or ret.conds:
        return None
    inner, holds = ret.value, True
    if isinstance(inner, Call) and dotted(inner.func) == "bool" and len(inner.args) == 1:
        inner = inner.args[0]
    return _check_shape(app, callee, inner, not holds, params[at], _depth + 1)


def names_in(expr: Expr | None) -> set[str]:
    return {e.id for e in walk(expr) if isinstance(e, Name)}


def str_set(expr: Expr | None) -> frozenset[str] | None:
    """``{"a", "b"}`` / ``["a"]`` / ``{"a": True}`` as a set of names, else None."""
    if isinstance(expr, Seq):
        vals = [i.value for i in expr.items if isinstance(i, Const) and isinstance(i.value, str)]
        return frozenset(vals) if len(vals) == len(expr.items) else None
    if isinstance(expr, DictExpr):
        vals = [k.value for k in expr.keys if isinstance(k, Const) and isinstance(k.value, str)]
        return frozenset(vals) if len(vals) == len(expr.keys) else None
    return None


# query methods that return the row(s) found, or None / nothing when there is none
ROW_METHODS = frozenset({"fetchone", "fetch_one", "fetchrow", "fetchall", "fetch_all", "fetch", "first",
                         "one_or_none", "scalar_one_or_none"})


def _absent(name: str, negated: bool, test: Expr) -> bool:
    """Whether a branch under ``test`` (``negated`` in an ``else``) runs when ``name`` is empty or None:
    ``if not row:``, ``if row is None:``, ``if row: ... else:``."""
    holds = not negated
    while isinstance(test, Not):
        test, holds = test.operand, not holds
    if isinstance(test, Name) and test.id == name:
        return not holds
    if isinstance(test, Compare) and isinstance(test.left, Name) and test.left.id == name \
            and isinstance(test.right, Const) and test.right.value is None:
        return holds if test.op in ("is", "==") else (not holds if test.op in ("is not", "!=") else False)
    return False


class CheckedValues:
    """The checks of one function that clear a value before a line. ``Flow`` inherits them and provides
    what they use: ``app``, ``fn``, ``assigns``, ``target``, ``_taint``, ``is_constant``, ``string_parts``."""

    def _allowlisted(self, name: str, since: int, line: int) -> bool:
        """``if name not in ALLOWED: raise ...`` (or ``name = "default"``) between ``since`` and ``line``:
        after it the value is one of the code's own constants."""
        for g in self.fn.fact.guards:
            if not since <= g.pos.line < line:
                continue
            for negated, atom in g.tests:
                if not isinstance(atom, CompareFact) or not isinstance(atom.left, Name) or atom.left.id != name:
                    continue
                if atom.op not in ("in", "not in"):
                    continue
                if (atom.op, negated) in (("in", False), ("not in", True)):
                    if g.orelse_raises and len(g.tests) == 1:
                        return True  # ``if x in ALLOWED: ... else: raise``
                    if self._in_body(g, line) and self._conjoined(g) and isinstance(atom.right, Name) \
                            and self._taint(atom.right, g.pos.line, "") is None:
                        return True  # ``if x and x in ALLOWED_FILES: serve(x)``: inside the branch
                    continue
                if self._taint(atom.right, g.pos.line, "") is not None or isinstance(atom.right, (Const, FStr)):
                    continue  # ``x not in request.query_params`` / ``"/" not in x`` is no allowlist
                if g.body_raises and negated == (atom.op == "in"):
                    return True
                if any(a.value is not None and isinstance(a.value, Const) and g.pos.end_line < a.pos.line <= g.pos.end_line + 1
                       for a in self.assigns.get(name, ())):
                    return True  # ``if ext not in ALLOWED: ext = "jpg"``
        return False

    def _found_by(self, name: str, since: int, line: int) -> bool:
        """``row = db.fetchone("SELECT ... WHERE key = :k", {"k": name})`` or ``item = next((i for i in items if
        i.key == name), None)``, then ``if not row: raise`` (or ``return``), between ``since`` and ``line``: past
        the check the value equals a key the server holds, it is no longer text the client chose freely."""
        for a in self.fn.fact.scope.assigns:
            if not (since <= a.pos.line < line) or not a.target or "." in a.target or not isinstance(a.value, Call):
                continue
            if not (self._bound_lookup(a.value, name, a.pos.line) or self._equality_in(a, name)):
                continue
            if any(a.pos.line < r.pos.line < line and len(r.conds) == 1 and _absent(a.target, *r.conds[0])
                   for r in (*self.fn.fact.scope.raises, *self.fn.fact.scope.returns)):
                return True
        return False

    def _bound_lookup(self, call: Call, name: str, line: int) -> bool:
        """A query for rows (``fetchone``, ``.first()``...) whose constant SQL text compares a column with
        ``=`` to a placeholder that ``name`` is bound to."""
        func = call.func
        if not isinstance(func, Attr) or func.attr not in ROW_METHODS:
            return False
        if isinstance(func.value, Call) and isinstance(func.value.func, Attr) and not call.args:
            call = func.value  # ``db.execute(text(...), {...}).first()``
        if not call.args:
            return False
        sql_arg = call.args[0]
        if isinstance(sql_arg, Call) and sql_arg.args and (dotted(sql_arg.func) or "").rsplit(".", 1)[-1] == "text":
            sql_arg = sql_arg.args[0]
        if not self.is_constant(sql_arg, line):
            return False
        sql = " ".join(self.string_parts(sql_arg, line))
        for bound in (*call.args[1:], *(v for _, v in call.kwargs)):
            if isinstance(bound, DictExpr):
                for k, v in zip(bound.keys, bound.values):
                    if isinstance(v, Name) and v.id == name and isinstance(k, Const) and isinstance(k.value, str) \
                            and re.search(r"=\s*(:" + re.escape(k.value) + r"\b|%\(" + re.escape(k.value) + r"\)s)", sql):
                        return True
            elif isinstance(bound, Seq) and any(isinstance(i, Name) and i.id == name for i in bound.items):
                marks = re.findall(r"(=\s*)?(\?|%s|\$\d+)", sql)
                if marks and all(eq for eq, _ in marks):
                    return True  # every positional placeholder is compared with ``=``
        return False

    def _equality_in(self, a: AssignFact, name: str) -> bool:
        """``next((r for r in rows if r.key == name), None)``, ``.filter(Model.key == name).first()``: the
        value is compared with ``==`` to something the code holds, inside the assigned call."""
        for c in self.fn.fact.compares:
            if c.op != "==" or not a.pos.line <= c.pos.line <= a.pos.end_line:
                continue
            for this, other in ((c.left, c.right), (c.right, c.left)):
                if isinstance(this, Name) and this.id == name and not isinstance(other, Const) \
                        and name not in names_in(other) and self._taint(other, a.pos.line, "") is None:
                    return True
        return False

    def _in_body(self, g: GuardFact, line: int) -> bool:
        """``line`` holds a call of ``g``'s ``if`` branch (not of its ``else``)."""
        calls = self.fn.calls
        return any(calls[i][0].pos.line == line for i in g.body_calls if i < len(calls)) and not any(
            calls[i][0].pos.line == line for i in g.orelse_calls if i < len(calls))

    @staticmethod
    def _conjoined(g: GuardFact) -> bool:
        """The ``if``'s test is its operands joined by ``and`` (each must hold in the branch)."""
        return len(g.tests) == 1 or (isinstance(g.test, BoolOp) and g.test.op == "and"
                                     and len(g.test.values) == len(g.tests))

    def _char_checked(self, e: Expr, line: int) -> bool:
        """``if not x.isidentifier(): raise ...`` (``isalnum``, ``isdigit``...) before ``line``: after it the
        value holds letters, digits and ``_`` only: no ``/``, ``.``, quote or space."""
        text = render(e)
        for g in self.fn.fact.guards:
            if g.pos.line >= line or len(g.tests) != 1 or not g.body_raises:
                continue
            negated, atom = g.tests[0]
            if negated and isinstance(atom, Call) and isinstance(atom.func, Attr) \
                    and atom.func.attr in CHAR_CLASS_CHECKS and not atom.args and render(atom.func.value) == text:
                return True
        return False

    def _predicate(self, e: Expr, line: int) -> str | None:
        """``if not is_valid_slug(x): raise ...`` before ``line``, with a project predicate: ``"token"`` when
        it returns an anchored match of word characters (then ``x`` is no text), else its name: the value
        is checked in a way the analysis cannot read."""
        text = render(e)
        for g in self.fn.fact.guards:
            if g.pos.line >= line or len(g.tests) != 1 or not g.body_raises:
                continue
            negated, atom = g.tests[0]
            if not negated or not isinstance(atom, Call) or not any(render(a) == text for a in atom.args):
                continue
            target = self.target(atom)
            if not is_predicate(self.app, target):
                continue
            if isinstance(e, Name) and _check_shape(self.app, self.fn, atom, False, e.id) == "token":
                return "token"
            return f"`{target.rsplit('.', 1)[-1]}()`"
        return None
