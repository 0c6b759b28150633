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
