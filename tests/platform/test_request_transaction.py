"""A request's writes are committed before its response leaves: a browser that follows the 303
of a form POST must find what the POST wrote (the RPL reply once went missing under load)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import RplApplication, RplDecision
from microcred.services import rpl
from microcred.services.app import App
from microcred.web.app import create_app
from tests.platform.conftest import BASE_URL, make_org, publish_definition, staff
from tests.platform.test_wallet import _signup


def _decisions(platform: App) -> int:
    with transaction(platform.sessions, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(RplDecision)) or 0)


def test_a_post_is_committed_before_its_response_starts(platform):
    """At the moment the response starts, another connection already sees the learner's reply."""
    seen_at_response_start: list[int] = []
    inner = create_app(platform)

    async def watching(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def watched_send(message: dict[str, Any]) -> None:
            if (
                message["type"] == "http.response.start"
                and scope["method"] == "POST"
                and scope["path"].endswith("/reply")
            ):
                seen_at_response_start.append(_decisions(platform))
            await send(message)

        await inner(scope, receive, watched_send)

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    with TestClient(watching, base_url=BASE_URL) as client:
        token = _signup(client, platform, "aoife@example.org")
        applied = client.post(
            "/wallet/rpl",
            data={"csrf_token": token, "definition_id": str(row.id), "narrative": "Welder"},
            follow_redirects=False,
        )
        application_id = int(applied.headers["location"].rsplit("/", 1)[1])
        with transaction(platform.sessions) as session:
            rpl.decide(
                platform,
                session,
                staff(platform, org.staff["assessor"]),
                application_id,
                "request_more",
                "Add proof of training.",
            )
        before = _decisions(platform)
        replied = client.post(
            f"/wallet/rpl/{application_id}/reply",
            data={"csrf_token": token, "message": "Here it is."},
            follow_redirects=False,
        )
        assert replied.status_code == 303
        assert seen_at_response_start == [before + 1]
        with transaction(platform.sessions, readonly=True) as session:
            application = session.get(RplApplication, application_id)
            assert application is not None
            assert application.state == "submitted"
