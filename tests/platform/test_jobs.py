"""The embedded job runner (SQLite) taking up what a dead process left."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
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


def test_sealed_arguments_are_compressed_encrypted_and_open_again(platform):
    messages = [f"To: learner{i}@example.org\r\n\r\nHello Learner {i}, " * 20 for i in range(100)]
    sealed = jobs.seal(platform, {"messages": messages})
    assert set(sealed) == {"sealed", "deflate"}
    assert "learner7@example.org" not in json.dumps(sealed)
    assert len(sealed["sealed"]) < len(json.dumps(messages)) / 10  # 100 alike messages
    assert jobs.unseal(platform, sealed) == {"messages": messages}


def test_arguments_sealed_uncompressed_by_an_older_version_still_open(platform):
    nonce = os.urandom(12)
    box = AESGCM(jobs._payload_key(platform)).encrypt(nonce, b'{"messages": ["m"]}', b"job")
    old = {"sealed": base64.b64encode(nonce + box).decode()}
    assert jobs.unseal(platform, old) == {"messages": ["m"]}


def test_a_changed_sealed_payload_is_refused(platform):
    sealed = jobs.seal(platform, {"messages": ["m"]})
    raw = bytearray(base64.b64decode(sealed["sealed"]))
    raw[-1] ^= 1
    with pytest.raises(InvalidTag):
        jobs.unseal(platform, {**sealed, "sealed": base64.b64encode(bytes(raw)).decode()})
