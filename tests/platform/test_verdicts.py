"""Kept verdicts (ADR 0022): reused while nothing they read has changed, and never after an
event or a moment that can change them. Every event and every boundary has its test."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Credential, FetchedDocument, Provider, VerificationResult
from microcred.services import keys, status, trust, verification
from microcred.services.app import App
from microcred.services.providers import create_provider
from microcred.services.verification import verify_for_platform
from microcred.vc.fetch import SafeFetcher
from tests.helpers import ISSUER_KEY, signed, unsigned
from tests.platform.conftest import (
    PASSWORD,
    issue_to,
    make_org,
    make_settings,
    publish_definition,
    staff,
)


class Counter:
    """Counts the verifications that really ran (a kept verdict runs none)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runs = 0
        real = verification.verify_document

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.runs += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(verification, "verify_document", counted)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Counter:
    return Counter(monkeypatch)


def _verdict(app: App, document: Any) -> str:
    return verify_for_platform(app, document).report.verdict.value


def _issued(app: App, slug: str = "acme", **definition: Any) -> tuple[Any, dict[str, Any]]:
    org = make_org(app, slug)
    data = None
    if definition:
        from tests.platform.conftest import DEFINITION

        data = {**DEFINITION, **definition}
    row = publish_definition(app, org, data)
    credential = issue_to(app, org, row)
    return org, json.loads(credential.document)


def _change(app: App, org: Any, document: dict[str, Any], action: str) -> None:
    credential_id = _row_id(app, document)
    with transaction(app.sessions) as session:
        status.change_state(app, session, staff(app, org.owner_id), credential_id, action, "why")


def _row_id(app: App, document: dict[str, Any]) -> str:
    with transaction(app.sessions, readonly=True) as session:
        rows = session.scalars(select(Credential)).all()
        return next(r.id for r in rows if json.loads(r.document)["id"] == document["id"])


def test_a_repeated_verification_is_answered_from_the_kept_result(platform: App, runs: Counter):
    _org, document = _issued(platform)
    first = verify_for_platform(platform, document)
    again = verify_for_platform(platform, json.dumps(document))  # the same content, as text
    assert runs.runs == 1
    assert again.to_json() == first.to_json()
    assert first.report.verdict.value == "status_unchecked" or first.report.verified


def test_the_first_verification_after_a_revocation_reports_it_revoked(platform: App, runs):
    org, document = _issued(platform)
    assert _verdict(platform, document) in ("verified", "verified_with_warnings")
    _change(platform, org, document, "revoke")
    assert _verdict(platform, document) == "revoked"
    assert runs.runs == 2


def test_suspension_and_reinstatement_each_show_at_once(platform: App, runs: Counter):
    org, document = _issued(platform, suspendable=True)
    before = _verdict(platform, document)
    _change(platform, org, document, "suspend")
    assert _verdict(platform, document) == "suspended"
    _change(platform, org, document, "reinstate")
    assert _verdict(platform, document) == before
    assert runs.runs == 3


def test_another_providers_revocation_leaves_the_kept_result_alone(platform: App, runs):
    _org, document = _issued(platform)
    other, theirs = _issued(platform, "other")
    _verdict(platform, document)
    _change(platform, other, theirs, "revoke")
    _verdict(platform, document)
    assert runs.runs == 1


def test_a_key_rotation_verifies_again(platform: App, runs: Counter):
    org, document = _issued(platform)
    first = _verdict(platform, document)
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        keys.add_key(platform, session, provider)
    assert _verdict(platform, document) == first  # earlier keys stay in the DID document
    assert runs.runs == 2


def test_an_accreditation_granted_then_withdrawn_shows_each_time(platform: App, runs):
    _org, document = _issued(platform)
    trust_step = verify_for_platform(platform, document).report.step("trust")
    assert trust_step is not None
    assert trust_step.code == "trust.unregistered"
    with transaction(platform.sessions) as session:
        _qa, owner = create_provider(
            platform,
            session,
            slug="qa-agency",
            legal_name="National QA Agency",
            country_code="DE",
            owner_email="owner@qa-agency.example",
            owner_password=PASSWORD,
            kind="qa_body",
        )
        accreditation = trust.accredit(
            platform,
            session,
            owner,
            provider_slug="acme",
            framework="EQAVET",
            scope="Short courses",
            valid_from=date(2025, 1, 1),
            valid_until=platform.now().date() + timedelta(days=365),
            report_url=None,
        )
        accreditation_id, owner_id = accreditation.id, owner.id
    step = verify_for_platform(platform, document).report.step("trust")
    assert step is not None
    assert step.code == "trust.accredited"
    with transaction(platform.sessions) as session:
        trust.withdraw(platform, session, staff(platform, owner_id), accreditation_id)
    step = verify_for_platform(platform, document).report.step("trust")
    assert step is not None
    assert step.code == "trust.not_accredited"
    assert runs.runs == 3


def _later(monkeypatch: pytest.MonkeyPatch, app: App, moment: datetime) -> None:
    monkeypatch.setattr(app, "now", lambda: moment)


def test_a_kept_result_ends_before_the_credential_expires(platform, runs, monkeypatch):
    _org, document = _issued(platform, validity_months=1)
    until = datetime.fromisoformat(document["validUntil"].replace("Z", "+00:00"))
    assert _verdict(platform, document) in ("verified", "verified_with_warnings")
    with transaction(platform.sessions, readonly=True) as session:
        kept = session.scalars(select(VerificationResult)).one()
        assert kept.expires_at <= until + timedelta(seconds=300)  # expired past the clock skew
    _later(monkeypatch, platform, platform.now() + timedelta(hours=1))
    assert _verdict(platform, document) in ("verified", "verified_with_warnings")
    assert runs.runs == 1  # still kept
    _later(monkeypatch, platform, until + timedelta(seconds=301))
    assert _verdict(platform, document) == "expired"
    assert runs.runs == 2


def test_a_result_for_a_credential_not_yet_valid_ends_when_it_becomes_valid(platform, monkeypatch):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    document = unsigned()
    document["validFrom"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
    credential = signed({k: v for k, v in document.items() if k != "credentialStatus"})
    assert _verdict(platform, credential) == "not_yet_valid"
    with transaction(platform.sessions, readonly=True) as session:
        kept = session.scalars(select(VerificationResult)).one()
        assert kept.expires_at <= start - timedelta(seconds=300)
    _later(monkeypatch, platform, start + timedelta(seconds=301))
    assert _verdict(platform, credential) != "not_yet_valid"


def test_two_processes_share_kept_results_and_see_each_others_changes(platform: App, tmp_path):
    org, document = _issued(platform)
    other = App.start(make_settings(platform.settings.database_url, tmp_path / "b"))
    try:
        runs_before = _count(platform)
        _verdict(platform, document)
        assert _count(platform) == runs_before + 1
        assert _verdict(other, document) in ("verified", "verified_with_warnings")
        assert _count(other) == runs_before + 1  # the other process used the kept row
        _change(platform, org, document, "revoke")
        assert _verdict(other, document) == "revoked"
    finally:
        other.engine.dispose()


def _count(app: App) -> int:
    with transaction(app.sessions, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(VerificationResult)) or 0)


def test_documents_fetched_from_other_hosts_are_shared_until_they_expire(platform, monkeypatch):
    """A did:web issuer elsewhere: its DID document is fetched once for every process."""
    fetched: list[str] = []
    did = "did:web:issuer.example"
    did_document = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": ISSUER_KEY.public.multibase,
            }
        ],
        "assertionMethod": [f"{did}#key-1"],
    }

    def opener(url: str) -> tuple[int, bytes]:
        fetched.append(url)
        return 200, json.dumps(did_document).encode()

    platform.fetcher = SafeFetcher({"issuer.example"}, opener=opener, ttl=0)
    document = unsigned(issuer=did)
    document.pop("credentialStatus", None)
    credentials = [
        signed(
            {**document, "id": f"urn:uuid:00000000-0000-4000-8000-00000000000{i}"},
            controller=did,
            verification_method=f"{did}#key-1",
        )
        for i in range(3)
    ]
    for credential in credentials:
        assert verify_for_platform(platform, credential).report.step("proof").code == "proof.ok"
    assert fetched == ["http://issuer.example/.well-known/did.json"]  # an allowed http host
    with transaction(platform.sessions, readonly=True) as session:
        row = session.scalars(select(FetchedDocument)).one()
        assert row.expires_at <= platform.now() + timedelta(minutes=5)
    _later(monkeypatch, platform, platform.now() + timedelta(minutes=6))
    verify_for_platform(platform, {**credentials[0], "name": "changed"})
    assert len(fetched) == 2  # expired: fetched again


def test_a_failed_fetch_is_not_kept(platform: App, runs: Counter):
    def opener(url: str) -> tuple[int, bytes]:
        return 503, b"busy"

    platform.fetcher = SafeFetcher({"issuer.example"}, opener=opener, ttl=0)
    did = "did:web:issuer.example"
    document = unsigned(issuer=did)
    document.pop("credentialStatus", None)
    credential = signed(document, controller=did, verification_method=f"{did}#key-1")
    assert not verify_for_platform(platform, credential).report.verified
    assert not verify_for_platform(platform, credential).report.verified
    assert runs.runs == 2
    assert _count(platform) == 0


def test_the_api_answers_a_kept_result_with_the_same_bytes(platform: App, client, runs: Counter):
    _org, document = _issued(platform)
    first = client.post("/api/verify", json=document)
    again = client.post("/api/verify", json=document)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert runs.runs == 1


def test_a_body_sent_again_is_not_read_again_and_a_revocation_shows_at_once(
    platform: App, client, runs: Counter, monkeypatch: pytest.MonkeyPatch
):
    from microcred.services import verdicts
    from microcred.web import verifier

    on_loop: list[str | None] = []  # kept answers read on the event loop (PostgreSQL)
    real_read = verdicts.lookup_one_async

    async def read(*args: Any) -> Any:
        found = await real_read(*args)
        on_loop.append(found and found[0])
        return found

    monkeypatch.setattr(verdicts, "lookup_one_async", read)
    org, document = _issued(platform)
    body = json.dumps(document).encode()
    headers = {"content-type": "application/json"}
    first = client.post("/api/verify", content=body, headers=headers)
    parsed: list[bytes] = []
    real = verifier._json_body
    monkeypatch.setattr(verifier, "_json_body", lambda raw: parsed.append(raw) or real(raw))
    again = client.post("/api/verify", content=body, headers=headers)
    assert again.content == first.content
    assert not parsed
    _change(platform, org, document, "revoke")
    after = client.post("/api/verify", content=body, headers=headers)
    assert after.json()["verdict"] == "revoked"
    assert len(parsed) == 1
    assert client.post("/api/verify", content=body, headers=headers).content == after.content
    assert runs.runs == 2
    assert len(parsed) == 1
    wrapped = client.post("/api/verify", json={"verifiableCredential": document})
    assert wrapped.json()["verdict"] == "revoked"
    assert len(parsed) == 2
    assert runs.runs == 2  # the same credential: its kept result
    if platform.engine.dialect.name == "postgresql":  # the second send, the fourth (revoked)
        assert on_loop == ["verified_with_warnings", None, "revoked"]
    else:
        assert on_loop == []  # SQLite reads in the thread pool


def test_the_wallet_reads_kept_verdicts_and_shows_a_revocation_at_once(platform, wired, runs):
    from tests.platform.test_wallet import _signup

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    documents = [
        json.loads(issue_to(platform, org, row, "niamh@example.org", "Niamh").document)
        for _ in range(3)
    ]
    _signup(wired, platform)
    first = wired.get("/wallet").text
    assert first.count('data-verdict="verified') == 3
    before = runs.runs
    assert wired.get("/wallet").text.count('data-verdict="verified') == 3
    assert runs.runs == before  # every verdict was kept
    _change(platform, org, documents[0], "revoke")
    page = wired.get("/wallet").text
    assert page.count('data-verdict="revoked"') == 1
    assert page.count('data-verdict="verified') == 2
