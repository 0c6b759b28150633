"""Verification for everyone: the page (file, paste, link, baked PNG), /api/verify, the W3C VC
API with its negative cases, and the trust registry with QA accreditations."""

from __future__ import annotations

import copy
import io
import json
from datetime import date, timedelta

import pytest
from PIL import Image

from microcred.db.session import transaction
from microcred.services import status, trust
from microcred.services.providers import create_provider
from microcred.vc import baking, proofs
from microcred.vc.multikey import KeyPair, PublicKey
from microcred.vc.presentation import sign_presentation
from tests.helpers import ISSUED, signed, unsigned
from tests.platform.conftest import (
    PASSWORD,
    csrf_from,
    issue_to,
    make_org,
    publish_definition,
    staff,
)

PROBLEM = "application/problem+json"


def _issue(platform, org, row, email="ada@example.org"):
    return issue_to(platform, org, row, email)


def _qa_body(platform, slug="qa-agency"):
    with transaction(platform.sessions) as session:
        _body, owner = create_provider(
            platform,
            session,
            slug=slug,
            legal_name="National QA Agency",
            country_code="DE",
            owner_email=f"owner@{slug}.example",
            owner_password=PASSWORD,
            kind="qa_body",
        )
        return owner.id


def _accredit(platform, qa_owner_id, provider_slug, until):
    with transaction(platform.sessions) as session:
        return trust.accredit(
            platform,
            session,
            staff(platform, qa_owner_id),
            provider_slug=provider_slug,
            framework="EQAVET",
            scope="Vocational short courses",
            valid_from=date(2025, 1, 1),
            valid_until=until,
            report_url="https://qa.example/reports/42",
        )


def _upload(client, data: bytes, name="credential.json"):
    token = csrf_from(client.get("/verify").text)
    return client.post("/verify", data={"csrf_token": token}, files={"file": (name, data)})


def test_page_says_verified_tampered_and_revoked_step_by_step(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    good = _issue(platform, org, row)
    revoked = _issue(platform, org, row, email="bob@example.org")
    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff(platform, org.owner_id), revoked.id, "revoke", "x"
        )

    page = _upload(wired, good.document.encode()).text
    assert "Authentic, but the issuer is not a recognised provider" in page  # not accredited yet
    assert 'data-code="proof.ok"' in page
    assert 'data-code="status.ok"' in page
    assert 'data-code="eu.complete"' in page
    assert "Welding Safety" in page

    tampered = json.loads(good.document)
    tampered["credentialSubject"]["achievement"]["name"] = "Advanced Welding"
    page = _upload(wired, json.dumps(tampered).encode()).text
    assert "Not verified" in page
    assert 'data-code="proof.signature_invalid"' in page

    page = _upload(wired, revoked.document.encode()).text
    assert "Not verified" in page
    assert 'data-code="status.revoked"' in page


def test_page_reads_baked_png_svg_pasted_text_and_links(platform, wired):
    org = make_org(platform, "acme")
    credential = _issue(platform, org, publish_definition(platform, org))
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    png = baking.bake_png(buffer.getvalue(), credential.document)
    assert 'data-code="proof.ok"' in _upload(wired, png, "badge.png").text
    svg = baking.bake_svg('<svg xmlns="http://www.w3.org/2000/svg"></svg>', credential.document)
    assert 'data-code="proof.ok"' in _upload(wired, svg.encode(), "badge.svg").text
    token = csrf_from(wired.get("/verify").text)
    pasted = wired.post("/verify", data={"csrf_token": token, "text": credential.document}).text
    assert 'data-code="proof.ok"' in pasted
    linked = wired.get(
        "/verify", params={"url": f"http://testserver/credentials/{credential.id}.json"}
    )
    assert 'data-code="proof.ok"' in linked.text
    refused = wired.get("/verify", params={"url": "http://169.254.169.254/latest"})
    assert "Could not fetch" in refused.text
    garbage = _upload(wired, b"GIF89a").text
    assert 'data-code="bake.unknown_format"' in garbage


def test_pdf_certificates_verify_and_jwts_are_named(platform, wired):
    from pypdf import PdfWriter

    from microcred.render.certificate import certificate_pdf

    org = make_org(platform, "acme")
    credential = _issue(platform, org, publish_definition(platform, org))
    pdf = certificate_pdf(credential.document, "http://testserver/verify")
    page = _upload(wired, pdf, "certificate.pdf").text
    assert 'data-code="proof.ok"' in page
    assert 'data-code="status.ok"' in page
    result = wired.post("/api/verify", content=pdf).json()
    assert (result["format"], result["verified"]) == ("pdf", True)

    blank = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(100, 100)
    writer.write(blank)
    page = _upload(wired, blank.getvalue(), "blank.pdf").text
    assert 'data-code="pdf.no_credential"' in page
    assert "this PDF has no attached credential" in page

    jwt = b"eyJhbGciOiJFUzI1NiIsInR5cCI6InZjK2p3dCJ9.eyJpc3MiOiJkaWQ6ZXhhbXBsZToxIn0.c2ln"
    page = _upload(wired, jwt, "credential.jwt").text
    assert 'data-code="format.vc_jwt_unsupported"' in page
    assert "VC-JWT is not supported" in page
    for body in (jwt, json.dumps({"verifiableCredential": jwt.decode()}).encode()):
        result = wired.post("/api/verify", content=body).json()
        assert [s["code"] for s in result["steps"]] == ["format.vc_jwt_unsupported"]


def test_accreditation_shows_and_lapses_and_names_come_from_the_registry(
    platform, wired, monkeypatch
):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = _issue(platform, org, row)
    qa_owner = _qa_body(platform)
    accreditation = _accredit(platform, qa_owner, "acme", date.today() + timedelta(days=365))
    endorsement = json.loads(accreditation.document)
    assert endorsement["type"] == ["VerifiableCredential", "EndorsementCredential"]
    from microcred.vc import schema

    assert schema.validate(endorsement, schema.ENDORSEMENT_CREDENTIAL) == []

    result = wired.post("/api/verify", json=json.loads(credential.document)).json()
    step = next(s for s in result["steps"] if s["step"] == "trust")
    assert step["code"] == "trust.accredited"
    assert step["details"]["registered_name"] == "Acme Institute"
    page = _upload(wired, credential.document.encode()).text
    import re

    verdict = re.findall(r"step (\w+)\" data-code=\"([^\"]+)", page)
    assert "Verified: authentic, valid, from a quality-assured provider." in page, verdict[6:]
    assert "EQAVET by National QA Agency, valid until" in page

    # the accreditation lapses: a year and a day later, the verdict kept for it is not used
    later = platform.now() + timedelta(days=366)
    monkeypatch.setattr(platform, "now", lambda: later)
    result = wired.post("/api/verify", json=json.loads(credential.document)).json()
    step = next(s for s in result["steps"] if s["step"] == "trust")
    assert step["code"] == "trust.not_accredited"
    assert "not currently accredited" in step["message"]

    # an unregistered issuer calling itself "Acme Institute" does not look registered
    impostor = KeyPair.generate()
    fake = unsigned(issuer=impostor.public.did_key)
    fake["issuer"]["name"] = "Acme Institute"
    fake_signed = signed(fake, key=impostor)
    result = wired.post("/api/verify", json=fake_signed).json()
    step = next(s for s in result["steps"] if s["step"] == "trust")
    assert step["code"] == "trust.unregistered"
    page = _upload(wired, json.dumps(fake_signed).encode()).text
    assert "Not a registered provider (calls itself “Acme Institute”)" in page
    assert "registered</span>" not in page


def test_registry_documents(platform, wired):
    make_org(platform, "acme")
    make_org(platform, "unaccredited")
    qa_owner = _qa_body(platform)
    _accredit(platform, qa_owner, "acme", date.today() + timedelta(days=30))
    registry = wired.get("/registry.json").json()
    assert [e["name"] for e in registry["entries"]] == ["Acme Institute"]
    proof = registry.pop("proof")
    signer = wired.get("/providers/platform/did.json").json()["verificationMethod"][0][
        "publicKeyMultibase"
    ]
    from microcred.vc.loader import default_loader

    proofs.verify_proof(registry, proof, PublicKey.from_multibase(signer), default_loader())
    dcc = wired.get("/registry/dcc.json").json()
    assert list(dcc["registry"].values()) == [
        {"name": "Acme Institute", "url": "https://acme.example", "location": "DE"}
    ]
    parsed = trust.parse_registry("external", dcc)
    assert parsed.lookup(next(iter(dcc["registry"]))).name == "Acme Institute"


def test_only_qa_bodies_accredit(platform, client):
    org = make_org(platform, "acme")
    from microcred.domain.errors import DomainError

    with transaction(platform.sessions) as session, pytest.raises(DomainError) as caught:
        trust.accredit(
            platform,
            session,
            staff(platform, org.owner_id),
            provider_slug="acme",
            framework="ESG",
            scope="x",
            valid_from=date(2025, 1, 1),
            valid_until=date(2026, 1, 1),
            report_url=None,
        )
    assert caught.value.code == "forbidden"


def test_vc_api_verify(platform, wired):
    org = make_org(platform, "acme")
    credential = json.loads(_issue(platform, org, publish_definition(platform, org)).document)
    ok = wired.post(
        "/credentials/verify",
        json={"verifiableCredential": credential, "options": {"unknownOption": 1}},
    )
    assert ok.status_code == 200
    assert ok.json()["verified"] is True
    assert "proof" in ok.json()["checks"]
    tampered = copy.deepcopy(credential)
    tampered["validFrom"] = "2020-01-01T00:00:00Z"
    bad = wired.post("/credentials/verify", json={"verifiableCredential": tampered})
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith(PROBLEM)
    assert bad.json()["errors"][0]["code"] == "proof.signature_invalid"
    # /credentials/issue and /credentials/status: tests/platform/test_vc_api_issue.py


def test_vc_api_presentations(platform, wired):
    org = make_org(platform, "acme")
    credential = json.loads(_issue(platform, org, publish_definition(platform, org)).document)
    holder = KeyPair.generate()
    vp = sign_presentation(
        [credential], holder, challenge="abc", domain="example.org", created=ISSUED
    )
    options = {"challenge": "abc", "domain": "example.org"}
    ok = wired.post(
        "/presentations/verify", json={"verifiablePresentation": vp, "options": options}
    )
    assert ok.status_code == 200, ok.json()
    wrong = wired.post(
        "/presentations/verify",
        json={"verifiablePresentation": vp, "options": {**options, "challenge": "x"}},
    )
    assert wrong.status_code == 422
    inner = copy.deepcopy(credential)
    inner["credentialSubject"]["achievement"]["name"] = "Forged"
    vp2 = sign_presentation([inner], holder, challenge="abc", domain="example.org", created=ISSUED)
    tampered = wired.post(
        "/presentations/verify", json={"verifiablePresentation": vp2, "options": options}
    )
    assert tampered.status_code == 422
    assert any(e["code"] == "proof.signature_invalid" for e in tampered.json()["errors"])


def _di_negative_cases(credential):
    """W3C vc-data-integrity / vc-di-eddsa test-suite negative cases, ported."""

    def mutate(fn):
        copy_ = copy.deepcopy(credential)
        fn(copy_)
        return copy_

    proof = lambda c: c["proof"][0]  # noqa: E731
    return {
        "proof missing": mutate(lambda c: c.pop("proof")),
        "proof.type missing": mutate(lambda c: proof(c).pop("type")),
        "proof.type not DataIntegrityProof": mutate(lambda c: proof(c).update(type="UnknownProof")),
        "cryptosuite missing": mutate(lambda c: proof(c).pop("cryptosuite")),
        "cryptosuite unknown": mutate(lambda c: proof(c).update(cryptosuite="eddsa-rdfc-2019")),
        "proofValue missing": mutate(lambda c: proof(c).pop("proofValue")),
        "proofValue not multibase": mutate(lambda c: proof(c).update(proofValue="not-base58-%%")),
        "proofValue base64 (u) prefix": mutate(
            lambda c: proof(c).update(proofValue="u" + proof(c)["proofValue"][1:])
        ),
        "verificationMethod missing": mutate(lambda c: proof(c).pop("verificationMethod")),
        "verificationMethod not a DID URL": mutate(
            lambda c: proof(c).update(verificationMethod="https://x.example/key")
        ),
        "proofPurpose missing": mutate(lambda c: proof(c).pop("proofPurpose")),
        "proofPurpose authentication": mutate(
            lambda c: proof(c).update(proofPurpose="authentication")
        ),
        "created changed": mutate(lambda c: proof(c).update(created="2020-01-01T00:00:00Z")),
        "created malformed": mutate(lambda c: proof(c).update(created="yesterday")),
        "expires in the past": mutate(lambda c: proof(c).update(expires="2020-01-01T00:00:00Z")),
        "document changed": mutate(lambda c: c.update(name="Changed")),
        "@context missing": mutate(lambda c: c.pop("@context")),
        "@context not VC first": mutate(lambda c: c["@context"].reverse()),
        "type missing": mutate(lambda c: c.pop("type")),
        "issuer missing": mutate(lambda c: c.pop("issuer")),
        "credentialSubject missing": mutate(lambda c: c.pop("credentialSubject")),
        "proof is a string": mutate(lambda c: c.update(proof="z123")),
        "proof value of another credential": mutate(
            lambda c: proof(c).update(proofValue=signed()["proof"][0]["proofValue"])
        ),
    }


def test_w3c_negative_cases_answer_400_or_422_with_problem_details(platform, wired):
    org = make_org(platform, "acme")
    credential = json.loads(_issue(platform, org, publish_definition(platform, org)).document)
    for name, case in _di_negative_cases(credential).items():
        response = wired.post("/credentials/verify", json={"verifiableCredential": case})
        assert response.status_code in (400, 422), (name, response.status_code, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), name
        assert response.json()["verified"] is False, name
    requests = {
        "not JSON": b"{not json",
        "JSON array": b"[]",
        "no verifiableCredential": b'{"options": {}}',
        "verifiableCredential a string": b'{"verifiableCredential": "eyJ..."}',
        "options not an object": json.dumps(
            {"verifiableCredential": credential, "options": 3}
        ).encode(),
        "duplicate keys": b'{"verifiableCredential": {}, "verifiableCredential": {}}',
    }
    for name, body in requests.items():
        response = wired.post(
            "/credentials/verify", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (name, response.status_code)
        assert response.headers["content-type"].startswith(PROBLEM), name
    for name, body in requests.items():
        response = wired.post(
            "/presentations/verify",
            content=body.replace(b"verifiableCredential", b"verifiablePresentation"),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400, (name, response.status_code)


def test_configured_external_registries_are_consulted(platform, client, tmp_path):
    from dataclasses import replace as dc_replace

    from microcred.services.verification import load_configured_registries

    issuer = KeyPair.generate()
    registry = tmp_path / "registry.json"
    registry.write_text(
        json.dumps(
            {
                "meta": {},
                "registry": {
                    issuer.public.did_key: {
                        "name": "Partner University",
                        "url": "https://partner.example",
                    }
                },
            }
        )
    )
    platform.settings = dc_replace(platform.settings, registries=(str(registry),))
    load_configured_registries(platform)
    credential = signed(unsigned(issuer=issuer.public.did_key), key=issuer)
    result = client.post("/api/verify", json=credential).json()
    step = next(s for s in result["steps"] if s["step"] == "trust")
    assert step["code"] == "trust.registered"
    assert step["details"]["registered_name"] == "Partner University"


def test_qa_body_pages(platform, client):
    from tests.platform.conftest import signin

    make_org(platform, "acme")
    _qa_body(platform)
    token = signin(client, "owner@qa-agency.example")
    assert client.get("/dashboard", follow_redirects=False).headers["location"] == "/qa"
    form = {
        "csrf_token": token,
        "provider": "acme",
        "framework": "ESG",
        "scope": "Short courses",
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "report_url": "https://qa.example/r/1",
    }
    assert client.post("/qa/accreditations", data=form, follow_redirects=False).status_code == 303
    page = client.get("/qa").text
    assert "Acme Institute" in page
    assert "Short courses" in page
    bad = client.post("/qa/accreditations", data={**form, "valid_until": "soon"})
    assert bad.status_code == 422
    assert "YYYY-MM-DD" in bad.text
    unknown = client.post("/qa/accreditations", data={**form, "provider": "nobody"})
    assert unknown.status_code == 422
    assert "no provider" in unknown.text
    assert client.post("/qa/accreditations", data={**form, "csrf_token": "x"}).status_code == 403
    signin(client, "owner@acme.example")
    assert client.get("/qa").status_code == 404


def test_the_platform_reads_its_own_documents_without_http(platform, client):
    """Verification of the platform's own credentials needs no HTTP round trip to itself."""
    from microcred.services.verification import SelfFetcher, platform_policy
    from microcred.vc.fetch import SafeFetcher
    from microcred.vc.verify import verify

    org = make_org(platform, "acme")
    credential = _issue(platform, org, publish_definition(platform, org))
    platform.fetcher = SafeFetcher(platform.settings.allow_http_hosts, ttl=0)  # no opener: no HTTP
    report = verify(credential.document, platform_policy(platform))
    assert report.verified, report.to_json()
    assert report.step("status").code == "status.ok"
    fetcher = SelfFetcher(platform)
    assert json.loads(fetcher.fetch(f"http://testserver/credentials/{credential.id}.json"))
    from microcred.vc.fetch import FetchError

    with pytest.raises(FetchError):
        fetcher.fetch("http://testserver/providers/nobody/did.json")
    with pytest.raises(FetchError):  # other origins still go through the safe fetcher
        fetcher.fetch("https://169.254.169.254/providers/acme/did.json")
