"""The embedded job runner (SQLite) taking up what a dead process left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from microcred.db.session import transaction
from microcred.db.tables import Job
from microcred.services import jobs


def _job(platform, status: str, locked_by: str | None, attempts: int = 1) -> int:
    now = platform.now()
    with transaction(platform.sessions) as session:
        row = Job(
            task="status.republish",
            queue="status",
            payload={"provider_id": 1},
            status=status,
            attempts=attempts,
            queueing_lock="status.republish:1",
            run_after=now,
            created_at=now,
            locked_by=locked_by,
            heartbeat_at=now - timedelta(hours=1) if locked_by else None,
        )
        session.add(row)
        session.flush()
        return row.id


def _states(platform) -> dict[int, str]:
    with transaction(platform.sessions, readonly=True) as session:
        return dict(session.execute(select(Job.id, Job.status)).all())


def test_a_stalled_job_whose_twin_waits_is_dropped_not_requeued(platform):
    if jobs.on_postgresql(platform):
        pytest.skip("the embedded runner is SQLite's (procrastinate's reaper on PostgreSQL)")
    jobs.load_tasks()
    stalled = _job(platform, "doing", "gone-host:99999:abc")
    waiting = _job(platform, "todo", None, attempts=0)
    runner = jobs.LocalRunner(platform, stalled_after=5)
    assert runner.reclaim_stalled() == 0  # no unique-index clash, no crash
    assert _states(platform) == {waiting: "todo"}  # the twin will do the work
    assert stalled not in _states(platform)


def test_a_stalled_job_out_of_attempts_is_failed_not_requeued(platform):
    if jobs.on_postgresql(platform):
        pytest.skip("the embedded runner is SQLite's")
    jobs.load_tasks()
    spec = jobs.TASKS["status.republish"]
    stalled = _job(platform, "doing", "gone-host:99999:abc", attempts=spec.max_attempts)
    assert jobs.LocalRunner(platform, stalled_after=5).reclaim_stalled() == 0
    assert _states(platform) == {stalled: "failed"}
