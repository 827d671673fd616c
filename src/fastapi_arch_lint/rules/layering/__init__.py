"""Layering rules (FAL8xx)."""
