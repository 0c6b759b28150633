"""Many messages from one rendering (``mail.compose_many``, a bulk chunk's email) are byte for
byte the messages ``mail.compose`` writes one at a time, whatever the values hold: markup,
quotes, ampersands, percent signs, line breaks, any script. And the bytes ``mail`` writes itself
are those the email package's generator writes for the same headers and bodies."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.services import mail
from tests.platform.conftest import make_settings

SETTINGS = make_settings("sqlite:///unused.db", Path("unused"))  # never opened
WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
PROVIDER = SimpleNamespace(legal_name="Acme & Sons <Training>", contact_email="hi@acme.example")
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)
VALUES = st.fixed_dictionaries(
    {
        "name": TEXT,
        "email": st.emails(),
        "title": TEXT,
        "credential_url": TEXT,
        "signup_url": TEXT,
        "signin_url": TEXT,
    }
)


def _one(each: mail.Each) -> bytes:
    return (
        mail.compose(
            SETTINGS,
            to=each.to,
            subject=each.subject,
            template="credential_issued",
            purpose="credential-issued",
            subject_id=each.subject_id,
            cause=each.cause,
            provider=PROVIDER,
            when=WHEN,
            **each.values,
        )
    ).raw


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(VALUES, TEXT), min_size=1, max_size=4))
def test_many_from_one_rendering_equal_each_rendered_alone(rows) -> None:
    each = [
        mail.Each(
            to=values["email"],
            subject=f"Your micro-credential: {subject}",
            subject_id=f"id-{i}",
            cause=f"row-{i}",
            values=values,
        )
        for i, (values, subject) in enumerate(rows)
    ]
    many = mail.compose_many(
        SETTINGS,
        template="credential_issued",
        purpose="credential-issued",
        messages=each,
        provider=PROVIDER,
        when=WHEN,
    )
    assert [m.raw for m in many] == [_one(e) for e in each]


def test_a_template_not_known_to_be_uniform_is_rendered_per_message() -> None:
    each = [
        mail.Each(
            to="ada@example.org",
            subject="Reset",
            subject_id="x",
            cause="y",
            values={"name": "Ada", "link": "https://example.org/r"},
        )
    ]
    assert "reset_password" not in mail.UNIFORM
    many = mail.compose_many(
        SETTINGS, template="reset_password", purpose="reset", messages=each, when=WHEN
    )
    assert len(many) == 1


HEADER_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=90
)


@settings(max_examples=150, deadline=None)
@given(
    name=HEADER_TEXT,
    to=st.one_of(st.emails(), HEADER_TEXT),
    subject=HEADER_TEXT,
    text=st.text(max_size=300),
    html=st.text(max_size=300),
    contact=st.one_of(st.none(), st.emails()),
    when=st.one_of(st.none(), st.just(WHEN)),
)
def test_messages_written_directly_equal_the_email_packages(
    name, to, subject, text, html, contact, when
) -> None:
    provider = SimpleNamespace(legal_name=name, contact_email=contact) if name else None
    written = mail._message(
        SETTINGS, to, subject, text, html, "credential-issued", "id-1", "c", provider, when
    )
    # the oracle: the same headers and bodies through the compat32 MIME classes and generator
    parsed = BytesParser(policy=policy.compat32).parsebytes(written.raw)
    headers = [(k, v) for k, v in parsed.items() if k not in ("Content-Type", "MIME-Version")]
    boundary = parsed.get_boundary()
    assert boundary is not None
    assert written.raw == mail.wire_bytes(mail._mime(headers, boundary, text, html))
    texts = [part.get_payload(decode=True).decode() for part in parsed.get_payload()]
    assert texts == [text, html]
    if to.isascii() and "\r" not in to and "\n" not in to:
        assert mail.Outgoing.from_bytes(written.raw) == written  # the envelope as sending reads it
