"""Results that depend only on a document's content, kept across verifications.

Canonicalising a credential and validating it against a JSON Schema are the costly parts of
verification, and both are pure: the same document (and the same frozen loader) always gives the
same answer. A :class:`VerifyMemo` keeps them, keyed by the SHA-256 of the document's sorted JSON.
Nothing that can change is kept here: keys, status, trust and dates are checked on every
verification. A memo is bound to one loader; a policy with another loader does not use it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cachetools import LRUCache  # pyld's own dependency

from microcred.vc.loader import DocumentLoader

T = TypeVar("T")


def content_key(document: Mapping[str, Any]) -> str:
    """The sorted JSON of ``document``: equal for equal content, whatever the key order."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class VerifyMemo:
    def __init__(self, loader: DocumentLoader, size: int = 8192) -> None:
        self.loader = loader
        self._entries: LRUCache[tuple[str, bytes], Any] = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, kind: str, content: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per (kind, content); ``kind`` names the function and its options."""
        key = (kind, hashlib.sha256(content.encode("utf-8")).digest())
        with self._lock:
            if key in self._entries:
                self.hits += 1
                return self._entries[key]  # type: ignore[no-any-return]
        value = compute()  # outside the lock: two threads may both compute, with equal results
        with self._lock:
            self.misses += 1
            self._entries[key] = value
        return value
