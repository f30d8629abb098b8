"""Backends: one module per provider; each implements `Backend.generate`."""
