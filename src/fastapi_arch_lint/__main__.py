"""``python -m fastapi_arch_lint``."""

from fastapi_arch_lint.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
