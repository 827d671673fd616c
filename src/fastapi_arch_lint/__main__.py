"""``python -m fastapi_arch_lint``."""

import os
import sys

# ``python -m`` puts the current folder first on sys.path; inside an analyzed project that would
# let its own modules (a ``click.py``, a ``libcst/`` folder) shadow ours. We never import user code.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from fastapi_arch_lint.cli import main  # noqa: E402

if __name__ == "__main__":  # pragma: no cover
    main()
