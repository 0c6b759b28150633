"""Text as search indexes and file names want it."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case, accents removed (``Lucía`` -> ``lucia``): how the catalogue indexes and
    matches words, the same on SQLite and PostgreSQL, and how download names are spelt."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
