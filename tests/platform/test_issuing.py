"""Issuing, EU elements, status changes, versions, key rotation and the JSON API."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from microcred.db.session import transaction
from microcred.db.tables import Provider
from microcred.domain.award import read_eu_elements
from microcred.domain.catalog import MANDATORY_ELEMENTS
from microcred.domain.errors import DomainError
from microcred.services import definitions, issuing, keys, status
from microcred.services.providers import create_api_token
from microcred.vc import schema
from microcred.vc.verify import verify
from tests.platform.conftest import DEFINITION, issue_to, make_org, publish_definition, staff


def _issue(platform, org, row, email="ada@example.org", name="Ada Lovelace", **extra):
    return issue_to(platform, org, row, email, name, **extra)


def test_issued_credential_is_valid_ob3_with_every_eu_element(platform, client, verifier):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = _issue(platform, org, row)
    document = json.loads(credential.document)
    assert schema.validate(document, schema.ACHIEVEMENT_CREDENTIAL) == []
    elements = read_eu_elements(document)
    assert set(MANDATORY_ELEMENTS) <= set(elements), set(MANDATORY_ELEMENTS) - set(elements)
    assert elements["learner"] == "Ada Lovelace"
    assert elements["workload"] == "1.5 ECTS (40 hours)"
    assert elements["level"] == "EQF level 4"
    assert elements["country"] == "DE, Berlin"
    assert elements["participation"] == "On-site"
    assert "Identifies welding hazards" in elements["learning_outcomes"]
    assert elements["supervision"].startswith("Supervised with identity verification")
    achievement = document["credentialSubject"]["achievement"]
    assert achievement["creditsAvailable"] == 1.5
    assert achievement["achievementType"] == "MicroCredential"
    assert {"targetUrl": "http://data.europa.eu/snb/eqf/4"}.items() <= next(
        a for a in achievement["alignment"] if a.get("targetFramework", "").startswith("European")
    ).items()
    report = verify(credential.document, verifier)
    assert report.verified, report.to_json()
    assert report.step("status").code == "status.ok"


def test_stored_verbatim_and_served_byte_for_byte(platform, client):
    org = make_org(platform, "acme")
    credential = _issue(platform, org, publish_definition(platform, org))
    response = client.get(f"/credentials/{credential.id}.json")
    assert response.status_code == 200
    assert response.content == credential.document.encode("utf-8")


def test_revoke_suspend_reinstate(platform, client, verifier):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org, {**DEFINITION, "suspendable": True})
    first = _issue(platform, org, row, email="a@example.org")
    second = _issue(platform, org, row, email="b@example.org")
    owner = staff(platform, org.owner_id)
    with transaction(platform.sessions) as session:
        status.change_state(platform, session, owner, first.id, "revoke", "Plagiarism")
        status.change_state(platform, session, owner, second.id, "suspend", "Under review")
    assert verify(first.document, verifier).step("status").code == "status.revoked"
    assert verify(second.document, verifier).step("status").code == "status.suspended"
    with transaction(platform.sessions) as session:
        status.change_state(platform, session, owner, second.id, "reinstate", "")
        with pytest.raises(DomainError) as caught:
            status.change_state(platform, session, owner, first.id, "reinstate", "")
    assert caught.value.code == "status.already_revoked"
    assert verify(second.document, verifier).verified
    page = client.get(f"/credentials/{first.id}").text
    assert "has been revoked" in page
    assert "Plagiarism" in page


def test_reason_is_required(platform):
    org = make_org(platform, "acme")
    credential = _issue(platform, org, publish_definition(platform, org))
    with transaction(platform.sessions) as session, pytest.raises(DomainError) as caught:
        status.change_state(
            platform, session, staff(platform, org.owner_id), credential.id, "revoke", " "
        )
    assert caught.value.code == "status.reason_required"


def test_publication_needs_every_mandatory_element(platform):
    org = make_org(platform, "acme")
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        row = definitions.create(platform, session, provider, {"title": "Half done"})
        with pytest.raises(definitions.PublicationBlockedError) as caught:
            definitions.publish(platform, session, row)
    fields = {field for field, _ in caught.value.problems}
    assert {
        "learning_outcomes",
        "workload_ects",
        "level",
        "assessment_type",
        "participation",
        "quality_assurance",
    } <= fields
    # country and awarding body default from the provider's profile
    assert "country_code" not in fields
    assert "awarding_body" not in fields


def test_credentials_keep_their_definition_version(platform):
    org = make_org(platform, "acme")
    v1 = publish_definition(platform, org)
    old = _issue(platform, org, v1)
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        draft = definitions.new_version(
            platform, session, definitions.get(session, provider, v1.id)
        )
        definitions.update(session, provider, draft, {**DEFINITION, "title": "Welding Safety 2027"})
        v2 = definitions.publish(platform, session, draft)
        assert definitions.get(session, provider, v1.id).state == "retired"
    assert v2.version == 2
    assert json.loads(old.document)["credentialSubject"]["achievement"]["version"] == "1"
    with pytest.raises(DomainError) as caught:
        _issue(platform, org, v1)
    assert caught.value.code == "definition.not_published"
    new = _issue(platform, org, v2)
    assert (
        json.loads(new.document)["credentialSubject"]["achievement"]["name"]
        == "Welding Safety 2027"
    )


def test_key_rotation_keeps_old_credentials_verifying(platform, client, verifier):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    before = _issue(platform, org, row, email="before@example.org")
    with transaction(platform.sessions) as session:
        keys.add_key(platform, session, session.get(Provider, org.provider_id))
    after = _issue(platform, org, row, email="after@example.org")
    assert before.key_fragment == "key-1"
    assert after.key_fragment == "key-2"
    did_document = client.get("/providers/acme/did.json").json()
    assert [m["id"].split("#")[1] for m in did_document["verificationMethod"]] == ["key-2", "key-1"]
    for credential in (before, after):
        assert verify(credential.document, verifier).verified


def test_a_key_rotation_re_signs_the_stored_status_lists_in_one_job(platform):
    from sqlalchemy import select

    from microcred.db.tables import PublishedStatusList
    from microcred.services import jobs

    org = make_org(platform, "acme")
    _issue(platform, org, publish_definition(platform, org))

    def signed_with() -> set[str]:
        with transaction(platform.sessions, readonly=True) as session:
            documents = session.scalars(select(PublishedStatusList.document)).all()
        return {json.loads(d)["proof"]["verificationMethod"].split("#")[1] for d in documents}

    assert signed_with() == {"key-1"}
    for _ in range(2):  # two rotations before a worker comes by: one job
        with transaction(platform.sessions) as session:
            keys.add_key(platform, session, session.get(Provider, org.provider_id))
    assert jobs.state(platform).waiting == 1
    assert signed_with() == {"key-1"}  # (a read meanwhile re-signs what it serves)
    assert jobs.drain(platform) == 1
    assert signed_with() == {"key-3"}


def test_private_keys_are_not_readable_in_a_database_dump(platform):
    org = make_org(platform, "acme")
    credential = _issue(platform, org, publish_definition(platform, org))
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        _, key_pair = keys.active_key(platform, session, provider)
        secret = key_pair.secret_multibase()
        seed_hex = key_pair._private.private_bytes_raw().hex()
        dump = []
        for table in (
            "providers",
            "staff",
            "signing_keys",
            "definitions",
            "learners",
            "credentials",
            "credential_events",
            "status_lists",
            "api_tokens",
        ):
            for values in session.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                dump.append(repr(values))
    text_dump = "\n".join(dump)
    assert credential.id in text_dump  # the dump is real
    assert secret not in text_dump
    assert seed_hex not in text_dump
    assert seed_hex not in text_dump.replace("\\x", "")


def test_api_issues_with_idempotency_and_refuses_bad_input(platform, client, verifier):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        token = create_api_token(platform, session, staff(platform, org.staff["issuer"]), "ci")
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "definition_id": row.id,
        "name": "Grace Hopper",
        "email": "grace@example.org",
        "idempotency_key": "order-42",
    }
    first = client.post("/api/v1/credentials", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/credentials", json=body, headers=headers)
    assert again.json()["id"] == first.json()["id"]
    assert verify(first.json()["credential"], verifier).verified

    assert client.post("/api/v1/credentials", json=body).status_code == 401
    bad = client.post(
        "/api/v1/credentials",
        json={
            **body,
            "idempotency_key": None,
            "results": [{"outcome_id": "urn:nope", "achieved": True}],
        },
        headers=headers,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "assessment.unknown_outcome"
    missing = client.post("/api/v1/credentials", json={"name": "x"}, headers=headers)
    assert missing.status_code == 422
    other = client.post(
        "/api/v1/credentials", json={**body, "definition_id": 99999}, headers=headers
    )
    assert other.status_code == 404
    revoke = client.post(
        f"/api/v1/credentials/{first.json()['id']}/status",
        json={"action": "revoke", "reason": "issued in error"},
        headers=headers,
    )
    assert revoke.status_code == 200
    assert revoke.json()["state"] == "revoked"


def test_status_lists_are_signed_once_and_served_the_same_by_every_process(platform, wired):
    """The signed list lives in the database: two apps (two web processes) serve the same bytes,
    a revocation re-signs it at once, and a key rotation re-signs it with the new key."""
    from fastapi.testclient import TestClient

    from microcred.db.tables import PublishedStatusList
    from microcred.services.verification import platform_policy
    from microcred.web.app import create_app

    org = make_org(platform, "lists")
    credential = issue_to(platform, org, publish_definition(platform, org))
    url = "/providers/lists/status/1/revocation"
    first = wired.get(url).content
    with TestClient(create_app(platform), base_url="http://testserver") as other_process:
        assert other_process.get(url).content == first
    with transaction(platform.sessions) as session:
        assert session.query(PublishedStatusList).count() == 2  # revocation and suspension
        status.change_state(
            platform, session, staff(platform, org.owner_id), credential.id, "revoke", "Error"
        )
    revoked = wired.get(url).content
    assert revoked != first
    assert verify(credential.document, platform_policy(platform)).verdict.value == "revoked"
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        keys.add_key(platform, session, provider)
    rotated = json.loads(wired.get(url).content)
    assert rotated["proof"]["verificationMethod"].endswith("#key-2")
    assert verify(credential.document, platform_policy(platform)).verdict.value == "revoked"


def test_an_upgraded_install_signs_its_lists_at_start_up(platform, wired):
    """After the upgrade to stored lists (no stored copy yet), the app signs and stores them
    when it starts, so GETs serve the same stored bytes."""
    from fastapi.testclient import TestClient

    from microcred.db.tables import PublishedStatusList
    from microcred.web.app import create_app

    org = make_org(platform, "upgraded")
    issue_to(platform, org, publish_definition(platform, org))
    with transaction(platform.sessions) as session:
        session.query(PublishedStatusList).delete()
    with TestClient(create_app(platform), base_url="http://testserver") as restarted:
        with transaction(platform.sessions, readonly=True) as session:
            assert session.query(PublishedStatusList).count() == 2
        url = "/providers/upgraded/status/1/revocation"
        assert restarted.get(url).content == restarted.get(url).content


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_stored_text_is_what_the_standard_encoder_writes(value) -> None:
    """orjson writes the stored text (ADR 0025): the standard encoder's text, so a credential is
    found by its id's JSON text (``vc_api``) whichever wrote it."""
    document = {"id": value, "v": [value]}
    assert issuing.credential_text(document) == json.dumps(
        document, ensure_ascii=False, separators=(",", ":")
    )


def test_what_orjson_refuses_the_standard_encoder_writes() -> None:
    document = {"big": 2**70, "id": "urn:x"}
    assert json.loads(issuing.credential_text(document)) == document


def test_an_assessor_picks_the_learner_from_the_list(platform, client):
    import re

    from sqlalchemy import func, select

    from microcred.db.session import transaction
    from microcred.db.tables import Assessment
    from tests.platform.conftest import csrf_from, issue_to, make_org, publish_definition, signin

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    issue_to(platform, org, row, "niamh@example.org", "Niamh O'Brien")  # a learner of ours
    other = make_org(platform, "other")
    issue_to(platform, other, publish_definition(platform, other), "x@example.org", "Not Ours")
    signin(client, "assessor@acme.example")
    form = client.get(f"/definitions/{row.id}/assess").text
    picks = dict(re.findall(r'<option value="(\d+)" >([^<]+)</option>', form))
    assert list(picks.values()) == ["Niamh O&#39;Brien (niamh@example.org)"]  # ours only
    niamh = next(iter(picks))
    token = csrf_from(form)
    outcomes = re.findall(r'name="achieved" value="([^"]+)"', form)
    recorded = client.post(
        f"/definitions/{row.id}/assess",
        data={"csrf_token": token, "learner_id": niamh, "achieved": outcomes,
              "supervision": "supervised", "assessed_on": "2026-11-30"},
        follow_redirects=True,
    )  # fmt: skip
    assert recorded.status_code == 200
    assert "Niamh O&#39;Brien" in recorded.text
    with transaction(platform.sessions, readonly=True) as session:
        before = session.scalar(select(func.count()).select_from(Assessment))
    with transaction(platform.sessions, readonly=True) as session:
        from microcred.db.tables import Learner

        theirs = session.scalar(select(Learner.id).where(Learner.email == "x@example.org"))
    refused = client.post(
        f"/definitions/{row.id}/assess",
        data={"csrf_token": token, "learner_id": str(theirs), "achieved": outcomes,
              "supervision": "supervised", "assessed_on": "2026-11-30"},
    )  # fmt: skip
    assert refused.status_code == 422
    assert "learner not found" in refused.text
    with transaction(platform.sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == before


def test_assessment_in_depth_scores_notes_and_evidence(platform, client):
    import re

    from sqlalchemy import func, select

    from microcred.db.session import transaction
    from microcred.db.tables import Assessment, AssessmentEvidence
    from tests.platform.conftest import csrf_from, make_org, publish_definition, signin

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    signin(client, "assessor@acme.example")
    form = client.get(f"/definitions/{row.id}/assess").text
    token = csrf_from(form)
    first, second = re.findall(r'name="achieved" value="([^"]+)"', form)
    fields = {"csrf_token": token, "name": "Lin Chen", "email": "lin@example.org",
              "achieved": [first, second], "supervision": "supervised",
              "assessed_on": "2026-11-30", f"score_{first}": "92,5", f"note_{first}": "Thorough",
              "note": "Observed on site <b>twice</b>"}  # fmt: skip
    pdf = b"%PDF-1.7\n% a marked script\n"
    bad_score = client.post(
        f"/definitions/{row.id}/assess", data={**fields, f"score_{second}": "120"},
        files=[("evidence", ("script.pdf", pdf, "application/pdf"))],
    )  # fmt: skip
    assert bad_score.status_code == 422
    assert "from 0 to 100" in bad_score.text
    assert 'value="92,5"' in bad_score.text  # what was typed stays
    not_evidence = client.post(
        f"/definitions/{row.id}/assess", data=fields,
        files=[("evidence", ("tool.exe", b"MZ\x90\x00\xff\xfe", "application/octet-stream"))],
    )  # fmt: skip
    assert not_evidence.status_code == 422
    assert "is not a PDF, PNG, JPEG or text file" in not_evidence.text
    with transaction(platform.sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 0  # nothing kept

    recorded = client.post(
        f"/definitions/{row.id}/assess", data=fields,
        files=[("evidence", ("Marked script.pdf", pdf, "application/pdf")),
               ("evidence", ("observation.txt", b"Lifted correctly.", "text/plain"))],
        follow_redirects=True,
    )  # fmt: skip
    assert recorded.status_code == 200
    page = recorded.text
    assert "92.5" in page
    assert "Thorough" in page
    assert "Observed on site &lt;b&gt;twice&lt;/b&gt;" in page
    links = re.findall(r'href="(/assessments/\d+/evidence/\d+)"', page)
    assert len(links) == 2
    download = client.get(links[0])
    assert download.content == pdf
    assert download.headers["content-disposition"] == 'attachment; filename="marked-script.pdf"'
    assert download.headers["x-content-type-options"] == "nosniff"
    with transaction(platform.sessions, readonly=True) as session:
        assessment = session.scalar(select(Assessment))
        assert assessment.results[0] == {
            "outcome_id": first,
            "achieved": True,
            "score": 92.5,
            "note": "Thorough",
        }
        assert session.scalar(select(func.count()).select_from(AssessmentEvidence)) == 2
    other = make_org(platform, "other")
    signin(client, other.owner_email)
    assert client.get(links[0]).status_code == 404  # another provider's staff
