"""Worker processes for the concurrency tests (module-level so that spawn can import them)."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from microcred.db.session import transaction
from microcred.db.tables import Staff
from microcred.domain.assessment import OutcomeResult
from microcred.services import status
from microcred.services.app import App
from microcred.services.issuing import Award, issue
from tests.platform.conftest import make_settings


def issue_many(args: tuple[str, str, int, int, list[str], int, int, Any]) -> list[str]:
    database_url, data_dir, staff_id, definition_id, outcomes, worker, count, barrier = args
    app = App.start(make_settings(database_url, Path(data_dir)), run_migrations=False)
    errors: list[str] = []
    barrier.wait()
    for n in range(count):
        try:
            with transaction(app.sessions) as session:
                staff = session.get(Staff, staff_id)
                issue(
                    app,
                    session,
                    staff,
                    Award(
                        definition_id=definition_id,
                        name=f"Learner {worker}-{n}",
                        email=f"w{worker}n{n}@example.org",
                        results=[OutcomeResult(o, True) for o in outcomes],
                    ),
                )
        except Exception:  # noqa: BLE001 - reported to the test, which fails on any
            errors.append(traceback.format_exc(limit=3))
    app.engine.dispose()
    return errors


def revoke_one(args: tuple[str, str, int, str, Any]) -> str:
    database_url, data_dir, staff_id, credential_id, barrier = args
    app = App.start(make_settings(database_url, Path(data_dir)), run_migrations=False)
    barrier.wait()
    try:
        with transaction(app.sessions) as session:
            staff = session.get(Staff, staff_id)
            status.change_state(app, session, staff, credential_id, "revoke", "concurrent test")
    except Exception:  # noqa: BLE001
        return traceback.format_exc(limit=3)
    finally:
        app.engine.dispose()
    return ""
