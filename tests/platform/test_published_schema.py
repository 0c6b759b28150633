"""What microcred issues by default validates, unchanged, against the 1EdTech AchievementCredential
schema exactly as published, with a plain Draft 2019-09 validator; suspension is opt-in per
definition (ADR 0015)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft201909Validator
from sqlalchemy import select

from microcred.db.session import transaction
from microcred.db.tables import Credential, CredentialEvent, Definition
from microcred.domain.errors import DomainError
from microcred.services import bulk, demo, jobs, status
from microcred.vc.verify import verify
from tests.platform.conftest import (
    DEFINITION,
    issue_to,
    make_org,
    publish_definition,
    signin,
    staff,
)

PUBLISHED = Path(__file__).resolve().parents[3] / "shared/standards/ob3/schema"


def published_schema() -> dict[str, Any]:
    """The vendored AchievementCredential schema, checked byte for byte against the published
    copy in the shared standards folder when it is there."""
    vendored = (
        resources.files("microcred.vc.schemas").joinpath("achievementcredential.json").read_bytes()
    )
    if PUBLISHED.is_dir():
        assert vendored == (PUBLISHED / "achievementcredential.json").read_bytes()
    schema: dict[str, Any] = json.loads(vendored)
    return schema


def _errors(document: dict[str, Any]) -> list[str]:
    validator = Draft201909Validator(published_schema())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_demo_credentials_issued_by_default_validate_against_the_published_schema(platform):
    seeded = demo.seed(platform, "demo-academy", "owner@demo-academy.example", "pw-" + "x" * 12)
    checked: set[str] = set()
    with transaction(platform.sessions, readonly=True) as session:
        for expect, ids in seeded.expected.items():
            for credential_id in ids:
                credential = session.get(Credential, credential_id)
                assert credential is not None
                definition = session.get(Definition, credential.definition_id)
                assert definition is not None
                document = json.loads(credential.document)
                if definition.data.get("suspendable"):
                    assert [e["statusPurpose"] for e in document["credentialStatus"]] == [
                        "revocation",
                        "suspension",
                    ]
                    continue
                assert document["credentialStatus"]["statusPurpose"] == "revocation"
                assert _errors(document) == [], (expect, credential_id)
                checked.add(expect if credential_id not in seeded.kinds else "kind")
    # valid, revoked and expired ones, and the macro / RPL awards, are issued the default way
    assert {"valid", "revoked", "expired", "kind"} <= checked
    assert seeded.expected["suspended"]  # the demo still has its suspended example


def test_default_definition_issues_one_status_entry_and_refuses_suspension(platform, verifier):
    org = make_org(platform, "acme")
    credential = issue_to(platform, org, publish_definition(platform, org))
    document = json.loads(credential.document)
    assert isinstance(document["credentialStatus"], dict)
    assert document["credentialStatus"]["statusPurpose"] == "revocation"
    assert isinstance(document["proof"], list)
    assert _errors(document) == []
    owner = staff(platform, org.owner_id)
    with transaction(platform.sessions) as session, pytest.raises(DomainError) as caught:
        status.change_state(platform, session, owner, credential.id, "suspend", "Under review")
    assert caught.value.code == "status.not_suspendable"
    assert "cannot be suspended" in caught.value.message
    assert "suspension status entry" in caught.value.message
    with transaction(platform.sessions, readonly=True) as session:
        row = session.get(Credential, credential.id)
        assert row is not None
        assert row.state == "active"
        assert row.state_reason is None
        events = session.scalars(
            select(CredentialEvent).where(CredentialEvent.credential_id == credential.id)
        ).all()
        assert events == []
    assert verify(credential.document, verifier).verified
    # revocation still works
    with transaction(platform.sessions) as session:
        status.change_state(platform, session, owner, credential.id, "revoke", "Plagiarism")
    assert verify(credential.document, verifier).step("status").code == "status.revoked"


def test_definition_with_suspension_issues_two_entries_and_suspends(platform, verifier):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org, {**DEFINITION, "suspendable": True})
    credential = issue_to(platform, org, row)
    document = json.loads(credential.document)
    entries = document["credentialStatus"]
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    assert entries[0]["statusListIndex"] == entries[1]["statusListIndex"]
    owner = staff(platform, org.owner_id)
    with transaction(platform.sessions) as session:
        status.change_state(platform, session, owner, credential.id, "suspend", "Under review")
    assert verify(credential.document, verifier).step("status").code == "status.suspended"
    with transaction(platform.sessions) as session:
        status.change_state(platform, session, owner, credential.id, "reinstate", "")
    assert verify(credential.document, verifier).verified


def test_manage_page_offers_suspend_only_where_the_credential_can_be(platform, client):
    org = make_org(platform, "acme")
    plain = issue_to(platform, org, publish_definition(platform, org))
    row = publish_definition(platform, org, {**DEFINITION, "suspendable": True})
    suspendable = issue_to(platform, org, row, email="b@example.org")
    token = signin(client, org.owner_email)
    page = client.get(f"/manage/credentials/{plain.id}").text
    assert 'value="suspend"' not in page
    assert 'value="revoke"' in page
    assert "can be revoked, not suspended" in page
    assert 'value="suspend"' in client.get(f"/manage/credentials/{suspendable.id}").text
    refused = client.post(
        f"/manage/credentials/{plain.id}/status",
        data={"action": "suspend", "reason": "Under review", "csrf_token": token},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "cannot be suspended" in refused.text


def test_definition_form_sets_suspension(platform, client):
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    assert 'name="suspendable"' in client.get("/definitions/new").text
    form = {
        "csrf_token": token,
        "title": "Forklift Safety",
        "suspendable": "on",
    }
    response = client.post("/definitions", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    with transaction(platform.sessions, readonly=True) as session:
        row = session.scalar(select(Definition).where(Definition.title == "Forklift Safety"))
        assert row is not None
        assert row.data["suspendable"] is True
    assert "Revocable and suspendable" in client.get(response.headers["location"]).text


def test_bulk_issuing_follows_the_definition(platform):
    org = make_org(platform, "acme")
    plain = publish_definition(platform, org)
    suspendable = publish_definition(platform, org, {**DEFINITION, "suspendable": True})
    rows = b"name,email\nAda Lovelace,ada@example.org\n"
    for row in (plain, suspendable):
        upload_id = bulk.upload_as(platform, org.staff["issuer"], row.id, rows, "one.csv")
        jobs.drain(platform)
        assert bulk.progress_of(platform, upload_id).issued == 1
    with transaction(platform.sessions, readonly=True) as session:
        documents = {
            c.definition_id: json.loads(c.document) for c in session.scalars(select(Credential))
        }
    assert documents[plain.id]["credentialStatus"]["statusPurpose"] == "revocation"
    assert _errors(documents[plain.id]) == []
    assert [e["statusPurpose"] for e in documents[suspendable.id]["credentialStatus"]] == [
        "revocation",
        "suspension",
    ]
