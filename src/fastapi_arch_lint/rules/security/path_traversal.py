"""FAL523 path-traversal."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_arch_lint.analysis.calls import reached_functions
from fastapi_arch_lint.analysis.taint import Context, Flow, Source, call_arg, contexts
from fastapi_arch_lint.findings import Confidence, Finding, Severity
from fastapi_arch_lint.model.app import AppModel, Function
from fastapi_arch_lint.model.expr import Attr, BoolOp, Call, Compare, Const, Expr, Name, Not, Seq, render, walk
from fastapi_arch_lint.model.facts import CallSite, CompareFact
from fastapi_arch_lint.rule import Rule, register

# file-system calls: qualified name -> (positional index, keyword) of each path argument
PATH_CALLS: dict[str, tuple[tuple[int, str], ...]] = {
    "builtins.open": ((0, "file"),),
    "io.open": ((0, "file"),),
    "os.open": ((0, "path"),),
    "aiofiles.open": ((0, "file"),),
    "anyio.open_file": ((0, "file"),),
    "fastapi.responses.FileResponse": ((0, "path"),),
    "starlette.responses.FileResponse": ((0, "path"),),
    "os.remove": ((0, "path"),),
    "os.unlink": ((0, "path"),),
    "os.rmdir": ((0, "path"),),
    "os.listdir": ((0, "path"),),
    "os.scandir": ((0, "path"),),
    "shutil.rmtree": ((0, "path"),),
    "shutil.copy": ((0, "src"), (1, "dst")),
    "shutil.copy2": ((0, "src"), (1, "dst")),
    "shutil.copyfile": ((0, "src"), (1, "dst")),
    "shutil.move": ((0, "src"), (1, "dst")),
    "aiofiles.os.remove": ((0, "path"),),
}
# ``pathlib.Path`` methods that touch the file system, called on a tainted path
PATH_METHODS = frozenset({
    "read_text", "read_bytes", "write_text", "write_bytes", "unlink", "rmdir", "iterdir", "touch", "mkdir",
    "open", "glob", "rglob",
})
# a containment check in the same function makes the flow guarded
GUARD_CALLS = frozenset({"is_relative_to", "commonpath", "commonprefix", "safe_join"})
RESOLVERS = frozenset({"resolve", "realpath", "abspath"})

HELP = ("reduce the value to a bare file name (`os.path.basename(name)` or `Path(name).name`, or "
        "`werkzeug.utils.secure_filename`), or resolve the joined path and check it stays inside the base directory: "
        "`p = (BASE / name).resolve()` then `if not p.is_relative_to(BASE): raise HTTPException(404)`")


def path_sinks(site: CallSite, target: str | None) -> list[tuple[Expr, str]]:
    call = site.call
    spec = PATH_CALLS.get(target or "")
    out: list[tuple[Expr, str]] = []
    if spec is not None:
        for index, kw in spec:
            arg = call_arg(call, index, kw)
            if arg is not None:
                out.append((arg, f"`{render(call.func, 40)}()`"))
        return out
    if isinstance(call.func, Attr) and call.func.attr in PATH_METHODS:
        # ``(BASE / name).read_bytes()``: the receiver is the path
        out.append((call.func.value, f"`.{call.func.attr}()`"))
    return out


def _checks_containment(fn: Function) -> bool:
    """Whether ``fn``'s own body checks that a path stays inside a directory: a containment call
    (``is_relative_to``, ``commonpath``...), a resolved path compared with ``startswith``, or
    ``base in p.parents``."""
    names = set()
    for site, target in fn.calls:
        func = site.call.func
        names.add(func.attr if isinstance(func, Attr) else (target or render(func)).rsplit(".", 1)[-1])
        if target:
            names.add(target.rsplit(".", 1)[-1])
    if names & GUARD_CALLS:
        return True
    if any(_parent_samefile(site.call) for site, _ in fn.calls):
        return True
    if bool(names & RESOLVERS) and "startswith" in names:
        return True
    return any(c.op in ("in", "not in") and isinstance(c.right, Attr) and c.right.attr == "parents"
               for c in fn.fact.compares)


def _parent_samefile(call: Call) -> bool:
    """``path.parent.samefile(base)`` (or ``base.samefile(path.parent)``): the path sits right in the base
    directory, the link-proof way (``samefile`` compares the files the two name, not their spelling)."""
    func = call.func
    if not (isinstance(func, Attr) and func.attr == "samefile" and call.args):
        return False
    return any(isinstance(x, Attr) and x.attr == "parent" for side in (func.value, call.args[0]) for x in walk(side))


def checked_on_the_way(ctx: Context) -> bool:
    """A function on the way from the handler (the handler itself, or one the request data passed through)
    that checks containment before it hands the path on: in its own body, or in a project helper it calls
    at or above that call (``if not is_file_in_dir(path, base): raise HTTPException(404)``, where the helper
    is ``path.is_file() and path.parent.samefile(base)``)."""
    for fn, site in ctx.trail:
        if _checks_containment(fn):
            return True
        for callee_site, target in fn.calls:
            callee = ctx.app.functions.get(target or "")
            if callee is None or callee_site.pos.line > site.pos.line or callee_site is site:
                continue
            if any(_checks_containment(f) for f in reached_functions(ctx.app, callee, 1)):
                return True
    return False


def guarded(flow: Flow) -> bool:
    # in the function, or in a project helper it calls (two calls down): ``if not inside(p, BASE): raise``
    if any(_checks_containment(f) for f in reached_functions(flow.app, flow.fn, 2)):
        return True
    # ``if dest.resolve().parent != base: raise``: the joined path must sit right in the base directory
    for g in flow.fn.fact.guards:
        if not (g.body_raises or g.orelse_raises):
            continue
        for _, atom in g.tests:
            if isinstance(atom, CompareFact) and atom.op in ("!=", "==", "is not", "is") and any(
                    isinstance(x, Attr) and x.attr == "parent" for side in (atom.left, atom.right) for x in walk(side)):
                return True
    return False


# calls that may act on a directory: a ``{name}`` segment of ``..`` makes them act on the parent
# (``shutil.copy(src, dir)`` writes into ``dir``)
DIR_CALLS = frozenset({"shutil.rmtree", "os.rmdir", "os.listdir", "os.scandir", "shutil.copytree", "shutil.move",
                       "shutil.copy", "shutil.copy2"})
DIR_METHODS = frozenset({"rmdir", "iterdir", "glob", "rglob"})


def reaches(src: Source, site: CallSite, target: str | None) -> bool:
    """Whether what the value can hold escapes the directory at this sink."""
    if src.content:
        return False  # an upload's bytes or file object is not a path
    if src.reach == "inside":
        return False  # ``{name}`` segments between the code's own components: ``..`` never climbs above the base
    if src.reach == "segment":
        func = site.call.func
        return (target or "") in DIR_CALLS or (isinstance(func, Attr) and func.attr in DIR_METHODS)
    return True


# tests that a path is absolute: ``os.path.isabs(path)``, ``Path(path).is_absolute()``
ABSOLUTE_TESTS = frozenset({"isabs", "is_absolute"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _exits_before(fn: Function, line: int, when) -> bool:  # type: ignore[no-untyped-def]
    """A ``return`` or ``raise`` of ``fn`` above ``line`` under an ``if`` test that ``when(test, holds)`` accepts
    (``holds``: the branch runs when the test is true, ``not`` folded)."""
    for r in (*fn.fact.scope.returns, *fn.fact.scope.raises):
        if r.pos.line >= line:
            continue
        for negated, test in r.conds:
            holds = not negated
            while isinstance(test, Not):
                test, holds = test.operand, not holds
            if when(test, holds):
                return True
    return False


def _not_absolute(param: str):  # type: ignore[no-untyped-def]
    def when(test: Expr, holds: bool) -> bool:
        return not holds and isinstance(test, Call) and isinstance(test.func, Attr) and \
            test.func.attr in ABSOLUTE_TESTS and any(isinstance(e, Name) and e.id == param for e in walk(test))
    return when


def _not_loopback(test: Expr, holds: bool) -> bool:
    """``client_host not in ["127.0.0.1", "localhost", "::1"]`` (or ``!= "127.0.0.1"``), true in the branch."""
    if not isinstance(test, Compare) or test.op not in ("in", "not in", "==", "!="):
        return False
    values = test.right.items if isinstance(test.right, Seq) else (test.right,)
    if not values or not all(isinstance(v, Const) and v.value in LOOPBACK_HOSTS for v in values):
        return False
    return (test.op in ("not in", "!=")) == holds


def any_absolute_path(ctx: Context, src: Source, arg: Expr, line: int) -> str | None:
    """A handler that views whatever file the client names, by design: it refuses a value of the parameter
    that is not an absolute path (``if not os.path.isabs(path): return ...``) before it is used, and the sink
    takes a name (the value, or a local made from it), not a join written in its call: an absolute path keeps
    no base directory, so none is meant to contain it and there is none to escape. ``"local"`` when the handler also refuses clients that are not on this machine (a
    loopback-only viewer), ``"any"`` without that, None when the handler takes relative paths."""
    if not isinstance(arg, Name):
        return None
    handler, at = (ctx.trail[0][0], ctx.trail[0][1].pos.line) if ctx.trail else (ctx.function, line)
    if not _exits_before(handler, at, _not_absolute(src.param)):
        return None
    return "local" if _exits_before(handler, at, _not_loopback) else "any"


DOTS = frozenset({".", ".."})


def _exit_atoms(test: Expr, holds: bool) -> Iterator[tuple[Expr, bool]]:
    """The tests each of which alone makes an ``if`` branch run, with the value that does it: ``a or b`` true
    (either true), ``a and b`` false (either false), ``not`` folded."""
    while isinstance(test, Not):
        test, holds = test.operand, not holds
    if isinstance(test, BoolOp) and (test.op == "or") == holds:
        for v in test.values:
            yield from _exit_atoms(v, holds)
        return
    yield test, holds


def _same(flow: Flow, e: Expr, line: int, param: str) -> bool:
    """``e`` carries the request parameter ``param`` at ``line``."""
    got = flow.taint(e, line)
    return got is not None and got.param == param


def _rejects_dots(flow: Flow, atom: Expr, holds: bool, line: int, param: str) -> bool:
    """``"." in p``, ``p.find(".") != -1``, ``p.count("..") > 0`` (true when a dot is there), with the exit
    taken when it is, on a value built from request data."""
    if isinstance(atom, Compare) and atom.op in ("in", "not in") and isinstance(atom.left, Const) \
            and atom.left.value in DOTS:
        return (atom.op == "in") == holds and _same(flow, atom.right, line, param)
    if isinstance(atom, Compare) and isinstance(atom.left, Call) and isinstance(atom.left.func, Attr) \
            and atom.left.func.attr in ("find", "rfind", "count") and atom.left.args \
            and isinstance(atom.left.args[0], Const) and atom.left.args[0].value in DOTS \
            and isinstance(atom.right, Const) and isinstance(atom.right.value, int):
        n, op = atom.right.value, atom.op
        if atom.left.func.attr == "count":
            found = (op in ("!=", ">") and n == 0) or (op == ">=" and n == 1)
        else:
            found = (op == "!=" and n == -1) or (op == ">=" and n == 0) or (op == ">" and n == -1)
        return found == holds and _same(flow, atom.left.func.value, line, param)
    return False


def _requires_prefix(flow: Flow, atom: Expr, holds: bool, line: int, param: str) -> bool:
    """``not p.startswith(BASE)`` taking the exit: the value must begin with the code's own directory."""
    return (not holds and isinstance(atom, Call) and isinstance(atom.func, Attr) and atom.func.attr == "startswith"
            and bool(atom.args) and flow.taint(atom.args[0], line) is None
            and _same(flow, atom.func.value, line, param))


def adhoc_sanitiser(flow: Flow, line: int, param: str) -> tuple[bool, bool]:
    """The function refuses, above ``line``, a value of the request parameter ``param`` that holds a dot
    anywhere (so no ``..``), and one that does not start with a fixed directory: (dots rejected, prefix
    required)."""
    dots = prefix = False
    for r in (*flow.fn.fact.scope.returns, *flow.fn.fact.scope.raises):
        if r.pos.line >= line:
            continue
        for negated, test in r.conds:
            for atom, holds in _exit_atoms(test, not negated):
                dots = dots or _rejects_dots(flow, atom, holds, r.pos.line, param)
                prefix = prefix or _requires_prefix(flow, atom, holds, r.pos.line, param)
    return dots, prefix


@register
class PathTraversal(Rule):
    code = "FAL523"
    name = "path-traversal"
    summary = "A file path built from request data reaches `open()`, `FileResponse` or a file-system call unchecked"
    severity = Severity.ERROR
    other_severities = {Severity.WARNING: "when the handler requires an absolute path and uses it as given (a file "
                                          "viewer by design: no directory to escape, but any caller reads any file), "
                                          "or a project check the rule cannot read (a field validator, a predicate "
                                          "whose failure raises) rejects some values first, or the handler refuses "
                                          "values with a dot but does not require a fixed directory prefix, or "
                                          "only privileged callers (superusers, admins, staff) reach the route"}
    cwe = ("CWE-22",)
    owasp = ("API8:2023", "A01:2021")
    security_severity = 7.5

    def check(self, app: AppModel) -> Iterator[Finding]:
        reported: set[tuple[str, int, int]] = set()
        for ctx in contexts(app):
            flow = ctx.flow
            if guarded(flow) or checked_on_the_way(ctx):
                continue
            for site, target in ctx.function.calls:
                for arg, label in path_sinks(site, target):
                    line = site.pos.line
                    key = (ctx.function.path, line, site.pos.col)
                    if key in reported:
                        continue
                    src = flow.taint(arg, line, "path")
                    if src is None or not reaches(src, site, target):
                        continue
                    reported.add(key)
                    dots, prefix = adhoc_sanitiser(flow, line, src.param)
                    if dots and prefix:
                        continue  # no ``..`` can be left, and the path must begin with the code's directory
                    absolute = any_absolute_path(ctx, src, arg, line)
                    if absolute == "local":
                        continue  # a viewer of any absolute path that answers only this machine's clients
                    where = "" if not ctx.trail else f" in `{ctx.function.qualname.rsplit('.', 1)[-1]}`"
                    harm = "`../` segments or an absolute path reach files outside the intended directory"
                    severity = confidence = None
                    if absolute:
                        harm = ("the handler requires an absolute path and uses it as given, so no directory is meant "
                                "to contain it: any caller reads (or changes) any file the process can")
                        severity, confidence = Severity.WARNING, Confidence.MEDIUM
                    elif dots:
                        harm = ("the handler refuses a value with a dot in it, so `../` cannot climb, but nothing "
                                "requires the path to start in a fixed directory: an absolute path reaches any file")
                        severity, confidence = Severity.WARNING, Confidence.MEDIUM
                    elif src.checked:
                        harm += (f"; {src.checked} rejects some values first, and what it lets through is not known "
                                 "here: check that it refuses `/`, `\\` and `..`")
                        severity, confidence = Severity.WARNING, Confidence.MEDIUM
                    if severity is None and ctx.route.privileged:
                        # only administrators reach it: still a hole, but one an insider or a stolen admin session uses
                        harm += (f"; only privileged callers reach the route ({ctx.route.privileged}), which may "
                                 "already be able to do as much")
                        severity, confidence = Severity.WARNING, Confidence.MEDIUM
                    yield self.finding(
                        ctx.function.path, line, site.pos.col,
                        f"{label}{where} uses a path built from {src.text()} of `{ctx.route.display()}`: {harm}",
                        help=HELP, related=ctx.related(), entity=ctx.entity(),
                        end_line=site.pos.end_line, end_col=site.pos.end_col,
                        severity=severity, confidence=confidence,
                    )
