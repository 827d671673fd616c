"""Injection, secrets and hardening rules (FAL5xx)."""
