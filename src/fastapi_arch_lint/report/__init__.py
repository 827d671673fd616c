"""Reporters: pure functions from findings (and the model) to text."""
