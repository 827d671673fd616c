"""The extractor: the only package that imports LibCST (``link.py`` itself does not)."""
