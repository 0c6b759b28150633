"""The audit log (issue 11, acceptance 4): every state change is an event on its provider's
hash chain (or the platform's), recorded with its actor in the change's transaction; the chains
verify after a workload and fail, naming the event, after a row is altered or deleted; payloads
carry ids and digests, never names or emails; the provider's page is its owners' and viewers'."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from microcred.cli import app as cli_app
from microcred.db.session import transaction
from microcred.db.tables import AuditEvent, LearnerAccount, Provider
from microcred.domain.errors import DomainError
from microcred.services import audit, definitions, keys, providers, status, wallet
from tests.platform.conftest import (
    DEFINITION,
    PASSWORD,
    issue_to,
    make_org,
    publish_definition,
    signin,
    staff,
)
from tests.platform.test_verifier import _accredit, _qa_body

LEARNER_NAME = "Grace Hopper-Tanaka"
LEARNER_EMAIL = "grace.hopper@example.org"
NEW_MEMBER = ("Marguerite Perey", "marguerite.perey@acme.example")


def _events(platform, chain):
    with transaction(platform.sessions, readonly=True) as session:
        return session.scalars(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
        ).all()


def _workload(platform, client):
    """Issue, revoke, publish, new version, rotate a key, add staff, tokens, accredit."""
    org = make_org(platform, "acme")
    owner = f"staff:{org.owner_id}"
    with transaction(platform.sessions) as session:
        member = staff(platform, org.staff["issuer"])
        session.add(member)
        draft = definitions.create(platform, session, member.provider, DEFINITION)
        definitions.publish(platform, session, draft, by=member)
        definitions.new_version(platform, session, draft, by=member)
    row = publish_definition(platform, org)  # the system's (no staff)
    kept = issue_to(platform, org, row, LEARNER_EMAIL, LEARNER_NAME)
    gone = issue_to(platform, org, row, LEARNER_EMAIL, LEARNER_NAME)
    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff(platform, org.owner_id), gone.id, "revoke", LEARNER_NAME
        )
    token = signin(client, org.owner_email)
    assert client.post("/keys/rotate", data={"csrf_token": token}).status_code == 200
    name, email = NEW_MEMBER
    added = client.post(
        "/staff",
        data={
            "csrf_token": token,
            "name": name,
            "email": email,
            "role": "viewer",
            "password": PASSWORD,
        },
    )
    assert added.status_code == 200
    created = client.post("/tokens", data={"csrf_token": token, "name": LEARNER_NAME})
    assert created.status_code == 200
    qa_owner = _qa_body(platform)
    accreditation = _accredit(platform, qa_owner, "acme", date.today() + timedelta(days=365))
    return org, owner, kept, gone, qa_owner, accreditation


def test_a_workload_is_recorded_with_its_actors_and_verifies(platform, client):
    org, owner, kept, gone, qa_owner, accreditation = _workload(platform, client)
    issuer = f"staff:{org.staff['issuer']}"
    events = _events(platform, audit.chain_of(org.provider_id))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    seen = [(e.actor, e.action) for e in events]
    assert seen[:6] == [
        ("system", "provider.created"),
        ("system", "staff.added"),
        ("system", "key.created"),
        ("system", "staff.added"),
        ("system", "staff.added"),
        ("system", "staff.added"),
    ]
    assert seen[6:] == [
        (issuer, "definition.published"),
        (issuer, "definition.versioned"),
        ("system", "definition.published"),
        (owner, "credential.issued"),
        (owner, "credential.issued"),
        (owner, "credential.revoked"),
        (owner, "key.rotated"),
        (owner, "staff.added"),
        (owner, "token.created"),
    ]
    by_action = {e.action: e for e in events}
    assert by_action["credential.revoked"].subject == gone.id
    assert by_action["credential.revoked"].data == {"reason_sha256": audit.digest(LEARNER_NAME)}
    issued = [e for e in events if e.action == "credential.issued"]
    assert issued[0].subject == kept.id
    assert issued[0].data["document_sha256"] == audit.digest(kept.document)
    assert by_action["key.rotated"].data["fragment"] == "key-2"
    assert by_action["staff.added"].data == {"role": "viewer"}
    [qa_event] = [
        e
        for e in _events(platform, audit.chain_of(staff(platform, qa_owner).provider_id))
        if e.action == "accreditation.granted"
    ]
    assert (qa_event.actor, qa_event.subject) == (f"staff:{qa_owner}", accreditation.id)
    assert qa_event.data["provider_id"] == org.provider_id

    result = audit.verify(platform)
    assert result.intact, result.problems
    assert result.chains[audit.chain_of(org.provider_id)] == len(events)


def test_payloads_never_carry_names_or_emails(platform, client):
    org, *_ = _workload(platform, client)
    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, LEARNER_NAME, LEARNER_EMAIL, "learner pass 99")
        account.email_verified_at = platform.now()
        account_id = account.id
    with transaction(platform.sessions) as session:
        account = session.get(LearnerAccount, account_id)
        wallet.delete_account(platform, session, account, "learner pass 99")
    [erased] = _events(platform, audit.PLATFORM)
    assert (erased.actor, erased.action, erased.subject) == (
        f"learner:{account_id}",
        "account.erased",
        str(account_id),
    )
    assert erased.data == {"credentials": 2, "learners": 1}
    with transaction(platform.sessions, readonly=True) as session:
        dump = json.dumps([audit.as_json(e) for e in session.scalars(select(AuditEvent))])
    people = [LEARNER_NAME, LEARNER_EMAIL, *NEW_MEMBER, org.owner_email, "Issuer", "@"]
    for word in [*people, "grace", "hopper", "Grace"]:
        assert word not in dump, word
    assert audit.verify(platform).intact  # erasure rewrote no event


def _tamper(platform, sql, **params):
    with platform.engine.begin() as connection:
        connection.execute(text(sql), params)


def _json_param(platform):
    return "CAST(:data AS JSON)" if platform.engine.dialect.name == "postgresql" else ":data"


def test_an_altered_row_is_named(platform, client):
    org, owner, *_ = _workload(platform, client)
    chain = audit.chain_of(org.provider_id)
    [promoted] = [
        e for e in _events(platform, chain) if (e.actor, e.action) == (owner, "staff.added")
    ]
    _tamper(
        platform,
        f"UPDATE audit_events SET data = {_json_param(platform)} WHERE id = :id",  # noqa: S608
        data=json.dumps({"role": "owner"}),
        id=promoted.id,
    )
    result = audit.verify(platform)
    assert [(p.chain, p.seq, p.code) for p in result.problems] == [
        (chain, promoted.seq, "audit.hash_mismatch")
    ]
    assert "staff.added" in result.problems[0].message


def test_a_rewritten_hash_breaks_the_next_link(platform, client):
    org, *_ = _workload(platform, client)
    chain = audit.chain_of(org.provider_id)
    events = _events(platform, chain)
    target = events[9]  # the first credential.issued
    forged = audit.compute_hash(
        chain,
        target.seq,
        target.at,
        target.actor,
        target.action,
        target.subject,
        {**target.data, "learner_id": 999},
        target.prev_hash,
    )
    _tamper(
        platform,
        f"UPDATE audit_events SET data = {_json_param(platform)}, hash = :hash WHERE id = :id",  # noqa: S608
        data=json.dumps({**target.data, "learner_id": 999}),
        hash=forged,
        id=target.id,
    )
    problems = audit.verify(platform).problems
    assert [(p.chain, p.seq, p.code) for p in problems] == [
        (chain, target.seq + 1, "audit.broken_link")
    ]


def test_deleted_rows_are_detected(platform, client):
    org, *_ = _workload(platform, client)
    chain = audit.chain_of(org.provider_id)
    events = _events(platform, chain)
    _tamper(platform, "DELETE FROM audit_events WHERE id = :id", id=events[4].id)
    codes = [(p.chain, p.seq, p.code) for p in audit.verify(platform).problems]
    assert (chain, 6, "audit.gap") in codes
    assert (chain, 6, "audit.broken_link") in codes
    # the last event deleted: the head notices
    _tamper(platform, "DELETE FROM audit_events WHERE id = :id", id=events[-1].id)
    codes = [(p.chain, p.seq, p.code) for p in audit.verify(platform).problems]
    assert (chain, len(events), "audit.head_mismatch") in codes


def test_chains_are_independent(platform):
    acme, beta = make_org(platform, "acme"), make_org(platform, "beta")
    row = publish_definition(platform, beta)
    issue_to(platform, beta, row)
    acme_events = _events(platform, audit.chain_of(acme.provider_id))
    beta_events = _events(platform, audit.chain_of(beta.provider_id))
    assert [e.seq for e in acme_events] == list(range(1, 7))
    assert [e.seq for e in beta_events] == list(range(1, 9))
    _tamper(
        platform,
        "UPDATE audit_events SET actor = 'staff:1' WHERE id = :id",
        id=beta_events[-1].id,
    )
    problems = audit.verify(platform).problems
    assert {p.chain for p in problems} == {audit.chain_of(beta.provider_id)}


def test_the_cli_verifies_and_names_the_broken_event(platform, client, database_url, tmp_path):
    org, *_ = _workload(platform, client)
    env = {
        "MICROCRED_DATABASE_URL": database_url,
        "MICROCRED_DATA_DIR": str(tmp_path),
        "MICROCRED_ENV": "test",
        "MICROCRED_BASE_URL": "http://testserver",
        "MICROCRED_KEK": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "MICROCRED_SECRET_KEY": "test",
    }
    runner = CliRunner()
    good = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert good.exit_code == 0, good.output
    assert "intact" in good.stdout
    chain = audit.chain_of(org.provider_id)
    assert f"{chain}: 15 event(s)" in good.stdout
    _tamper(
        platform,
        "UPDATE audit_events SET subject = 'someone-else' WHERE chain = :chain AND seq = 10",
        chain=chain,
    )
    bad = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert bad.exit_code == 1
    assert f"{chain} seq 10: hash mismatch" in bad.stderr
    assert "audit.hash_mismatch" in bad.stderr


def test_the_page_and_export_are_the_providers_owners_and_viewers(platform, client):
    org, *_ = _workload(platform, client)
    beta = make_org(platform, "beta")
    signin(client, org.owner_email)
    assert 'href="/audit/acme"' in client.get("/dashboard").text
    page = client.get("/audit/acme")
    assert page.status_code == 200
    assert "credential.revoked" in page.text
    assert page.text.index("token.created") < page.text.index("provider.created")  # newest first
    export = client.get("/audit/acme/export.jsonl")
    assert export.status_code == 200
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    for event in lines:
        fields = {k: event[k] for k in event if k != "hash"}
        fields["at"] = _parse(fields["at"])
        assert audit.compute_hash(**fields) == event["hash"]

    signin(client, f"viewer@{org.slug}.example")
    assert client.get("/audit/acme").status_code == 200
    signin(client, f"issuer@{org.slug}.example")
    assert client.get("/audit/acme").status_code == 403
    signin(client, beta.owner_email)
    assert client.get("/audit/acme").status_code == 404
    assert client.get("/audit/acme/export.jsonl").status_code == 404
    assert client.get("/audit/beta").status_code == 200
    assert 'href="/audit/beta"' in client.get("/dashboard").text


def test_the_page_is_paginated(platform, client):
    org = make_org(platform, "acme")
    with transaction(platform.sessions) as session:
        for n in range(audit.PAGE_SIZE):
            audit.log(session, org.provider_id, None, "test.event", n)
    signin(client, org.owner_email)
    first = client.get("/audit/acme").text
    assert 'data-seq="56"' in first
    assert 'data-seq="6"' not in first
    second = client.get("/audit/acme?page=2").text
    assert 'data-seq="6"' in second
    assert 'data-seq="1"' in second


def _parse(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_parallel_appenders_get_consecutive_seq(platform):
    org = make_org(platform, "acme")
    chain = audit.chain_of(org.provider_id)
    before = len(_events(platform, chain))
    per_thread, errors = 10, []
    start = threading.Barrier(4)

    def append(worker: int) -> None:
        try:
            start.wait()
            for n in range(per_thread):
                with transaction(platform.sessions) as session:
                    audit.record(session, chain, "system", "test.parallel", f"{worker}:{n}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    events = _events(platform, chain)
    assert [e.seq for e in events] == list(range(1, before + 4 * per_thread + 1))
    assert audit.verify(platform).intact


def test_a_refused_change_records_nothing(platform):
    org = make_org(platform, "acme")
    chain = audit.chain_of(org.provider_id)
    before = len(_events(platform, chain))
    member = staff(platform, org.owner_id)
    with transaction(platform.sessions) as session:
        session.add(member)
        with pytest.raises(DomainError):
            providers.deactivate_staff(platform, session, member, member.id)  # not yourself
    with transaction(platform.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        keys.add_key(platform, session, provider)
    assert [e.action for e in _events(platform, chain)][before:] == ["key.rotated"]
