"""The W3C VC API's issuer side: /credentials/issue refuses what breaks the VC Data Model with
problem details naming each field, and issues the rest through the issuing service (a row, a
revocation entry, an audit event); /credentials/status revokes it like the provider pages do."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Credential, CredentialEvent, Definition, StatusList
from microcred.services.providers import create_api_token
from microcred.vc.loader import VC_V1, VC_V2
from tests.platform.conftest import make_org, staff

PROBLEM = "application/problem+json"
DID = "did:web:testserver:providers:acme"
VALID: dict[str, Any] = {
    "@context": [VC_V2],
    "id": "urn:uuid:2f2e9b84-86b4-4b39-a1d5-2a8f1f0b6c11",
    "type": ["VerifiableCredential"],
    "issuer": DID,
    "validFrom": "2026-01-01T00:00:00Z",
    "credentialSubject": {"id": "did:example:ada", "name": "Ada Lovelace"},
}
_DROP = object()


def _with(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    for key, value in changes.items():
        if value is _DROP:
            del document[key]
        else:
            document[key] = value
    return document


VIOLATIONS: dict[str, tuple[dict[str, Any], str]] = {
    "no credentialSubject": (_with(credentialSubject=_DROP), "credentialSubject"),
    "credentialSubject is 4": (_with(credentialSubject=4), "credentialSubject"),
    "no issuer": (_with(issuer=_DROP), "issuer"),
    "issuer not a URL": (_with(issuer="Acme"), "issuer"),
    "issuer id not a URL": (_with(issuer={"id": "acme"}), "issuer.id"),
    "another issuer": (_with(issuer="did:example:someone-else"), "issuer"),
    "id not a URL": (_with(id="credential 1"), "id"),
    "subject id not a URL": (_with(credentialSubject={"id": "ada"}), "credentialSubject.id"),
    "type without VerifiableCredential": (_with(type=["Badge"]), "type"),
    "validFrom malformed": (_with(validFrom="2026-01-01"), "validFrom"),
    "validUntil malformed": (_with(validUntil="next year"), "validUntil"),
    "issuanceDate malformed": (
        _with(**{"@context": [VC_V1], "validFrom": _DROP, "issuanceDate": "1 May 2026"}),
        "issuanceDate",
    ),
    "credentialStatus without type": (
        _with(credentialStatus={"id": "https://s.example/1#1"}),
        "credentialStatus.type",
    ),
    "termsOfUse without type": (_with(termsOfUse={"id": "https://t.example"}), "termsOfUse.type"),
    "evidence without type": (_with(evidence=[{"id": "https://e.example"}]), "evidence[0].type"),
    "refreshService without type": (
        _with(refreshService={"id": "https://r.example"}),
        "refreshService.type",
    ),
    "credentialSchema without type": (
        _with(credentialSchema={"id": "https://s.example/s.json"}),
        "credentialSchema.type",
    ),
    "relatedResource without id": (
        _with(relatedResource=[{"digestSRI": "sha384-x"}]),
        "relatedResource[0].id",
    ),
    "relatedResource without digest": (
        _with(relatedResource=[{"id": "https://r.example/a"}]),
        "relatedResource[0]",
    ),
    "already signed": (_with(proof={"type": "DataIntegrityProof"}), "proof"),
    "id of a page of this platform": (_with(id="http://testserver/credentials/x"), "id"),
    "a term the context does not define": (
        _with(**{"@context": [VC_V1], "validFrom": _DROP, "issuanceDate": "2026-01-01T00:00:00Z"}),
        "",
    ),
}


@pytest.fixture
def token(platform, wired):
    org = make_org(platform, "acme")
    with transaction(platform.sessions) as session:
        return create_api_token(platform, session, staff(platform, org.staff["issuer"]), "t")


def _post(client, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(body, bytes):
        return client.post(path, content=body, headers=headers)
    return client.post(path, json=body, headers=headers)


def _counts(platform) -> tuple[int, int, int]:
    with transaction(platform.sessions, readonly=True) as session:
        return (
            session.scalar(select(func.count()).select_from(Credential)) or 0,
            session.scalar(select(func.coalesce(func.sum(StatusList.allocated), 0))) or 0,
            session.scalar(select(func.count()).select_from(Definition)) or 0,
        )


@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_each_violation_is_refused_with_problem_details(platform, wired, token, name):
    credential, field = copy.deepcopy(VIOLATIONS[name])
    if name == "a term the context does not define":
        credential["credentialSubject"]["undefinedTerm"] = 1  # VC 1.1 has no @vocab
    before = _counts(platform)
    response = _post(wired, "/credentials/issue", {"credential": credential}, token)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 422
    assert all(body[k] for k in ("type", "title", "detail"))
    assert field in [e["field"] for e in body["errors"]], body
    for error in body["errors"]:
        assert error["pointer"].startswith("/credential")
        assert error["message"]
    assert _counts(platform) == before  # nothing written: no row, no index, no definition


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", None),
        (b"[1]", None),
        ({"options": {}}, "credential"),
        ({"credential": "x"}, "credential"),
        ({"credential": VALID, "options": [1]}, "options"),
        (b'{"credential": {"n": ' + b"9" * 400 + b"}}", None),
    ],
)
def test_a_malformed_request_is_400(platform, wired, token, body, field):
    before = _counts(platform)
    response = _post(wired, "/credentials/issue", body, token)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert all(response.json()[k] for k in ("type", "title", "detail"))
    if field:
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert _counts(platform) == before


def test_authorisation(platform, wired, token):
    unauthenticated = _post(wired, "/credentials/issue", {"credential": VALID})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"].startswith(PROBLEM)
    org_viewer = make_org(platform, "other")
    with transaction(platform.sessions) as session:
        viewer = create_api_token(
            platform, session, staff(platform, org_viewer.staff["viewer"]), "v"
        )
    forbidden = _post(wired, "/credentials/issue", {"credential": VALID}, viewer)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith(PROBLEM)


def test_issued_through_the_service_then_revoked(platform, wired, token):
    response = _post(
        wired, "/credentials/issue", {"credential": VALID, "options": {"unknown": 1}}, token
    )
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    assert isinstance(vc["proof"], dict)
    assert (vc["issuer"], vc["id"]) == (DID, VALID["id"])
    entry = vc["credentialStatus"]
    assert entry["statusPurpose"] == "revocation"
    assert entry["statusListCredential"].startswith("http://testserver/providers/acme/status/")

    with transaction(platform.sessions, readonly=True) as session:
        [row] = session.scalars(select(Credential)).all()
        assert row.status_index == int(entry["statusListIndex"])
        assert (row.recipient_name, row.learner_id) == ("Ada Lovelace", None)
        [event] = session.scalars(select(CredentialEvent)).all()
        assert (event.credential_id, event.action) == (row.id, "issued")
        assert event.actor_id is not None
        definition = session.get(Definition, row.definition_id)
        assert definition is not None
        assert definition.state == "vc_api"
        row_id, document = row.id, row.document
    assert wired.get(f"/credentials/{row_id}.json").json() == vc  # stored verbatim
    assert _post(wired, "/credentials/verify", {"verifiableCredential": vc}).status_code == 200
    # the hidden definition is not one of the provider's definitions
    assert (
        wired.get("/api/v1/definitions", headers={"Authorization": f"Bearer {token}"}).json() == []
    )
    assert document

    # suspension needs a suspension entry, which VC API credentials do not carry
    suspend = {
        "credentialId": vc["id"],
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "suspension"},
    }
    refused = _post(wired, "/credentials/status", suspend, token)
    assert refused.status_code == 422
    assert refused.json()["code"] == "status.not_suspendable"

    revoke = {
        "credentialId": vc["id"],
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"},
        "status": True,
    }
    revoked = _post(wired, "/credentials/status", revoke, token)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["credentials"] == [{"id": row_id, "state": "revoked"}]
    assert _post(wired, "/credentials/status", revoke, token).status_code == 200  # a retry
    publish = entry["statusListCredential"].removeprefix("http://testserver") + "/publish"
    assert _post(wired, publish, {}, token).status_code == 204

    with transaction(platform.sessions, readonly=True) as session:
        actions = [e.action for e in session.scalars(select(CredentialEvent).order_by("id"))]
    assert actions == ["issued", "revoke"]

    failed = _post(wired, "/credentials/verify", {"verifiableCredential": vc})
    assert failed.status_code == 422
    assert "status.revoked" in [e["code"] for e in failed.json()["errors"]]
    assert failed.json()["verdict"] == "revoked"
    page = wired.get(f"/credentials/{row_id}")  # the public page of a credential without an
    assert page.status_code == 200  # achievement (the manage page links it)
    assert "revoked" in page.text.lower()


def test_status_requests(platform, wired, token):
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}
    unknown = _post(
        wired, "/credentials/status", {"credentialId": "urn:x", "credentialStatus": entry}, token
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM)
    for body, field in [
        ({"credentialStatus": entry}, "credentialId"),
        ({"credentialId": "urn:x"}, "credentialStatus"),
        ({"credentialId": "urn:x", "credentialStatus": entry, "status": "yes"}, "status"),
    ]:
        response = _post(wired, "/credentials/status", body, token)
        assert response.status_code == 400
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert _post(wired, "/credentials/status", {"credentialId": "x"}).status_code == 401


def test_a_vc_1_1_credential_gets_the_status_context(platform, wired, token):
    credential = _with(
        **{"@context": [VC_V1], "validFrom": _DROP, "issuanceDate": "2026-01-01T00:00:00Z"}
    )
    credential["credentialSubject"] = {"id": "did:example:ada"}
    response = _post(wired, "/credentials/issue", {"credential": credential}, token)
    assert response.status_code == 201, response.text
    vc = response.json()["verifiableCredential"]
    assert "https://www.w3.org/ns/credentials/status/v1" in vc["@context"]
    assert _post(wired, "/credentials/verify", {"verifiableCredential": vc}).status_code == 200


def test_the_w3c_examples_context_only_when_the_operator_enables_it(platform, wired, token):
    """The W3C test suites send credentials using the examples context: refused by default
    (contexts are never fetched), issued and verified when conformance testing is enabled."""
    from dataclasses import replace

    from microcred.vc.memo import VerifyMemo

    example = _with(**{"@context": [VC_V2, "https://www.w3.org/ns/credentials/examples/v2"]})
    example["type"] = ["VerifiableCredential", "ExampleDegreeCredential"]
    refused = _post(wired, "/credentials/issue", {"credential": example}, token)
    assert refused.status_code == 422
    assert "context.unknown" in refused.text
    assert _counts(platform)[0] == 0

    platform.settings = replace(platform.settings, conformance_contexts=True)
    platform.memo = VerifyMemo(platform.loader)
    issued = _post(wired, "/credentials/issue", {"credential": example}, token)
    assert issued.status_code == 201, issued.text
    credential = issued.json()["verifiableCredential"]
    verified = _post(wired, "/credentials/verify", {"verifiableCredential": credential})
    assert verified.status_code == 200, verified.text
    assert verified.json()["verdict"] in ("verified", "verified_with_warnings")
