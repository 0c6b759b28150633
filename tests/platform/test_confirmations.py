"""Destructive actions ask first: the confirmation says what will happen and what will be public,
changes nothing, checks who may do it, and the confirmed request does it."""

from __future__ import annotations

from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Accreditation, Credential, SigningKey, Staff
from tests.platform.conftest import accredit, issue_to, make_org, publish_definition, signin


def _state(platform, credential_id: str) -> str:
    with transaction(platform.sessions, readonly=True) as session:
        return session.get(Credential, credential_id).state


def test_revoking_says_the_reason_will_be_public_and_waits_for_confirmation(platform, client):
    org = make_org(platform, "acme")
    credential = issue_to(platform, org, publish_definition(platform, org))
    token = signin(client, org.owner_email)
    manage = client.get(f"/manage/credentials/{credential.id}").text
    assert f'action="/manage/credentials/{credential.id}/status/confirm"' in manage
    asked = client.post(
        f"/manage/credentials/{credential.id}/status/confirm",
        data={"csrf_token": token, "action": "revoke", "reason": "Record <falsified>"},
    )
    assert asked.status_code == 200
    assert "Revoke this credential?" in asked.text
    assert "cannot be undone" in asked.text
    assert "Record &lt;falsified&gt;" in asked.text  # escaped, and said to be public
    assert 'id="public-note"' in asked.text
    assert "public page" in asked.text
    assert 'name="reason" value="Record &lt;falsified&gt;"' in asked.text
    assert _state(platform, credential.id) == "active"  # nothing happened yet

    done = client.post(
        f"/manage/credentials/{credential.id}/status",
        data={"csrf_token": token, "action": "revoke", "reason": "Record <falsified>"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _state(platform, credential.id) == "revoked"


def test_confirmations_check_who_may_act(platform, client):
    org = make_org(platform, "acme")
    other = make_org(platform, "other")
    theirs = issue_to(platform, other, publish_definition(platform, other))
    token = signin(client, org.owner_email)
    refused = client.post(
        f"/manage/credentials/{theirs.id}/status/confirm",
        data={"csrf_token": token, "action": "revoke"},
    )
    assert refused.status_code == 404
    bad = client.post(
        f"/manage/credentials/{theirs.id}/status/confirm",
        data={"csrf_token": "wrong", "action": "revoke"},
    )
    assert bad.status_code == 403
    viewer = signin(client, "viewer@acme.example")
    assert client.post("/keys/rotate/confirm", data={"csrf_token": viewer}).status_code == 403
    ours = issue_to(platform, org, publish_definition(platform, org), "o@example.org")
    refused = client.post(
        f"/manage/credentials/{ours.id}/status/confirm",
        data={"csrf_token": viewer, "action": "revoke", "reason": "x"},
    )
    assert refused.status_code == 403  # a viewer is not even asked


def test_key_rotation_and_removing_staff_ask_first(platform, client):
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    with transaction(platform.sessions, readonly=True) as session:
        keys_before = session.scalar(select(func.count()).select_from(SigningKey))
    asked = client.post("/keys/rotate/confirm", data={"csrf_token": token})
    assert "keeps verifying" in asked.text
    assert 'action="/keys/rotate"' in asked.text
    asked = client.post(
        f"/staff/{org.staff['issuer']}/deactivate/confirm", data={"csrf_token": token}
    )
    assert "Remove Issuer&#39;s access?" in asked.text
    assert (
        client.post("/staff/999999/deactivate/confirm", data={"csrf_token": token}).status_code
        == 404
    )
    with transaction(platform.sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(SigningKey)) == keys_before
        assert session.get(Staff, org.staff["issuer"]).deactivated_at is None


def test_withdrawing_an_accreditation_asks_first(platform, client):
    make_org(platform, "acme")
    accredit(platform, "acme")
    token = signin(client, "owner@qa-acme.example")
    with transaction(platform.sessions, readonly=True) as session:
        accreditation_id = session.scalar(select(Accreditation.id))
    asked = client.post(
        f"/qa/accreditations/{accreditation_id}/withdraw/confirm", data={"csrf_token": token}
    )
    assert asked.status_code == 200
    assert "trust registry" in asked.text
    with transaction(platform.sessions, readonly=True) as session:
        assert session.get(Accreditation, accreditation_id).withdrawn_at is None
