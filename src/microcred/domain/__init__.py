"""Micro-credential rules in plain Python: no database, no web."""
