"""Recognition of prior learning: apply with evidence, more requested and answered, accepted per
criterion; the credential is marked RPL, lists its evidence, validates and verifies."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft201909Validator

from microcred.db.session import transaction
from microcred.db.tables import Credential, LearnerAccount, RplDecision
from microcred.domain.errors import DomainError
from microcred.services import rpl, wallet
from microcred.services.verification import platform_policy
from microcred.vc import schema
from microcred.vc.verify import verify
from tests.platform.conftest import make_org, publish_definition, signin, staff
from tests.platform.test_published_schema import published_schema
from tests.platform.test_wallet import _signup


def test_rpl_route_end_to_end_in_services(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        account = wallet.sign_up(
            platform, session, "Aoife Murphy", "aoife@example.org", "learner pass 99"
        )
        application = rpl.apply(
            platform,
            session,
            account,
            definition_id=row.id,
            narrative="Five years as a welder at a shipyard.",
            links=["https://portfolio.example/aoife"],
            files=[("reference.pdf", b"%PDF-1.4 reference", "application/pdf")],
        )
        app_id, account_id = application.id, account.id
    assessor = staff(platform, org.staff["assessor"])
    issuer = staff(platform, org.staff["issuer"])
    outcome_ids = [o["id"] for o in row.data["learning_outcomes"]]
    with transaction(platform.sessions) as session, pytest.raises(DomainError) as caught:
        rpl.decide(platform, session, assessor, app_id, "request_more", "")
    assert caught.value.code == "rpl.reason_required"
    with transaction(platform.sessions) as session:
        rpl.decide(
            platform,
            session,
            assessor,
            app_id,
            "request_more",
            "Please add evidence of protective equipment use.",
            {outcome_ids[0]: True},
        )
    with transaction(platform.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        rpl.reply(
            platform,
            session,
            account,
            app_id,
            "Here is my safety training record.",
            links=["https://portfolio.example/aoife/safety"],
        )
    with transaction(platform.sessions) as session, pytest.raises(DomainError) as caught:
        rpl.decide(platform, session, issuer, app_id, "accept", "", {outcome_ids[0]: True})
    assert caught.value.code == "rpl.criteria_unmet"
    with transaction(platform.sessions) as session, pytest.raises(DomainError) as caught:
        rpl.decide(
            platform, session, assessor, app_id, "accept", "", dict.fromkeys(outcome_ids, True)
        )
    assert caught.value.code == "forbidden"  # an assessor records; issuing needs an issuer
    with transaction(platform.sessions) as session:
        application = rpl.decide(
            platform,
            session,
            issuer,
            app_id,
            "accept",
            "All criteria met.",
            dict.fromkeys(outcome_ids, True),
        )
        document = json.loads(session.get(Credential, application.credential_id).document)
        actions = [(d.actor, d.action) for d in session.query(RplDecision).order_by(RplDecision.id)]
    assert actions == [("assessor", "request_more"), ("learner", "reply"), ("assessor", "accept")]
    assert rpl.is_rpl(document)
    names = [e["name"] for e in document["evidence"]]
    assert names[0] == "Recognition of prior learning"
    assert "reference.pdf" in names
    assert "https://portfolio.example/aoife/safety" in [e.get("id") for e in document["evidence"]]
    assert "Assessed by Issuer on" in document["evidence"][0]["description"]
    assert schema.validate(document, schema.ACHIEVEMENT_CREDENTIAL) == []
    # issued the default way: one status entry, valid against the schema as published
    assert document["credentialStatus"]["statusPurpose"] == "revocation"
    assert list(Draft201909Validator(published_schema()).iter_errors(document)) == []
    assert verify(document, platform_policy(platform)).verified
    with transaction(platform.sessions) as session, pytest.raises(DomainError) as caught:
        rpl.decide(platform, session, issuer, app_id, "reject", "too late")
    assert caught.value.code == "rpl.closed"


def test_rpl_pages_and_authorization(platform, wired):
    org = make_org(platform, "acme")
    other = make_org(platform, "other")
    row = publish_definition(platform, org)
    token = _signup(wired, platform)
    applied = wired.post(
        "/wallet/rpl",
        data={
            "csrf_token": token,
            "definition_id": str(row.id),
            "narrative": "<b>Learned</b> on the job",
            "links": "https://evidence.example/1",
        },
        files={"files": ("log.txt", b"shift log", "text/plain")},
        follow_redirects=False,
    )
    assert applied.status_code == 303
    url = applied.headers["location"]
    page = wired.get(url).text
    assert "&lt;b&gt;Learned&lt;/b&gt;" in page
    assert "Waiting for an assessor" in page
    application_id = url.rsplit("/", 1)[1]
    assert (
        wired.post("/wallet/rpl", data={"definition_id": str(row.id), "narrative": "x"}).status_code
        == 403
    )

    staff_token = signin(wired, other.owner_email)
    assert wired.get(f"/rpl/{application_id}").status_code == 404
    staff_token = signin(wired, org.owner_email)
    listed = wired.get("/rpl").text
    assert f"/rpl/{application_id}" in listed
    assert "Niamh O&#39;Brien" in listed  # reviewers see who applied
    review = wired.get(f"/rpl/{application_id}").text
    applicant = re.search(r'<dl class="facts" id="applicant">.*?</dl>', review, re.S).group(0)
    assert "Niamh O&#39;Brien" in applicant
    assert "niamh@example.org" in applicant
    evidence_link = re.search(r'href="(/rpl/\d+/evidence/\d+)"', review).group(1)
    assert wired.get(evidence_link).content == b"shift log"
    outcomes = re.findall(r'name="(met_[^"]+)"', review)
    more = wired.post(
        f"/rpl/{application_id}/decision",
        data={
            "csrf_token": staff_token,
            "action": "request_more",
            "message": "Add a reference letter.",
        },
        follow_redirects=True,
    )
    assert "more information requested" in more.text
    # the learner's data export holds the application, its evidence and the decisions
    import io
    import zipfile

    signin(wired, "niamh@example.org", "learner password 123", learner=True)
    archive = zipfile.ZipFile(io.BytesIO(wired.get("/account/export").content))
    [exported] = json.loads(archive.read("rpl.json"))
    assert exported["narrative"] == "<b>Learned</b> on the job"
    assert exported["micro_credential"] == "Welding Safety"
    assert [d["action"] for d in exported["decisions"]] == ["request_more"]
    assert exported["decisions"][0]["message"] == "Add a reference letter."
    [file] = [e for e in exported["evidence"] if e["file"]]
    assert archive.read(file["file"]) == b"shift log"
    assert [e["url"] for e in exported["evidence"] if e["kind"] == "link"] == [
        "https://evidence.example/1"
    ]
    staff_token = signin(wired, org.owner_email)
    accept_unmet = wired.post(
        f"/rpl/{application_id}/decision",
        data={"csrf_token": staff_token, "action": "accept", outcomes[0]: "1"},
        follow_redirects=True,
    )
    assert "not every criterion is met" in accept_unmet.text
    assert (
        wired.post(
            f"/rpl/{application_id}/decision", data={"action": "reject", "message": "x"}
        ).status_code
        == 403
    )


def test_pathway_and_rpl_api(platform, wired):
    from microcred.services import stacking
    from microcred.services.providers import create_api_token

    org = make_org(platform, "acme")
    other = make_org(platform, "other")
    part = publish_definition(platform, org)
    macro = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        token = create_api_token(platform, session, staff(platform, org.staff["issuer"]), "t")
        other_token = create_api_token(platform, session, staff(platform, other.owner_id), "t")
        family = stacking.family_url(platform, session, part)
        account = wallet.sign_up(platform, session, "Aoife", "aoife@example.org", "learner pass 99")
        application = rpl.apply(
            platform, session, account, definition_id=part.id, narrative="Years of practice."
        )
        application_id = application.id
    headers = {"Authorization": f"Bearer {token}"}
    created = wired.post(
        "/api/v1/pathways",
        headers=headers,
        json={
            "definition_id": macro.id,
            "rules": {"all": [{"credential": {"achievement": [family]}}]},
        },
    )
    assert created.status_code == 201, created.text
    bad = wired.post(
        "/api/v1/pathways", headers=headers, json={"definition_id": macro.id, "rules": {"nope": 1}}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "pathway.rule_invalid"
    assert [p["id"] for p in wired.get("/api/v1/pathways", headers=headers).json()] == [
        created.json()["id"]
    ]
    assert (
        wired.get(
            f"/api/v1/pathways/{created.json()['id']}/awards",
            headers={"Authorization": f"Bearer {other_token}"},
        ).status_code
        == 404
    )

    assert [a["id"] for a in wired.get("/api/v1/rpl", headers=headers).json()] == [application_id]
    outcomes = {o["id"]: True for o in part.data["learning_outcomes"]}
    other_decision = wired.post(
        f"/api/v1/rpl/{application_id}/decision",
        headers={"Authorization": f"Bearer {other_token}"},
        json={"action": "accept", "criteria": outcomes},
    )
    assert other_decision.status_code == 404
    accepted = wired.post(
        f"/api/v1/rpl/{application_id}/decision",
        headers=headers,
        json={"action": "accept", "message": "ok", "criteria": outcomes},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert accepted.json()["credential_id"]


def test_pathway_and_rpl_cli(platform, database_url, tmp_path):
    from typer.testing import CliRunner

    from microcred.cli import app as cli_app
    from microcred.services import stacking

    org = make_org(platform, "acme")
    part = publish_definition(platform, org)
    macro = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        family = stacking.family_url(platform, session, part)
        account = wallet.sign_up(platform, session, "Aoife", "aoife@example.org", "learner pass 99")
        account.email_verified_at = platform.now()
        application_id = rpl.apply(
            platform, session, account, definition_id=part.id, narrative="Practice."
        ).id
    env = {
        "MICROCRED_DATABASE_URL": database_url,
        "MICROCRED_DATA_DIR": str(tmp_path),
        "MICROCRED_ENV": "test",
        "MICROCRED_BASE_URL": "http://testserver",
        "MICROCRED_KEK": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "MICROCRED_SECRET_KEY": "test",
    }
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"all": [{"credential": {"achievement": [family]}}]}))
    runner = CliRunner()
    created = runner.invoke(
        cli_app,
        [
            "pathway",
            "create",
            "--definition",
            str(macro.id),
            "--rules",
            str(rules),
            "--as",
            org.owner_email,
            "--name",
            "Welding certificate",
        ],
        env=env,
    )
    assert created.exit_code == 0, created.output
    assert "Welding certificate" in created.output
    decided = runner.invoke(
        cli_app,
        [
            "rpl",
            "decide",
            str(application_id),
            "--action",
            "accept",
            "--as",
            f"issuer@{org.slug}.example",
            "--met",
            "all",
            "--message",
            "ok",
        ],
        env=env,
    )
    assert decided.exit_code == 0, decided.output
    assert "accepted, credential" in decided.output
    progress = runner.invoke(
        cli_app, ["pathway", "progress", "aoife@example.org", "--json"], env=env
    )
    assert progress.exit_code == 0, progress.output
    [row] = json.loads(progress.stdout)
    assert row["pathway"] == "Welding certificate"
    bad = runner.invoke(
        cli_app,
        ["rpl", "decide", str(application_id), "--action", "accept", "--as", org.owner_email],
        env=env,
    )
    assert bad.exit_code == 1
    assert "rpl.closed" in bad.stderr


def test_two_assessors_accepting_at_once_issue_one_credential(platform):
    """The application row is locked while it is decided: the second decision sees it decided."""
    import threading

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, "Aoife", "aoife@example.org", "learner pass 9")
        app_id = rpl.apply(
            platform, session, account, definition_id=row.id, narrative="Five years", links=[]
        ).id
    met = {o["id"]: True for o in row.data["learning_outcomes"]}
    outcomes: list[str] = []

    def accept(staff_id: int) -> None:
        try:
            with transaction(platform.sessions) as session:
                rpl.decide(platform, session, staff(platform, staff_id), app_id, "accept", "", met)
            outcomes.append("accepted")
        except DomainError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=accept, args=(org.staff[r],)) for r in ("owner", "issuer")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["accepted", "rpl.closed"]
    with transaction(platform.sessions, readonly=True) as session:
        assert session.query(Credential).count() == 1
