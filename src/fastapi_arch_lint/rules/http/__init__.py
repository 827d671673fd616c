"""HTTP semantics rules (FAL2xx)."""
