"""Pathways: a macro-credential awarded on verified components — one of them imported from
another issuer, signed with the Digital Bazaar stack — and refused once trust or a component
goes; the award names each component by the digest of its exact bytes."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import delete

from microcred.db.session import transaction
from microcred.db.tables import Credential, LearnerAccount, PathwayAward
from microcred.domain.errors import DomainError
from microcred.services import stacking, status, wallet
from microcred.services.issuing import document_of
from microcred.services.verification import load_configured_registries, platform_policy
from microcred.vc import proofs
from microcred.vc.digest import check_related
from microcred.vc.model import IdentityObject
from microcred.vc.multikey import KeyPair
from microcred.vc.verify import verify
from tests.helpers import unsigned
from tests.node_harness import Harness
from tests.platform.conftest import DEFINITION, issue_to, make_org, publish_definition, staff

SEED = bytes(range(60, 92))


def _issue(platform, org, row, email):
    return issue_to(platform, org, row, email, "Niamh O'Brien")


def _registry(platform, tmp_path, dids):
    path = tmp_path / "partners.json"
    path.write_text(
        json.dumps(
            {
                "meta": {},
                "registry": {
                    did: {"name": "Partner College", "url": "https://partner.example"}
                    for did in dids
                },
            }
        )
    )
    platform.settings = replace(platform.settings, registries=(str(path),))
    load_configured_registries(platform)


def test_pathway_award_with_a_third_party_component(platform, wired, tmp_path):
    org = make_org(platform, "acme")
    part_a = publish_definition(platform, org)
    part_b = publish_definition(platform, org, {**DEFINITION, "title": "Welding Inspection"})
    macro = publish_definition(
        platform, org, {**DEFINITION, "title": "Certificate in Welding", "workload_ects": 10}
    )
    first = _issue(platform, org, part_a, "niamh@example.org")
    _issue(platform, org, part_b, "niamh@example.org")

    partner = KeyPair.from_seed(SEED)
    external = unsigned(issuer=partner.public.did_key)
    external["issuer"] = {
        "id": partner.public.did_key,
        "type": ["Profile"],
        "name": "Partner College",
    }
    external["credentialSubject"]["achievement"]["id"] = "urn:partner:achievement:safety-law"
    external["credentialSubject"]["identifier"] = [  # about Niamh: holder binding
        IdentityObject.for_email("niamh@example.org").to_json()
    ]
    theirs = Harness().sign(proofs.EDDSA_RDFC_2022, external, SEED, "2026-05-01T09:30:00Z")
    _registry(platform, tmp_path, [partner.public.did_key])

    with transaction(platform.sessions) as session:
        family = {r.id: stacking.family_url(platform, session, r) for r in (part_a, part_b)}
        pathway = stacking.create_pathway(
            platform,
            session,
            staff(platform, org.owner_id),
            definition_id=macro.id,
            name="Certificate in Welding",
            rules={
                "all": [
                    {"credential": {"achievement": [family[part_a.id]]}},
                    {"credential": {"achievement": [family[part_b.id]]}},
                    {
                        "credential": {
                            "achievement": ["urn:partner:achievement:safety-law"],
                            "trusted": True,
                        }
                    },
                ]
            },
        )
        pathway_id = pathway.id
        account = wallet.sign_up(
            platform, session, "Niamh O'Brien", "niamh@example.org", "learner password 1"
        )
        account.email_verified_at = platform.now()
        wallet.claim(platform, session, account)
        _item, result = wallet.import_credential(
            platform, session, account, json.dumps(theirs).encode()
        )
        assert result.report.verified, result.to_json()
        account_id = account.id

    with transaction(platform.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        [progress] = stacking.progress(platform, session, account)
        assert progress.evaluation.satisfied
        record = stacking.award(platform, session, pathway_id, account)
        assert record.state == "awarded"
        macro_credential = document_of(session.get(Credential, record.credential_id))
        components = [
            i.document.encode()
            for i in wallet.items(session, account)
            if i.id in {c["item"] for c in record.components}
        ]
    assert len(components) == 3
    assert len(check_related(macro_credential, components)) == 3
    report = verify(macro_credential, platform_policy(platform))
    assert report.verified, report.to_json()

    # remove trust in the partner: a new award is refused
    _registry(platform, tmp_path, [])
    with transaction(platform.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        [progress] = stacking.progress(platform, session, account)
        assert not progress.evaluation.satisfied
        assert any("recognised provider" in m for m in progress.evaluation.missing)

    # restore trust, revoke a component: refused again
    _registry(platform, tmp_path, [partner.public.did_key])
    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff(platform, org.owner_id), first.id, "revoke", "x"
        )
    with transaction(platform.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        # a fresh learner state: the existing award stays, a new one is checked
        session.execute(delete(PathwayAward))
        with pytest.raises(DomainError) as caught:
            stacking.award(platform, session, pathway_id, account)
    assert caught.value.code == "pathway.not_met"


def test_learner_sees_progress_suggestions_and_claims(platform, wired):
    from tests.platform.test_wallet import _item_ids, _signup

    org = make_org(platform, "acme")
    part_a = publish_definition(platform, org)
    part_b = publish_definition(platform, org, {**DEFINITION, "title": "Welding Inspection"})
    macro = publish_definition(platform, org, {**DEFINITION, "title": "Certificate in Welding"})
    _issue(platform, org, part_a, "niamh@example.org")
    with transaction(platform.sessions) as session:
        rules = {
            "all": [
                {"credential": {"achievement": [stacking.family_url(platform, session, r)]}}
                for r in (part_a, part_b)
            ]
        }
        stacking.create_pathway(
            platform,
            session,
            staff(platform, org.owner_id),
            definition_id=macro.id,
            name="Certificate in Welding",
            rules=rules,
        )
    token = _signup(wired, platform)
    page = wired.get("/wallet/pathways").text
    assert "50%" in page
    assert "Welding Inspection" in page  # the definition that would fill the gap
    assert "Claim the award" not in page
    refused = wired.post(
        "/wallet/pathways/1/award", data={"csrf_token": token}, follow_redirects=True
    )
    assert "not yet" in refused.text

    _issue(platform, org, part_b, "niamh@example.org")
    page = wired.get("/wallet/pathways").text
    assert "100%" in page
    assert "Claim the award" in page
    done = wired.post("/wallet/pathways/1/award", data={"csrf_token": token}, follow_redirects=True)
    assert "Awarded" in done.text
    assert len(_item_ids(wired)) == 3
    assert "Certificate in Welding" in done.text


def test_provider_creates_a_confirm_pathway_and_confirms_the_award(platform, wired):
    from tests.platform.conftest import csrf_from, signin
    from tests.platform.test_wallet import _signup

    org = make_org(platform, "acme")
    other = make_org(platform, "other")
    part = publish_definition(platform, org)
    macro = publish_definition(platform, org, {**DEFINITION, "title": "Certificate in Welding"})
    _issue(platform, org, part, "niamh@example.org")
    token = signin(wired, org.owner_email)
    with transaction(platform.sessions, readonly=True) as session:
        family = stacking.family_url(platform, session, part)
    assert family in wired.get("/pathways").text
    created = wired.post(
        "/pathways",
        data={
            "csrf_token": token,
            "definition_id": str(macro.id),
            "name": "Welding certificate",
            "components": [family],
            "award_mode": "confirm",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    bad = wired.post(
        "/pathways",
        data={"csrf_token": token, "definition_id": str(macro.id), "rules_json": '{"any": []}'},
        follow_redirects=True,
    )
    assert "unknown rule" in bad.text
    assert wired.post("/pathways", data={"definition_id": str(macro.id)}).status_code == 403

    wired.cookies.clear()
    learner_token = _signup(wired, platform)
    pending = wired.post(
        "/wallet/pathways/1/award", data={"csrf_token": learner_token}, follow_redirects=True
    )
    assert "the provider confirms the award" in pending.text

    signin(wired, other.owner_email)
    assert wired.get("/pathways/1").status_code == 404
    token = signin(wired, org.owner_email)
    page = wired.get("/pathways/1").text
    assert "Niamh O&#39;Brien" in page
    assert "100%" in page
    confirm = wired.post(
        "/pathways/awards/1/confirm", data={"csrf_token": token}, follow_redirects=True
    )
    assert "awarded" in confirm.text
    assert csrf_from(page)


def test_close_to_completion_lists_only_the_providers_own_learners(platform):
    org = make_org(platform, "acme")
    other = make_org(platform, "other")
    ours = publish_definition(platform, org)
    theirs = publish_definition(platform, other, {**DEFINITION, "title": "Their Welding"})
    macro = publish_definition(platform, org, {**DEFINITION, "title": "Certificate in Welding"})
    issue_to(platform, org, ours, "niamh@example.org", "Niamh O'Brien")
    issue_to(platform, other, theirs, "zed@example.org", "Zed Stranger")
    with transaction(platform.sessions) as session:
        either = [stacking.family_url(platform, session, r) for r in (ours, theirs)]
        pathway = stacking.create_pathway(
            platform,
            session,
            staff(platform, org.owner_id),
            definition_id=macro.id,
            name="Certificate in Welding",
            rules={"at_least": 1, "of": [{"credential": {"achievement": [f]}} for f in either]},
        )
        for name, email in (("Niamh O'Brien", "niamh@example.org"), ("Zed", "zed@example.org")):
            account = wallet.sign_up(platform, session, name, email, "learner password 1")
            account.email_verified_at = platform.now()
            wallet.claim(platform, session, account)
    with transaction(platform.sessions, readonly=True) as session:
        close = stacking.close_to_completion(platform, session, pathway)
        # both are at 100%, but Zed never studied with acme: his wallet is not acme's to see
        assert [(c.account.email, c.evaluation.progress) for c in close] == [
            ("niamh@example.org", 1.0)
        ]


@pytest.mark.parametrize("mode", ["auto", "confirm"])
def test_a_sweep_job_awards_a_completed_pathway_when_the_wallet_fills(platform, wired, mode):
    """No click needed: claiming the last component enqueues a sweep; an ``auto`` pathway is
    awarded (and the learner emailed), a ``confirm`` one is put before the provider."""
    from microcred.services import outbox
    from tests.platform.test_wallet import _item_ids, _signup

    org = make_org(platform, "acme")
    parts = [
        publish_definition(platform, org),
        publish_definition(platform, org, {**DEFINITION, "title": "Welding Inspection"}),
    ]
    macro = publish_definition(platform, org, {**DEFINITION, "title": "Certificate in Welding"})
    for part in parts:
        _issue(platform, org, part, "niamh@example.org")
    with transaction(platform.sessions) as session:
        rules = {
            "all": [
                {"credential": {"achievement": [stacking.family_url(platform, session, r)]}}
                for r in parts
            ]
        }
        stacking.create_pathway(
            platform,
            session,
            staff(platform, org.owner_id),
            definition_id=macro.id,
            name="Certificate in Welding",
            rules=rules,
            award_mode=mode,
        )
    _signup(wired, platform)  # confirming the email claims both parts: the sweep runs after
    with transaction(platform.sessions, readonly=True) as session:
        [record] = session.query(PathwayAward).all()
        state = record.state
    mailed = [m["subject"] for m in outbox.messages(platform, "niamh@example.org")]
    if mode == "auto":
        assert state == "awarded"
        assert len(_item_ids(wired)) == 3
        assert any("Certificate in Welding" in subject for subject in mailed)
    else:
        assert state == "pending"
        assert len(_item_ids(wired)) == 2
        assert not any("Certificate in Welding" in subject for subject in mailed)
