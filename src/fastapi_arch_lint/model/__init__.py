"""The app model: per-file facts, the expression language, and the linked whole-app model."""
