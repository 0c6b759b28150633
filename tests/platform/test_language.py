"""The reader's language: from the browser's Accept-Language, or chosen on the page (a cookie
that wins over the browser), said in ``<html lang>`` and ``Content-Language``; dates and
numbers as the language writes them."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from microcred.i18n import _, format_date, format_number, negotiate, use_language


def _in(language: str, message: str) -> str:
    with use_language(language):
        translated = _(message)
    assert translated != message, f"{message!r} is not translated into {language}"
    return translated


def test_the_browser_language_is_used(client: TestClient) -> None:
    page = client.get("/verify", headers={"Accept-Language": "de-CH, de;q=0.9, en;q=0.5"})
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert page.headers["content-language"] == "de"
    assert "Accept-Language" in page.headers["vary"]
    assert _in("de", "Verify a credential") in page.text


def test_a_language_we_do_not_have_falls_back_to_english(client: TestClient) -> None:
    page = client.get("/verify", headers={"Accept-Language": "pt-BR, ja;q=0.8"})
    assert '<html lang="en">' in page.text
    assert "Verify a credential" in page.text


def test_the_readers_choice_wins_over_the_browser(client: TestClient) -> None:
    chosen = client.get("/language/it?next=/catalogue", follow_redirects=False)
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/catalogue"
    assert "microcred_lang=it" in chosen.headers["set-cookie"]
    page = client.get("/catalogue", headers={"Accept-Language": "fr"})
    assert '<html lang="it">' in page.text
    assert _in("it", "Catalogue") in page.text
    # every page links to the others, each named in its own language
    assert 'href="/language/fr?next=/catalogue" lang="fr" hreflang="fr">Français</a>' in page.text


def test_choosing_a_language_never_leaves_the_site(client: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        answer = client.get("/language/fr", params={"next": target}, follow_redirects=False)
        assert answer.headers["location"] == "/", target
    unknown = client.get("/language/xx?next=/verify", follow_redirects=False)
    assert unknown.headers["location"] == "/verify"
    assert "set-cookie" not in unknown.headers


def test_negotiation_follows_the_quality_values() -> None:
    assert negotiate("fr;q=0.4, es;q=0.9") == "es"
    assert negotiate("it, fr") == "it"
    assert negotiate("en-GB;q=0, de;q=0.1") == "de"
    assert negotiate("*") == "en"
    assert negotiate("fr;q=nonsense, de") == "de"
    assert negotiate(None) == "en"


def test_dates_and_numbers_are_written_as_each_language_writes_them() -> None:
    day = date(2026, 12, 3)
    written = {}
    for language in ("en", "fr", "de"):
        with use_language(language):
            written[language] = (format_date(day), format_number(1234.5))
    assert written["en"] == ("Dec 3, 2026", "1,234.5")
    assert written["fr"][0] == "3 déc. 2026"
    assert written["fr"][1].replace("\u202f", " ").replace("\xa0", " ") == "1 234,5"
    assert written["de"] == ("03.12.2026", "1.234,5")


def test_emails_are_written_in_their_readers_language(platform, client) -> None:

    from sqlalchemy import select

    from microcred.db.session import transaction
    from microcred.db.tables import LearnerAccount
    from microcred.services import jobs, outbox
    from tests.platform.conftest import (
        DEFINITION,
        csrf_from,
        issue_to,
        make_org,
        publish_definition,
    )

    org = make_org(platform, "acme")
    english = publish_definition(platform, org)
    french = publish_definition(platform, org, {**DEFINITION, "title": "Soudage", "language": "fr"})

    # no account: the micro-credential's own language
    issue_to(platform, org, french, "luc@example.org", "Luc")
    [mail] = outbox.messages(platform, "luc@example.org", "credential-issued")
    with use_language("fr"):
        expected = _("Your micro-credential: %(title)s") % {"title": "Soudage"}
    assert mail["subject"] == expected.replace("\xa0", " ")  # a header's spaces are plain

    # an account: the language its learner chose (here: the browser's, at sign-up)
    token = csrf_from(client.get("/account/signup", headers={"Accept-Language": "de"}).text)
    client.post(
        "/account/signup",
        data={"csrf_token": token, "name": "Jana", "email": "jana@example.org",
              "password": "correct horse battery staple"},
        headers={"Accept-Language": "de"},
    )  # fmt: skip
    jobs.drain(platform)
    [confirm] = outbox.messages(platform, "jana@example.org", "email-confirmation")
    assert confirm["subject"] == _in("de", "Confirm your email for your wallet")
    issue_to(platform, org, english, "jana@example.org", "Jana")
    [mail] = outbox.messages(platform, "jana@example.org", "credential-issued")
    with use_language("de"):
        assert mail["subject"] == _("Your micro-credential: %(title)s") % {
            "title": "Welding Safety"
        }
    assert '<html lang="de">' in mail["html"]

    # she chooses Italian while signed in: kept for her next emails
    client.get("/language/it", follow_redirects=False)
    with transaction(platform.sessions, readonly=True) as session:
        account = session.scalar(
            select(LearnerAccount).where(LearnerAccount.email == "jana@example.org")
        )
        assert account.language == "it"  # signed in (since signing up): kept for her emails
