"""Email addresses people type: one plain address, nothing a mail header could carry."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("niamh@example.org", True),
        ("n.o+tag@mail.example.ie", True),
        ("a@b.c\r\nBcc: z@q.example", False),  # a header injection
        ("a@x.example,b@y.example", False),  # a second address
        ("Niamh <niamh@example.org>", False),
        ("niamh@example", False),
        ("niamh example.org", False),
        ("x" * 320 + "@example.org", False),
    ],
)
def test_an_email_address_is_one_plain_address(text, ok):
    from microcred.domain.emails import is_address

    assert is_address(text) is ok
