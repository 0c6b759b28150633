"""Email addresses as people type them: exactly one address, nothing a mail header could carry
further (a line break, a comma or a second address), within the length SMTP allows."""

from __future__ import annotations

import re

# One addr-spec: a local part and a domain of printable characters, no space, separator, quote or
# bracket. Stricter than RFC 5322 on purpose: quoted local parts are not accepted.
_ADDRESS = re.compile(r"^[^\s@,;:<>()\[\]\\\"]+@[^\s@,;:<>()\[\]\\\"]+\.[^\s@,;:<>()\[\]\\\".]+$")


def is_address(text: str) -> bool:
    """Whether ``text`` (already stripped) is one plain email address of at most 320 chars."""
    return len(text) <= 320 and text.isprintable() and bool(_ADDRESS.match(text))
