"""``FASTAPI_ARCH_LINT_PLAIN_LIBCST=1``: extraction without its speed tricks, for debugging.

The extractor takes several shortcuts around LibCST, each held to the plain way by tests. When
the facts of a file look wrong, this switch tells whether a shortcut is to blame: with it set,
extraction goes LibCST's own way everywhere it has one, and must give the very same facts,
only slower (several times, mostly the positions):

* the parse is ``libcst.parse_module`` with LibCST's validating constructors
  (``unvalidated()`` swaps nothing, pool workers included);
* function bodies are walked by ``node.visit(visitor)``, not by compiled walkers (``walk.py``);
* positions come from LibCST's ``PositionProvider`` through ``MetadataWrapper``, not from the
  token list of ``positions.py`` (with one documented difference kept: a definition ends where
  ``WhitespaceInclusivePositionProvider`` ends it, after its body's last line, as it always has
  in the facts; see tests/test_positions_provider.py);
* string literals are evaluated by ``SimpleString.evaluated_value`` (``convert.string_value``);
* facts and expressions are built by calling their classes, not ``constructor()`` functions;
* the nesting guard (``parse.nesting``) runs on every file, not only on the files a byte-count
  bound says could be too deep.

Read once, here, when the extractor is imported (a forked pool worker inherits the value, a
spawned one reads the same environment). The facts cache is keyed without it, since the facts
are the same: with a cache, files it knows are not parsed at all, so run with ``--no-cache``
(and ``-j 1`` to keep the work in one process, where a debugger can follow it).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from fastapi_arch_lint.model._init import constructor as _fast_constructor

ENV_PLAIN_LIBCST = "FASTAPI_ARCH_LINT_PLAIN_LIBCST"

PLAIN: bool = os.environ.get(ENV_PLAIN_LIBCST, "").strip().lower() in ("1", "true", "yes", "on")


def constructor(cls: type) -> Callable[..., object]:
    """``model._init.constructor(cls)``, or the class itself when ``PLAIN``."""
    return cls if PLAIN else _fast_constructor(cls)
