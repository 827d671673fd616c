"""Async and blocking-call rules (FAL6xx)."""
