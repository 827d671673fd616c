"""Link the per-file facts of a whole project into one ``AppModel`` (no LibCST here).

``build.Linker`` composes the interpreter (``interpreter``, over ``values``) with the components
that know FastAPI (``knowledge``, ``registrations``, ``dependencies``, ``auth``, ``middleware``,
``schema``, ``callgraph``, ``routes``). See ARCHITECTURE.md for the layers.
"""

from fastapi_arch_lint.link.build import Linker, link

__all__ = ["Linker", "link"]
