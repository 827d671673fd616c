"""fastapi-arch-lint: a static architecture reviewer and linter for FastAPI backends."""

__version__ = "0.1.0"
