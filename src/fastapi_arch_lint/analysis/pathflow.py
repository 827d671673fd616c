"""What a path or URL built from request data can reach, for the taint walk (``taint.py``): the
components of a join (``base / "a" / name``), text glued around a value (``f"{name}.json"``), and the
code's own text in front of request data passed into a function (``Source.lead``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from fastapi_arch_lint.model.expr import Attr, BinOp, Call, Cond, Const, Expr, FStr, Name

if TYPE_CHECKING:
    from fastapi_arch_lint.analysis.taint import Source

# stands for a server-side value (a setting, a constant) in ``Source.lead``
SERVER_TEXT = "\x00"

# functions joining path components (their last argument ends the path)
PATH_JOINERS = frozenset({"os.path.join", "posixpath.join", "pathlib.Path", "pathlib.PurePath",
                          "pathlib.PurePosixPath"})


def flatten_plus(e: Expr) -> list[str | Expr]:
    """``a + "/" + b`` as its pieces, literals as text."""
    if isinstance(e, BinOp) and e.op == "+":
        return flatten_plus(e.left) + flatten_plus(e.right)
    if isinstance(e, Const) and isinstance(e.value, str):
        return [e.value]
    if isinstance(e, FStr):
        return list(e.parts)
    return [e]


def flatten_div(e: Expr) -> list[Expr]:
    """``base / "a" / name / "x"`` as its components (``/`` groups to the left)."""
    parts: list[Expr] = []
    while isinstance(e, BinOp) and e.op == "/" and len(parts) < 50:
        parts.append(e.right)
        e = e.left
    parts.append(e)
    return parts[::-1]


def drops_dots(call: Call) -> bool:
    """``x.replace(".", "")`` or ``x.split(".")[...]``: the result holds no ``.``."""
    func = call.func
    if not isinstance(func, Attr) or not call.args or not isinstance(call.args[0], Const):
        return False
    if func.attr == "replace" and len(call.args) >= 2 and isinstance(call.args[1], Const):
        return call.args[0].value == "." and call.args[1].value == ""
    return func.attr in ("split", "rsplit") and call.args[0].value == "."


class PathPieces:
    """How joins and formatting change what a value can reach. ``Flow`` inherits them and provides what
    they use: ``env``, ``assigns``, ``_taint``."""

    # -- what a path can reach ---------------------------------------------------
    def _join(self, parts: list[Expr], line: int, kind: str) -> Source | None:
        """``os.path.join(a, b, c)`` / ``a / b`` / ``a.joinpath(b)``: a ``{name}`` segment is harmless
        only as the last component (``..`` then names a directory, which no file call opens); with
        anything after it (``base / name / "data.json"``) it climbs a level, unless the components the
        code puts before it keep the path below the first one and the path ends in the code's own
        component (``BASE / "pages" / name / "index.html"``: reach "inside")."""
        found: Source | None = None
        depth, inside = 0, True  # levels below the first component; whether no ``..`` climbs above it
        for i, p in enumerate(parts):
            last = i == len(parts) - 1
            s = self._taint(p, line, kind)
            if s is None or s.shape == "request":
                if i > 0:
                    step = self._levels(p, line)
                    depth += step if step is not None else 0
                    inside = inside and step is not None
                continue
            s = s.value()
            if i == 0 and s.reach == "inside":
                depth = s.depth
            elif i > 0 and s.reach == "segment" and not last:
                depth -= 1
                inside = inside and depth >= 0
            else:
                inside = False
            if not last and s.reach == "segment":
                s = replace(s, reach="any")
            if found is None or (found.reach != "any" and s.reach == "any"):
                found = s
        if found is not None and inside:
            return replace(found, reach="inside", depth=depth)
        if found is not None and found.reach == "inside":
            return replace(found, reach="any")
        return found

    def _levels(self, e: Expr, line: int) -> int | None:
        """How many levels a component the code writes descends (``"a/b"``: 2; ``"index" + ext``: 1); None
        when it may climb or restart (``".."``, ``"/etc"``) or may be anything (a bare setting)."""
        texts = self._texts(e, line)
        if not texts:
            return None
        counts = []
        for t in texts:
            names = [x for x in t.split("/") if x not in ("", ".")]
            if t.startswith(("/", SERVER_TEXT)) or ".." in names:
                return None
            counts.append(len(names))
        return min(counts)

    def _texts(self, e: Expr | None, line: int, _depth: int = 0) -> set[str] | None:
        """The strings a value the code builds may be, a server-side part as ``SERVER_TEXT`` (a few at most)."""
        if e is None or _depth > 6:
            return None
        d = _depth + 1
        if isinstance(e, Const):
            return {e.value} if isinstance(e.value, str) else None
        if isinstance(e, Name):
            defs = [a for a in self.assigns.get(e.id, ()) if a.pos.line < line]
            if not defs or any(a.augmented or a.value is None for a in defs):
                return None
            out: set[str] = set()
            for a in defs:
                t = self._texts(a.value, a.pos.line, d)
                if t is None:
                    return None
                out |= t
            return out if len(out) <= 16 else None
        if isinstance(e, Cond):
            body, orelse = self._texts(e.body, line, d), self._texts(e.orelse, line, d)
            return body | orelse if body is not None and orelse is not None else None
        if isinstance(e, (FStr, BinOp)) and (isinstance(e, FStr) or e.op == "+"):
            acc = {""}
            for p in (e.parts if isinstance(e, FStr) else flatten_plus(e)):
                if isinstance(p, str):
                    acc = {a + p for a in acc}
                    continue
                if self._taint(p, line, "") is not None:
                    return None
                t = self._texts(p, line, d) or {SERVER_TEXT}
                acc = {a + b for a in acc for b in t}
                if len(acc) > 16:
                    return None
            return acc
        return None

    def _pieces(self, parts: list[str | Expr], line: int, kind: str) -> Source | None:
        """An f-string or ``+`` chain building a path: text glued to a value changes what it can reach.

        A segment with a literal beside it that is not ``/`` (``f"{name}.json"``) is no longer ``..``;
        a segment followed by ``/`` climbs; a dot-free value after a literal cannot be absolute."""
        found: Source | None = None
        for i, p in enumerate(parts):
            if isinstance(p, str):
                continue
            s = self._taint(p, line, kind)
            if s is None or s.shape == "request":
                continue
            s = s.value()
            before = "".join(x for x in parts[:i] if isinstance(x, str)) if all(isinstance(x, str) for x in parts[:i]) else "?"
            prev = parts[i - 1] if i > 0 and isinstance(parts[i - 1], str) else ""
            nxt = parts[i + 1] if i + 1 < len(parts) and isinstance(parts[i + 1], str) else ""
            after = "".join(x if isinstance(x, str) else "?" for x in parts[i + 1:])
            if s.reach == "inside" and (before or prev or ".." in after):
                s = replace(s, reach="any")  # ``f"{path}/../x"``: text beside it may climb
            if s.reach == "segment":
                if "/" in after:
                    s = replace(s, reach="any")
                elif (prev and not prev.endswith("/")) or (nxt and not nxt.startswith("/")):
                    continue  # ``f"{name}.json"``: never ``..`` alone
            elif s.reach == "nodots" and (before or prev):
                continue  # ``f"original.{ext}"`` with the dots removed: neither ``..`` nor absolute
            if found is None or (found.reach != "any" and s.reach == "any"):
                found = s
        return found

    def lead(self, e: Expr | None, line: int, _depth: int = 0) -> str | None:
        """The text the code puts in front of the request data in ``e`` (``SERVER_TEXT`` for a server-side
        value), through local assignments and the leads of the parameters; None when request data may
        come first."""
        if e is None or _depth > 8:
            return None
        d = _depth + 1
        if isinstance(e, Name):
            defs = [a for a in self.assigns.get(e.id, ()) if a.pos.line < line]
            if not defs:
                src = self.env.get(e.id)
                return src.lead if src is not None else None
            leads = [self.lead(a.value, a.pos.line, d) if a.value is not None and not a.augmented else None for a in defs]
            if any(x is None for x in leads):
                return None
            common = leads[0] or ""
            for x in leads[1:]:
                while x is not None and not x.startswith(common):
                    common = common[:-1]
            return common or None
        if isinstance(e, FStr):
            pieces: list[str | Expr] = list(e.parts)
        elif isinstance(e, BinOp) and e.op == "+":
            pieces = flatten_plus(e)
        else:
            return None
        text = ""
        for p in pieces:
            if isinstance(p, str):
                text += p
            elif self._taint(p, line, "") is None:
                text += SERVER_TEXT
            elif not text:
                return self.lead(p, line, d)
            else:
                return text
        return text or None
