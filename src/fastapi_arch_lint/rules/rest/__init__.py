"""REST design rules (FAL1xx)."""
