"""The records services hand to web and cli: read their attributes, never query or write
through them."""

from __future__ import annotations

from microcred.db.tables import (
    Credential,
    Definition,
    LearnerAccount,
    Provider,
    Staff,
    WalletItem,
)

__all__ = ["Credential", "Definition", "LearnerAccount", "Provider", "Staff", "WalletItem"]
