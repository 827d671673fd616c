"""One ``Route`` per registration: params, dependency tree, effective auth, status, response model."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from fastapi_arch_lint.link.auth import AuthFinder
from fastapi_arch_lint.link.dependencies import Dependencies
from fastapi_arch_lint.link.interpreter import Interpreter
from fastapi_arch_lint.link.registered import FlatRoute
from fastapi_arch_lint.link.schema import Schema
from fastapi_arch_lint.link.signatures import Wrapped
from fastapi_arch_lint.link.values import (
    Env,
    Value,
    VClass,
    VConst,
    VExt,
    VFunc,
    VInst,
    VUnknown,
    short,
    status_value,
    why,
)
from fastapi_arch_lint.model.app import (
    Auth,
    AuthVia,
    DependencyUse,
    Handler,
    Loc,
    Param,
    Route,
)
from fastapi_arch_lint.model.expr import (
    Expr,
    render,
)
from fastapi_arch_lint.model.facts import FunctionFact

MAX_DEP_DEPTH = 12


class RouteBuilder:
    def __init__(self, interp: Interpreter, schema: Schema, deps: Dependencies, auth: AuthFinder) -> None:
        self.interp = interp
        self.schema = schema
        self.deps = deps
        self.auth = auth

    def walk_dependencies(
        self,
        roots: Sequence[tuple[Value, str, Loc, tuple[str, ...], bool, VInst | None]],
        path_params: Iterable[str],
    ) -> tuple[list[DependencyUse], list[AuthVia], list[Param], list[str]]:
        """Flatten the dependency tree under ``roots`` = (callable, level, loc, scopes, is_security, marker);
        also the checks in it that let only privileged callers through (``Route.privileged``)."""
        uses: list[DependencyUse] = []
        privileged: list[str] = []
        vias: list[AuthVia] = []
        sub_params: list[Param] = []
        # FastAPI keys a sub-dependency by callable *and* scopes: ``Security(dep, scopes=[...])`` next to a
        # plain ``Depends(dep)`` is a second dependant, so the scopes must not be dropped as a duplicate
        seen_pairs: set[tuple[str, str, tuple[str, ...]]] = set()

        def visit(v: Value, level: str, loc: Loc, scopes: tuple[str, ...], security: bool,
                  chain: tuple[str, ...], depth: int, parent: str, marker: VInst | None) -> bool:
            """Visit one dependency; True when it or one below it provides a credential (a scheme, even an
            optional one, auth, or a credential read)."""
            name, kind = self.deps.dep_name(v)
            if depth > MAX_DEP_DEPTH or (parent, name, scopes) in seen_pairs or name in chain:
                return False
            seen_pairs.add((parent, name, scopes))
            fn, is_async = self.deps.callable_params(v)
            path = loc.path
            line = loc.line
            if isinstance(v, VFunc):
                path, line = self.interp.path_of(v.env.module), v.fact.pos.line
            elif isinstance(v, VClass):
                path, line = self.interp.path_of(v.env.module), v.fact.pos.line
            elif isinstance(v, VInst):
                path, line = self.interp.path_of(v.site[0]), v.site[1]
            uses.append(DependencyUse(name, kind, level, path, line, depth, security or kind == "scheme", scopes,
                                      parent, is_async if fn else None))
            new_chain = chain + (short(name),)
            if kind == "scheme" and isinstance(v, VInst):
                optional = False
                if v.call is not None:
                    ae = v.call.kwarg("auto_error")
                    if ae is not None:
                        av = self.interp.eval(ae, v.env or Env(v.site[0]))
                        optional = isinstance(av, VConst) and av.value is False
                vias.append(AuthVia("scheme", short(name), self.deps.scheme_class(v), level, new_chain, path, line,
                                    scopes, optional))
                return True
            hand = self.auth.dependency_auth(v, fn, name, kind, level, new_chain, path, line)
            if hand is None and fn is not None and kind != "scheme":
                denied = self.auth.rejecting.denies_all(fn)
                if denied is not None:  # a deny-all gate: no caller, anonymous or not, gets past it
                    hand = AuthVia("dependency", short(name), "hand-written check", level, new_chain, path, line,
                                   evidence=f"{denied} on every request")
            if kind != "scheme":
                priv = self.auth.privileged_check(v, fn, name)
                if priv is not None:
                    privileged.append(f"{priv} ({level}: {' > '.join(new_chain)})")
            if hand is not None:  # a dependency that checks credentials by hand (or is configured as auth)
                vias.append(hand)
            elif isinstance(v, VFunc) and fn is not None and (asks := self.auth.handler_asks_unread(fn)) is not None:
                # it asks a component the configuration picks who is calling: that may reject, unseen
                uses.append(DependencyUse(f"the caller check {asks} in `{short(name)}`, by a component whose code "
                                          "cannot be read (one the configuration chooses)", "unknown", level, path, line))
            if isinstance(v, VUnknown):  # a library's dependency the interpreter cannot evaluate
                lib = self.auth.signatures.library_auth(v, marker)
                if lib is not None:
                    lib_chain = chain + (short(lib.name),)
                    for scheme, spath, sline in lib.schemes:  # the transport schemes OpenAPI shows
                        vias.append(AuthVia("scheme", short(lib.name), scheme, level, lib_chain + (scheme,), spath,
                                            sline, scopes, lib.optional, evidence=lib.evidence))
                    if not lib.schemes:
                        vias.append(AuthVia("dependency", short(lib.name), "library check", level, lib_chain,
                                            lib.path, lib.line, scopes, lib.optional, evidence=lib.evidence))
                    return True
            if fn is None:
                return hand is not None
            provided = hand is not None
            before = len(vias)
            synth = self.auth.signatures.synthesised(fn)
            if synth is not None:  # FastAPI reads the signature built at runtime, not the written one
                for m in synth.markers:
                    dep = self.deps.dependency_target(m, None)
                    is_sec = self.deps.marker_of(m) == ("security", m)
                    sc: tuple[str, ...] = ()
                    if is_sec and m.call is not None:
                        sc = self.interp.str_list(m.call.kwarg("scopes"), m.env or Env(m.site[0]))
                    provided |= visit(dep, level, loc, scopes + sc, security or is_sec, new_chain, depth + 1, name, m)
            elif (wrapped := self.auth.signatures.wrapped(fn)) is not None:
                # FastAPI reads the signature of what ``functools.wraps`` names (``__wrapped__``): its
                # dependencies are this one's, for each callable it may be
                provided |= visit_wrapped(wrapped, level, loc, scopes, security, new_chain, depth, name)
            else:
                for param, dep, pmarker in self.deps.classify_params(fn, path_params):
                    if dep is not None:
                        sc = ()
                        is_sec = param.source == "security"
                        if is_sec and pmarker is not None and pmarker.call is not None:
                            sc = self.interp.str_list(pmarker.call.kwarg("scopes"), pmarker.env or Env(pmarker.site[0]))
                        provided |= visit(dep, level, loc, scopes + sc, security or is_sec, new_chain, depth + 1, name,
                                          pmarker)
                    else:
                        sub_params.append(param)
            if hand is None:
                below = provided or self.auth.creds.reads_credential(fn)
                # it rejects on what the dependencies below it provide (a principal, an optional scheme's
                # credential): the credential is required, unless something below requires it already
                required_below = any(not a.optional for a in vias[before:])
                gate = None if required_below or not below else \
                    self.auth.rejecting_gate(fn, name, level, new_chain, path, line)
                if gate is not None:
                    vias.append(gate)
                return below
            return True

        def visit_wrapped(w: Wrapped, level: str, loc: Loc, scopes: tuple[str, ...], security: bool,
                          chain: tuple[str, ...], depth: int, parent: str) -> bool:
            """Visit each callable ``functools.wraps`` may name as a dependency below the wrapper. What they
            give counts when they agree (all authenticate, or none does); when they differ, or some cannot
            be known while the known ones do not all authenticate, the route's auth depends on what runs at
            runtime: it is marked unknown (a dependency of kind "unknown", as an unresolved ``Depends(x)``
            is), not none."""
            n_vias, n_priv, n_params = len(vias), len(privileged), len(sub_params)
            # per callable: (provides a credential, its ways of auth (any, a required one), privileged, params)
            outcomes: list[tuple[bool, tuple[bool, bool], bool, list[Param]]] = []
            for c in w.candidates:
                v0, p0, s0 = len(vias), len(privileged), len(sub_params)
                got = visit(c, level, loc, scopes, security, chain, depth + 1, parent, None)
                added = vias[v0:]
                outcomes.append((got, (bool(added), any(not a.optional for a in added)), len(privileged) > p0,
                                 sub_params[s0:]))
            ways = {o[1] for o in outcomes}
            agreed = len(ways) == 1 and (not w.unknown or next(iter(ways))[1])
            if not agreed:
                del vias[n_vias:], privileged[n_priv:], sub_params[n_params:]
                reason = w.unknown or "it names " + " or ".join(
                    f"`{short(self.deps.dep_name(c)[0])}` ({'authenticates' if o[1][1] else 'no auth'})"
                    for c, o in zip(w.candidates, outcomes)) + ", chosen at runtime"
                uses.append(DependencyUse(f"the signature FastAPI reads through `{w.what}`: {reason}", "unknown",
                                          level, self.interp.path_of(w.module), w.line, depth + 1, security,
                                          scopes, parent, None))
                return False
            if w.unknown:
                self.interp.note(f"signature of `{short(parent)}`", f"`{w.what}`: {w.unknown}; the callables "
                                 "it may name that are known all authenticate", w.module, w.line)
            if len(outcomes) > 1:  # only what every callable it may name has
                if not all(o[2] for o in outcomes):
                    del privileged[n_priv:]
                common = set.intersection(*({p.name for p in o[3]} for o in outcomes))
                kept = {p.name for p in sub_params[:n_params]}
                sub_params[n_params:] = [p for p in dict((p.name, p) for p in sub_params[n_params:]).values()
                                         if p.name in common and p.name not in kept]
            return any(o[0] for o in outcomes)

        for v, level, loc, scopes, security, marker in roots:
            visit(v, level, loc, scopes, security, (), 0, "", marker)
        return uses, vias, sub_params, privileged

    def build_route(self, app_id: str, flat: FlatRoute, order: int = 0) -> Route | None:
        reg, path, path_ok, deps = flat.reg, flat.path, flat.path_ok, flat.deps
        tags, chain, in_schema, deprecated = flat.tags, flat.chain, flat.in_schema, flat.deprecated
        handler_v = reg.handler
        if handler_v is None:
            return None
        env = handler_v.env
        call = reg.call
        cenv = reg.env or env  # where the registration's arguments are evaluated
        fact = handler_v.fact
        handler = Handler(handler_v.qualname, env.module, self.interp.path_of(env.module), fact.pos.line, fact.pos.col,
                          fact.is_async, fact)
        path_params = tuple(m.split(":")[0] for m in re.findall(r"{([^}]+)}", path))
        roots: list[tuple[Value, str, Loc, tuple[str, ...], bool, VInst | None]] = []
        for v, level, loc in deps:
            m = self.deps.marker_of(v)
            if m is not None and m[0] in ("dependency", "security"):
                target = self.deps.dependency_target(m[1], None)
                sc = self.interp.str_list(m[1].call.kwarg("scopes"), m[1].env or env) if m[1].call else ()
                roots.append((target, level, loc, sc, m[0] == "security", m[1]))
            elif isinstance(v, VUnknown):  # what it runs is unknown: the route's auth is too
                roots.append((v, level, loc, (), False, None))
            else:
                self.interp.note("dependency in `dependencies=`", "not a Depends(...)", env.module, loc.line)
        for v, _, loc in self.deps.dep_list(call.kwarg("dependencies"), cenv, reg.loc):
            m = self.deps.marker_of(v)
            if m is not None and m[0] in ("dependency", "security"):
                target = self.deps.dependency_target(m[1], None)
                sc = self.interp.str_list(m[1].call.kwarg("scopes"), m[1].env or env) if m[1].call else ()
                roots.append((target, "route", loc, sc, m[0] == "security", m[1]))
        params = self.deps.classify_params(handler_v, path_params, reg.kind == "websocket")
        plain_params: list[Param] = []
        request_models: list[str] = []
        for param, dep, marker in params:
            if dep is not None:
                sc = ()
                if param.source == "security" and marker is not None and marker.call is not None:
                    sc = self.interp.str_list(marker.call.kwarg("scopes"), marker.env or env)
                roots.append((dep, "param", Loc(handler.path, param.line), sc, param.source == "security", marker))
            plain_params.append(param)
        uses, vias, sub_params, privileged = self.walk_dependencies(roots, path_params)
        vias.extend(self.auth.decorator_auth(reg.loc, handler_v))
        if vias and all(a.optional for a in vias):
            # only optional auth reaches it: the handler may refuse without what those dependencies give
            # (``client_auth(api_key, db)`` raising 403 when the key is missing or unknown)
            carriers = {p.name for p, dep, _ in params if isinstance(dep, VFunc)
                        and any(dep.fact.name in a.chain for a in vias)}
            gate = self.auth.rejecting_gate(handler_v, fact.name, "route", (fact.name,), handler.path,
                                            fact.pos.line, provided=carriers) if carriers else None
            if gate is not None:
                vias.append(replace(gate, kind="handler", scheme="hand-written check in the handler"))
        if not vias:  # no dependency or decorator authenticates: the handler may check a credential itself
            inline = self.auth.handler_auth(handler_v, reg.loc)
            if inline is not None:
                vias.append(inline)
            elif (asks := self.auth.handler_asks_unread(handler_v)) is not None:
                # a component the analysis cannot read decides who may call: unknown, as an unresolved Depends
                uses.append(DependencyUse(f"the caller check {asks} in `{handler.qualname}`, by a component whose "
                                          "code cannot be read (one the configuration chooses)", "unknown", "route",
                                          handler.path, fact.pos.line))
        for param, _, _ in params:
            if param.source in ("body", "form"):
                p_ann = self.interp.annotation(self._param_expr(fact, param.name), env)
                request_models.extend(self.schema.model_names(self.interp.unwrap_alias(p_ann)))
        # status code
        status_code: int | None = 200 if reg.kind == "http" else None
        explicit = False
        sc_expr = call.kwarg("status_code")
        if sc_expr is not None:
            scv = self.interp.eval(sc_expr, cenv)
            code = status_value(scv)
            if code is not None:
                status_code, explicit = code, True
            else:
                status_code = None
                self.interp.note(f"status code `{render(sc_expr)}`", why(scv), env.module, reg.loc.line)
        # response model
        response_model = None
        rm_types: tuple[str, ...] = ()
        rm_source = None
        rm_expr = call.kwarg("response_model")
        if rm_expr is not None:
            rmv = self.interp.annotation(rm_expr, cenv)
            if not (isinstance(rmv, VConst) and rmv.value is None):
                response_model, rm_source = render(rm_expr), "decorator"
                rm_types = tuple(self.schema.type_names(rmv))
        elif fact.returns is not None and reg.kind == "http":
            rv = self.interp.annotation(fact.returns, env)
            names = self.schema.type_names(rv)
            if names and not any(n.startswith("fastapi.responses.") or n == "fastapi.Response" for n in names) \
                    and names != ["builtins.None"]:
                response_model, rm_source = render(fact.returns), "annotation"
                rm_types = tuple(names)
        rc = call.kwarg("response_class")
        response_class = None
        if rc is not None:
            rcv = self.interp.eval(rc, cenv)
            response_class = rcv.qualname if isinstance(rcv, (VExt, VClass)) else render(rc)
        route_tags = tags + self.interp.str_list(call.kwarg("tags"), cenv)
        in_schema = in_schema and self.interp.bool_kw(call, "include_in_schema", cenv, True)
        deprecated = deprecated or self.interp.bool_kw(call, "deprecated", cenv, False)
        if not path_ok:
            self.interp.note(f"full path of `{handler.qualname}`", "a prefix or path could not be resolved", env.module, reg.loc.line)
        vias.sort(key=lambda a: ({"app": 0, "include": 1, "router": 2, "route": 3, "param": 4}.get(a.level, 5), a.chain))
        # any security scheme in the tree (what OpenAPI shows), a hand-written auth dependency or an auth
        # decorator makes the route authenticated (middleware is added by ``middleware_auth``);
        # ``AuthVia.optional`` says when the scheme itself lets a missing credential through
        auth = Auth(required=bool(vias), via=tuple(vias))
        return Route(
            app=app_id, methods=reg.methods, path=path, kind=reg.kind, handler=handler,
            router=f"{reg.router[0]}:{reg.router[1]}", registered=reg.loc, status_code=status_code,
            status_code_explicit=explicit, response_model=response_model, response_model_types=rm_types,
            response_model_source=rm_source, request_models=tuple(dict.fromkeys(request_models)),
            tags=tuple(dict.fromkeys(route_tags)), dependencies=tuple(uses), auth=auth,
            params=tuple(plain_params) + tuple(sub_params), include_chain=chain, include_in_schema=in_schema,
            deprecated=deprecated, registration=reg.registration, path_unresolved=not path_ok,
            response_class=response_class, router_prefix=flat.router_prefix, order=order, order_key=flat.order,
            conditional=" and ".join(dict.fromkeys(flat.conditions)),
            privileged=privileged[0] if privileged else None,
        )

    @staticmethod
    def _param_expr(fact: FunctionFact, name: str) -> Expr | None:
        p = fact.param(name)
        return p.annotation if p else None
