"""Helpers shared by the layering rules: where the service/repository layer is."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from fastapi_arch_lint.model.app import AppModel

# the default ``layer-modules`` option of FAL801 and FAL802
LAYER_MODULES = ["services", "service", "repositories", "repository", "crud", "repo", "dal"]


def _segment_is_layer(segment: str, names: set[str]) -> bool:
    if segment in names:
        return True
    # ``user_service``, ``users_repository``: a layer module named after its entity
    return any(segment.endswith("_" + n) for n in names)


def layer_prefixes(app: AppModel, names: Iterable[str]) -> list[str]:
    """Dotted prefixes (``app.services``) of the service/repository layer packages and modules.

    A prefix counts only when no route handler or router lives under it (a top-level
    ``services/`` folder that holds whole microservices is not a layer) and something is
    defined under it (an empty placeholder package is not a layer either).
    """
    wanted = {n.lower() for n in names}
    routed = {r.handler.module for r in app.iter_routes()}
    routed |= {r.id.split(":", 1)[0] for r in app.routers}
    defined = {fn.module for fn in app.functions.values()}
    defined |= {q.rsplit(".", 1)[0] for q in app.classes}
    # a prefix has a module under it (``m == prefix or m.startswith(prefix + ".")``) when it is
    # one of that module's enclosing packages or the module itself
    routed_in, defined_in = _enclosing(routed), _enclosing(defined)

    def is_layer(prefix: str) -> bool:
        return prefix not in routed_in and prefix in defined_in

    out: set[str] = set()
    for module in app.modules:
        parts = module.name.split(".")
        if any(p in ("tests", "test", "testing") for p in parts):
            continue  # test helpers (``tests/crud.py``) are no layer of the application
        for i, seg in enumerate(parts):
            if _segment_is_layer(seg.lower(), wanted) and is_layer(".".join(parts[: i + 1])):
                out.add(".".join(parts[: i + 1]))
                break
    return sorted(out)


def _enclosing(modules: Iterable[str]) -> set[str]:
    """Every module of ``modules`` and every package that encloses one (``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``)."""
    out: set[str] = set()
    for m in modules:
        parts = m.split(".")
        for i in range(1, len(parts) + 1):
            out.add(".".join(parts[:i]))
    return out


def in_layer(module: str, prefixes: Collection[str]) -> str | None:
    """The prefix ``module`` is (or lies under), the shortest when several are: the first of the
    sorted ``layer_prefixes``. Looks up each enclosing package, so a set of prefixes makes it fast."""
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        p = ".".join(parts[:i])
        if p in prefixes:
            return p
    return None
