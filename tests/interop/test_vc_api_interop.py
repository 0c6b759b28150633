"""Interop for the VC API's issuer side: a credential issued through POST /credentials/issue
verifies in Digital Bazaar's stack and the DCC verifier-core, and once revoked through POST
/credentials/status it fails in both, as in microcred (the app served on loopback)."""

from __future__ import annotations

import httpx
import pytest

from microcred.db.session import transaction
from microcred.services.providers import create_api_token
from microcred.services.verification import platform_policy
from microcred.vc.loader import VC_V2
from microcred.vc.verify import verify
from tests.platform.conftest import database_url, live, make_org, staff  # noqa: F401

pytestmark = [
    pytest.mark.platform,
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1", "::1", "localhost"]),
]


def test_vc_api_credential_revoked_fails_in_digital_bazaar_and_dcc(live, harness):  # noqa: F811
    app, host = live
    org = make_org(app, "acme")
    with transaction(app.sessions) as session:
        token = create_api_token(app, session, staff(app, org.staff["issuer"]), "interop")
    did = f"did:web:{host.replace(':', '%3A')}:providers:acme"
    credential = {
        "@context": [VC_V2],
        "id": "urn:uuid:0d3b6d0e-5a3c-4d59-8a43-3f1e8f2b9c77",
        "type": ["VerifiableCredential"],
        "issuer": did,
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:ada", "name": "Ada Lovelace"},
    }
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://{host}", headers=headers, timeout=30) as client:
        issued = client.post("/credentials/issue", json={"credential": credential})
        assert issued.status_code == 201, issued.text
        vc = issued.json()["verifiableCredential"]
        tasks = [
            {"op": "verify", "verifier": stack, "credential": vc}
            for stack in ("digitalbazaar", "dcc")
        ]
        before = harness.run(tasks, http_hosts=[host])
        assert [r["verified"] for r in before] == [True, True], before

        revoked = client.post(
            "/credentials/status",
            json={
                "credentialId": vc["id"],
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                },
                "status": True,
            },
        )
        assert revoked.status_code == 200, revoked.text

    db, dcc = harness.run(tasks, http_hosts=[host])
    assert db["verified"] is False, db
    assert {"purpose": "revocation", "set": True, "verified": True} in db["statuses"], db
    assert dcc["verified"] is False, dcc
    assert {"id": "revocation_status", "valid": False} in dcc["log"], dcc
    ours = verify(vc, platform_policy(app))
    assert ours.step("status").code == "status.revoked"
