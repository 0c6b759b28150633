"""microcred: an open, self-hostable platform for micro-credentials."""

__version__ = "0.1.0"
