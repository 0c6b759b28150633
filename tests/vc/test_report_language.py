"""Verification reports in the reader's language: the English text (messages, headline, JSON) is
unchanged, and each step remembers its template and values, so pages fill the translated template,
also after the report was stored as JSON and read back."""

from __future__ import annotations

import gettext
import json

import pytest

from microcred import i18n
from microcred.vc.message import Message
from microcred.vc.policy import Policy
from microcred.vc.report import (
    HEADLINE_REASONS,
    HEADLINES,
    Outcome,
    Step,
    VerificationReport,
)
from microcred.vc.verify import verify
from tests.helpers import policy, signed, unsigned

FRENCH = {
    "expired on %(date)s": "expiré le %(date)s",
    "Not verified: expired: %(reason)s": "Non vérifié : expiré : %(reason)s",
    "Authentic, but %(warnings)s": "Authentique, mais %(warnings)s",
    "cannot resolve the signing key %(key)s: %(reason)s": (
        "impossible de résoudre la clé de signature %(key)s : %(reason)s"
    ),
    "cannot resolve %(did)s: no network resolver is configured for this method": (
        "impossible de résoudre %(did)s : aucun résolveur réseau n'est configuré pour cette méthode"
    ),
    "the issuer publishes no revocation status": "l'émetteur ne publie aucun statut de révocation",
    "Verified: authentic, issued by the issuer it names, and currently valid": (
        "Vérifié : authentique, émis par l'émetteur qu'il nomme, et valide actuellement"
    ),
}


class _French(gettext.NullTranslations):
    def gettext(self, message: str) -> str:
        return FRENCH.get(message, message)


@pytest.fixture
def french(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        i18n,
        "catalogue",
        lambda language: _French() if language == "fr" else gettext.NullTranslations(),
    )


def _expired() -> VerificationReport:
    document = unsigned()
    document["validUntil"] = "2026-05-15T00:00:00Z"
    return verify(json.dumps(signed(document)), policy())


def test_a_step_says_its_message_in_the_current_language(french: None) -> None:
    report = _expired()
    step = report.step("validity")
    assert step is not None
    assert step.message == "expired on 2026-05-15 00:00 UTC"
    assert step.template == "expired on %(date)s"
    assert step.params == {"date": "2026-05-15 00:00 UTC"}
    assert step.text() == "expired on 2026-05-15 00:00 UTC"  # English: the language by default
    with i18n.use_language("fr"):
        assert step.text() == "expiré le 2026-05-15 00:00 UTC"
        assert step.message == "expired on 2026-05-15 00:00 UTC"
        assert report.headline_text() == "Non vérifié : expiré : expiré le 2026-05-15 00:00 UTC"
        assert report.headline() == "Not verified: expired: expired on 2026-05-15 00:00 UTC"
        # the machine interface stays English
        data = report.to_json()
        assert data["headline"] == "Not verified: expired: expired on 2026-05-15 00:00 UTC"
        assert data["steps"][-2]["message"] == "expired on 2026-05-15 00:00 UTC"
        # a step with no translation is shown in English
        status = report.step("status")
        assert status is not None
        assert status.text() == "l'émetteur ne publie aucun statut de révocation"
        parse = report.step("parse")
        assert parse is not None
        assert parse.text() == parse.message == "the document is well-formed JSON"


def test_a_stored_report_can_still_be_translated(french: None) -> None:
    report = _expired()
    stored = json.loads(json.dumps(report.to_json()))
    step = next(s for s in stored["steps"] if s["step"] == "validity")
    assert step["template"] == "expired on %(date)s"
    assert step["params"] == {"date": "2026-05-15 00:00 UTC"}
    again = VerificationReport.from_json(stored)
    assert again.to_json() == report.to_json()  # the round trip keeps every key
    assert again.steps == report.steps
    with i18n.use_language("fr"):
        assert again.headline_text() == "Non vérifié : expiré : expiré le 2026-05-15 00:00 UTC"


def test_a_message_quoting_another_translates_both(french: None) -> None:
    """The proof step quotes the resolver's message: each is its own template."""
    document = signed()
    method = "did:example:123#key-1"
    document["proof"][0]["verificationMethod"] = method
    report = verify(json.dumps(document), Policy(clock=policy().clock))
    step = report.step("proof")
    assert step is not None
    english = (
        f"cannot resolve the signing key {method}: cannot resolve did:example:123: no network "
        "resolver is configured for this method"
    )
    assert step.message == english
    stored = VerificationReport.from_json(json.loads(json.dumps(report.to_json())))
    with i18n.use_language("fr"):
        for proof in (step, stored.step("proof")):
            assert proof is not None
            assert proof.text() == (
                f"impossible de résoudre la clé de signature {method} : impossible de résoudre "
                "did:example:123 : aucun résolveur réseau n'est configuré pour cette méthode"
            )
            assert proof.message == english


def test_a_report_stored_before_templates_is_shown_in_english(french: None) -> None:
    step = {
        "step": "validity",
        "outcome": "failed",
        "code": "validity.expired",
        "message": "expired on 2026-05-15 00:00 UTC",
    }
    old = {"steps": [step]}
    report = VerificationReport.from_json(old)
    assert report.to_json()["steps"] == old["steps"]  # no template, none written
    with i18n.use_language("fr"):
        assert report.steps[0].text() == "expired on 2026-05-15 00:00 UTC"
        assert report.headline_text() == "Non vérifié : expiré : expired on 2026-05-15 00:00 UTC"


def test_warnings_are_named_in_the_headline(french: None) -> None:
    report = VerificationReport()
    report.add("parse", Outcome.PASSED, "parse.ok", "fine")
    expired = Message("expired on %(date)s", date="2026-05-15")
    report.add("status", Outcome.WARNING, "status.x", expired)
    report.add("other", Outcome.WARNING, "other.x", "Plain English warning")
    assert report.headline() == "Authentic, but expired on 2026-05-15; plain English warning"
    assert report.headline_text() == report.headline()
    with i18n.use_language("fr"):
        # a translation is taken as written; English left untranslated reads on as in English
        assert report.headline_text() == (
            "Authentique, mais expiré le 2026-05-15; plain English warning"
        )


def test_a_verified_headline_is_translated(french: None) -> None:
    report = verify(json.dumps(signed()), policy())
    assert report.headline() == HEADLINES[report.verdict]
    with i18n.use_language("fr"):
        assert report.headline_text().startswith("Vérifié : authentique")


def test_headlines_with_a_reason_are_the_headline_and_its_reason() -> None:
    for verdict, template in HEADLINE_REASONS.items():
        assert template == HEADLINES[verdict] + ": %(reason)s"


def test_a_catalogue_that_broke_a_placeholder_falls_back_to_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken(gettext.NullTranslations):
        def gettext(self, message: str) -> str:
            return "expiré le %(jour)s" if message == "expired on %(date)s" else message

    monkeypatch.setattr(i18n, "catalogue", lambda language: Broken())
    expired = Message("expired on %(date)s", date="2026-05-15")
    step = Step("validity", Outcome.FAILED, "validity.expired", expired)
    with i18n.use_language("fr"):
        assert step.text() == "expired on 2026-05-15"


def test_messages_are_english_text_that_remembers_its_template() -> None:
    inner = Message("cannot resolve %(did)s", did="did:web:x")
    outer = Message("key %(key)s: %(reason)s; %(more)s", key="k", reason=inner, more=[inner, "x"])
    assert outer == "key k: cannot resolve did:web:x; cannot resolve did:web:x; x"
    assert isinstance(outer, str)
    assert json.dumps(outer) == json.dumps(str(outer))
    again = Message.from_json(**json.loads(json.dumps(outer.to_json())))
    assert again == outer
    assert again.to_json() == outer.to_json()
    # values that are not text or numbers keep their text (the JSON stays plain)
    odd = Message("names %(value)s", value={"template": "%(x)s"})
    assert odd == "names {'template': '%(x)s'}"
    assert Message.from_json(**json.loads(json.dumps(odd.to_json()))) == odd


def test_details_messages_are_translated_beside_their_english(french: None) -> None:
    reason = Message("expired on %(date)s", date="2026-05-15")
    entry = {"message": str(reason), **reason.to_json(), "trust_message": "registered"}
    step = Step("components", Outcome.FAILED, "clr.component_failed", "x", {"credentials": [entry]})
    with i18n.use_language("fr"):
        assert step.detail_text(entry) == "expiré le 2026-05-15"
        assert step.detail_text(entry, "trust_message") == "registered"
