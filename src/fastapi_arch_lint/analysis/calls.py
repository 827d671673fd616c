"""Every call of the project with what it resolves to, and every scope.

Calls in function bodies come from the linked call graph (``Function.calls``), calls in module
and class bodies from ``AppModel.values.module_calls()``: both resolved by the linker. Test code is not
shipped, so the walks here leave it out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fastapi_arch_lint.analysis.memo import memo
from fastapi_arch_lint.model.app import AppModel, Function, Module
from fastapi_arch_lint.model.expr import Call
from fastapi_arch_lint.model.facts import Scope
from fastapi_arch_lint.model.paths import is_test_path


@dataclass(frozen=True, slots=True)
class CodeCall:
    """A call anywhere in the project with what it resolves to."""

    call: Call
    target: str | None
    module: str
    path: str
    line: int
    col: int
    function: Function | None  # None for module and class bodies


def call_target(fn: Function, call: Call) -> str | None:
    """What ``call``, an expression of ``fn``'s body (an argument, a returned value), resolves to."""
    return next((t for s, t in fn.calls if (s.call.line, s.call.col) == (call.line, call.col)), None)


def reached_functions(app: AppModel, fn: Function, depth: int) -> list[Function]:
    """``fn`` and the project functions it calls, up to ``depth`` calls down (``AppModel.callees``), each once."""
    out = {fn.qualname: fn}
    for _caller, _site, target, _trail in app.callees(fn.qualname, depth=depth):
        if target and target in app.functions:
            out.setdefault(target, app.functions[target])
    return list(out.values())


def where_label(fn: Function | None, module: str) -> str:
    """Where a call or a binding is, for messages: `` `f` `` or ``module `m` ``."""
    return f"`{fn.fact.qualname}`" if fn is not None else f"module `{module}`"


def iter_calls(app: AppModel, wanted: Callable[[Call, str | None], bool] | None = None) -> Iterator[CodeCall]:
    """Calls in every project function (the linked call graph) and in module and class bodies.

    Test code is never judged, so its calls are not yielded. ``wanted`` (given the call and its
    target) skips a call before anything is built for it: each rule looks for a few targets
    among tens of thousands of calls. About ten rules walk the calls: what they share (the call
    sites outside test code, indexed by target) is computed once per model; the ``CodeCall``s of
    function bodies are made on the way, so that the model does not keep one per call of the
    project alive."""
    for site in memo(app, _call_sites)[0]:
        if wanted is None or wanted(site[1].call, site[2]):
            yield _code_call(site)


def iter_calls_to(app: AppModel, wanted_target: Callable[[str | None], bool]) -> Iterator[CodeCall]:
    """``iter_calls`` for a rule that picks calls by their target alone: the same calls in the
    same order, with ``wanted_target`` asked once per distinct target (a few thousand) instead
    of once per call (tens of thousands, for each of the rules that look for a few targets)."""
    sites, by_target = memo(app, _call_sites)
    for i in sorted(i for target, at in by_target.items() if wanted_target(target) for i in at):
        yield _code_call(sites[i])


_Site = tuple  # (function, call site, target), or (None, CodeCall, target) for a module- or class-level call


def _call_sites(app: AppModel) -> tuple[list[_Site], dict[str | None, list[int]]]:
    """Every call outside test code, in order (functions, then module and class bodies), and the
    positions of each target's calls in that list."""
    sites: list[_Site] = []
    by_target: dict[str | None, list[int]] = {}
    for fn in app.functions.values():
        if is_test_path(fn.path):
            continue
        for site, target in fn.calls:
            by_target.setdefault(target, []).append(len(sites))
            sites.append((fn, site, target))
    for mc in (app.values.module_calls() if app.values is not None else ()):
        if is_test_path(mc.path):
            continue
        by_target.setdefault(mc.target, []).append(len(sites))
        sites.append((None, CodeCall(mc.call, mc.target, mc.module, mc.path, mc.line, mc.col, None), mc.target))
    return sites, by_target


def _code_call(site: _Site) -> CodeCall:
    fn, call_site, target = site
    if fn is None:
        return call_site
    return CodeCall(call_site.call, target, fn.module, fn.path, call_site.pos.line, call_site.pos.col, fn)


def iter_scopes(app: AppModel) -> Iterator[tuple[Module, Scope, Function | None]]:
    """Every module scope and every function scope, with its module."""
    by_name = {m.name: m for m in app.modules}
    for m in app.modules:
        yield m, m.facts.scope, None
    for fn in app.functions.values():
        m = by_name.get(fn.module)
        if m is not None:
            yield m, fn.fact.scope, fn
