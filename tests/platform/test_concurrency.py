"""Concurrent issuers and revokers: no duplicate status index, nothing lost, no lock errors."""

from __future__ import annotations

import json
import multiprocessing
import os

from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Credential, Provider
from microcred.services import status
from microcred.vc import status_list
from tests.platform import workers
from tests.platform.conftest import make_org, publish_definition

PROCESSES = 8
PER_PROCESS = int(os.environ.get("MICROCRED_CONCURRENCY_PER_PROCESS", "500"))


def test_eight_processes_issuing_at_once(platform, database_url, tmp_path):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    outcomes = [o["id"] for o in row.data["learning_outcomes"]]
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(PROCESSES)
        jobs = [
            (
                database_url,
                str(tmp_path),
                org.staff["issuer"],
                row.id,
                outcomes,
                w,
                PER_PROCESS,
                barrier,
            )
            for w in range(PROCESSES)
        ]
        with context.Pool(PROCESSES) as pool:
            errors = [e for result in pool.map(workers.issue_many, jobs) for e in result]
    assert errors == [], errors[:3]
    with transaction(platform.sessions, readonly=True) as session:
        total = session.scalar(select(func.count()).select_from(Credential))
        distinct = session.scalar(
            select(func.count()).select_from(
                select(Credential.status_list_id, Credential.status_index).distinct().subquery()
            )
        )
        emails = session.scalar(select(func.count(func.distinct(Credential.recipient_email))))
    assert total == PROCESSES * PER_PROCESS
    assert distinct == total
    assert emails == total


def test_two_processes_revoking_in_the_same_list(platform, database_url, tmp_path):
    from tests.platform.test_issuing import _issue

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    first = _issue(platform, org, row, email="one@example.org")
    second = _issue(platform, org, row, email="two@example.org")
    assert first.status_list_id == second.status_list_id
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        jobs = [
            (database_url, str(tmp_path), org.staff["issuer"], c.id, barrier)
            for c in (first, second)
        ]
        with context.Pool(2) as pool:
            errors = [e for e in pool.map(workers.revoke_one, jobs) if e]
    assert errors == []
    with transaction(platform.sessions, readonly=True) as session:
        provider = session.get(Provider, org.provider_id)
        published = json.loads(status.published_list(platform, session, provider, 1, "revocation"))
    bits = status_list.decode(published["credentialSubject"]["encodedList"])
    assert status_list.bit(bits, first.status_index)
    assert status_list.bit(bits, second.status_index)


def test_key_rotation_and_revocation_at_once_do_not_deadlock(platform):
    """Rotation re-signs every list and revocation re-signs one; both then append to the
    provider's audit chain. They take their locks in the same order, so neither fails."""
    import threading

    from microcred.services import keys
    from tests.platform.conftest import issue_to, staff

    org = make_org(platform, "locks")
    row = publish_definition(platform, org)
    ids = [issue_to(platform, org, row, f"l{i}@example.org").id for i in range(6)]
    owner = staff(platform, org.owner_id)
    errors: list[BaseException] = []

    def revoke_all() -> None:
        for credential_id in ids:
            try:
                with transaction(platform.sessions) as session:
                    status.change_state(platform, session, owner, credential_id, "revoke", "x")
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    def rotate_often() -> None:
        for _ in range(6):
            try:
                with transaction(platform.sessions) as session:
                    keys.add_key(platform, session, session.get(Provider, org.provider_id))
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=revoke_all), threading.Thread(target=rotate_often)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with transaction(platform.sessions, readonly=True) as session:
        states = session.scalars(select(Credential.state).where(Credential.id.in_(ids))).all()
    assert set(states) == {"revoked"}
