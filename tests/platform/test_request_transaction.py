"""A request's writes are committed before its response leaves: a browser that follows the 303
of a form POST must find what the POST wrote (the RPL reply once went missing under load)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Provider, RplApplication, RplDecision, SignInFailure
from microcred.services import rpl
from microcred.services.app import App
from microcred.web.app import create_app
from microcred.web.deps import DbSession
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


def _rows(platform: App, table: Any) -> int:
    with transaction(platform.sessions, readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_a_refusal_shown_by_redirect_writes_nothing(platform, wired):
    """A refused RPL application (a bad link, found after the application and a file were
    added) leaves no application and no evidence behind, though it answers with a redirect."""
    from microcred.db.tables import RplEvidence

    row = publish_definition(platform, make_org(platform, "acme"))
    token = _signup(wired, platform, "aoife@example.org")
    refused = wired.post(
        "/wallet/rpl",
        data={
            "csrf_token": token,
            "definition_id": str(row.id),
            "narrative": "Welder",
            "links": "https://portfolio.example/aoife javascript:alert(1)",
        },
        files={"files": ("log.txt", b"shift log", "text/plain")},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    assert "error=" in refused.headers["location"]
    assert _rows(platform, RplApplication) == 0
    assert _rows(platform, RplEvidence) == 0


@pytest.mark.server_error_expected
def test_a_failing_commit_is_never_answered_with_success(platform, monkeypatch):
    """If the commit fails, the answer is an error, never the 303 (or 201) of a success."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import SessionTransaction

    row = publish_definition(platform, make_org(platform, "acme"))
    with TestClient(create_app(platform), base_url=BASE_URL) as client:
        token = _signup(client, platform, "aoife@example.org")
        real_commit = SessionTransaction.commit

        def failing(self: SessionTransaction, *args: Any, **kwargs: Any) -> Any:
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

        failing_app = create_app(platform)  # built before commits start failing
        monkeypatch.setattr(SessionTransaction, "commit", failing)
        with TestClient(failing_app, base_url=BASE_URL, raise_server_exceptions=False) as c:
            c.cookies = client.cookies
            answer = c.post(
                "/wallet/rpl",
                data={"csrf_token": token, "definition_id": str(row.id), "narrative": "Welder"},
                follow_redirects=False,
            )
        monkeypatch.setattr(SessionTransaction, "commit", real_commit)
    assert answer.status_code >= 500
    assert _rows(platform, RplApplication) == 0


def test_the_guard_catches_a_refusal_that_writes(platform):
    """The suite-wide guard (tests/platform/conftest.py) fails a test whose 4xx answer wrote."""
    app = create_app(platform)

    @app.post("/test/refuse-after-writing")
    def refuse_after_writing(request: Request, session: DbSession) -> JSONResponse:
        session.add(SignInFailure(scope="x", subject="y", at=platform.now()))  # exempt table
        session.add(
            Provider(slug="x", legal_name="X", country_code="DE", created_at=platform.now())
        )
        return JSONResponse({"refused": True}, status_code=422)  # forgot to refuse()

    with TestClient(app, base_url=BASE_URL) as client, pytest.raises(AssertionError) as caught:
        client.post("/test/refuse-after-writing")
    assert "providers" in str(caught.value)
    assert "sign_in_failures" not in str(caught.value)
