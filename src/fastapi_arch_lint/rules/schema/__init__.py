"""Database schema rules (FAL7xx)."""
