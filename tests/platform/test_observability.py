"""Logs, metrics, health (issue 11): request ids, the access log, unexpected errors logged and
never shown, no secrets in the logs, /healthz, /readyz, /metrics."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine

from microcred.db.session import transaction
from microcred.domain.assessment import OutcomeResult
from microcred.logs import JsonFormatter, TextFormatter
from microcred.services import health
from microcred.services.app import App
from microcred.services.issuing import Award, issue
from microcred.web.app import create_app
from tests.platform.conftest import (
    BASE_URL,
    PASSWORD,
    issue_to,
    make_org,
    make_settings,
    publish_definition,
    staff,
)

LOOPBACK = ("127.0.0.1", 50123)
ELSEWHERE = ("203.0.113.5", 1234)


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "microcred.access"]


def _server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the application logged (the test's HTTP client logs its own URLs)."""
    return [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]


def _server_text(caplog: pytest.LogCaptureFixture) -> str:
    records = _server_records(caplog)
    return "\n".join(
        [r.getMessage() for r in records]
        + [JsonFormatter().format(r) for r in records]
        + [TextFormatter().format(r) for r in records]
    )


@pytest.fixture
def web(platform: App) -> FastAPI:
    app = create_app(platform)

    @app.get("/test-boom")
    def boom() -> None:
        raise RuntimeError("kaboom: an internal detail")

    return app


@pytest.fixture
def quiet_client(web: FastAPI) -> Iterator[TestClient]:
    """Server exceptions become answers (as under uvicorn), not test failures."""
    with TestClient(web, base_url=BASE_URL, raise_server_exceptions=False) as test_client:
        yield test_client


def _sample(client: TestClient, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` with these labels (any others)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    return sum(
        float(sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_a_request_gets_an_id_and_the_access_log_carries_it(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.get("/verify?secret=hidden-value&next=/x")
    rid = response.headers["X-Request-ID"]
    assert len(rid) == 32
    (line,) = [r for r in _access(caplog) if getattr(r, "path", "") == "/verify"]
    assert line.request_id == rid  # type: ignore[attr-defined]
    assert line.method == "GET"  # type: ignore[attr-defined]
    assert line.status == 200  # type: ignore[attr-defined]
    assert line.route == "/verify"  # type: ignore[attr-defined]
    assert line.query_keys == "next,secret"  # type: ignore[attr-defined]
    assert isinstance(line.duration_ms, float)  # type: ignore[attr-defined]
    assert "hidden-value" not in _server_text(caplog)

    # a sane id from the caller is kept; anything else is replaced
    assert client.get("/healthz", headers={"X-Request-ID": "lb-42.a_b"}).headers[
        "X-Request-ID"
    ] == ("lb-42.a_b")
    for bad in ("x" * 65, "a b", "<script>", "a/../b", "id;drop"):
        given = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert given != bad
        assert len(given) == 32


def test_json_lines_parse_with_the_expected_keys(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    rid = client.get("/verify").headers["X-Request-ID"]
    (record,) = [r for r in _access(caplog) if getattr(r, "request_id", None) == rid]
    entry = json.loads(JsonFormatter().format(record))
    assert {"time", "level", "logger", "message", "request_id"} <= entry.keys()
    assert {"method", "path", "route", "status", "duration_ms"} <= entry.keys()
    assert entry["request_id"] == rid
    assert entry["logger"] == "microcred.access"
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/verify", 200)


@pytest.mark.server_error_expected
def test_an_unexpected_error_is_logged_with_its_traceback_and_never_shown(
    quiet_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    page = quiet_client.get("/test-boom", headers={"Accept": "text/html"})
    assert page.status_code == 500
    rid = page.headers["X-Request-ID"]
    assert rid in page.text
    assert "kaboom" not in page.text
    assert "Traceback" not in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    (error,) = [r for r in caplog.records if r.name == "microcred.web"]
    assert error.exc_info
    assert error.request_id == rid
    text = TextFormatter().format(error)
    assert "Traceback" in text
    assert "kaboom: an internal detail" in text
    assert rid in text
    entry = json.loads(JsonFormatter().format(error))
    assert "RuntimeError: kaboom" in entry["exception"]
    assert entry["request_id"] == rid
    (access,) = [r for r in _access(caplog) if r.request_id == rid]  # type: ignore[attr-defined]
    assert access.status == 500  # type: ignore[attr-defined]

    problem = quiet_client.get("/test-boom", headers={"Accept": "application/json"})
    assert problem.status_code == 500
    assert problem.headers["content-type"].startswith("application/problem+json")
    body = problem.json()
    assert body["request_id"] == problem.headers["X-Request-ID"]
    assert body["code"] == "internal"
    assert "kaboom" not in problem.text


def test_secrets_never_reach_the_logs(
    platform: App, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    org = make_org(platform, "logco")
    token = "mc_sekrit-bearer-token-4f1e"
    password = "hunter2-wrong-password-9c"
    cookie = "cookie-value-77aa"
    client.post(
        "/api/v1/credentials",
        json={"learner": {"name": "x", "email": "x@example.org"}},
        headers={"Authorization": f"Bearer {token}", "Cookie": f"other={cookie}"},
    )
    client.post("/signin", data={"email": org.owner_email, "password": password})
    client.post("/signin", data={"email": org.owner_email, "password": PASSWORD})
    client.get("/account/reset?token=reset-token-5e5e")
    client.get("/s/share-token-6d6d")
    assert _access(caplog), "no access log lines"
    formatted = _server_text(caplog)
    for secret in (token, password, PASSWORD, cookie, "reset-token-5e5e", "share-token-6d6d"):
        assert secret not in formatted
    assert "/s/{token}" in formatted  # the path is logged as its template


def test_healthz_and_readyz(client: TestClient) -> None:
    alive = client.get("/healthz")
    assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "migrations": "ok",
            "queue": "0 waiting (oldest 0 s), 0 running, 0 failed",
        },
    }


def test_metrics_and_readiness_show_the_job_queue(platform: App, web: FastAPI) -> None:
    from microcred.services import jobs

    org = make_org(platform, "queueco")
    row = publish_definition(platform, org)
    award = Award(
        definition_id=row.id,
        name="Grace Hopper",
        email="grace@example.org",
        results=[OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]],
    )
    with transaction(platform.sessions) as session:  # no worker runs: her email waits
        issue(platform, session, staff(platform, org.owner_id), award)
    checks = {c.name: c for c in health.readiness(platform)}
    assert checks["queue"].ok
    assert checks["queue"].detail.startswith("1 waiting")
    with TestClient(web, base_url=BASE_URL, client=LOOPBACK) as scraper:
        # (the test client runs the queue after each request, as a worker keeping up would)
        assert _sample(scraper, "microcred_jobs", state="waiting") == 1
        assert _sample(scraper, "microcred_jobs", state="waiting") == 0
        assert _sample(scraper, "microcred_jobs", state="failed") == 0
        assert _sample(scraper, "microcred_jobs_oldest_waiting_seconds") == 0
    assert not jobs.pending(platform)


@pytest.mark.server_error_expected
def test_readyz_503_when_the_database_is_unreachable(
    platform: App, client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = create_engine(f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    monkeypatch.setattr(
        "microcred.web.health.readiness",
        lambda app: health.readiness(replace(app, engine=dead)),
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unreachable")
    assert "nowhere.db" not in response.text


def test_readiness_names_a_schema_behind_the_migrations(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)
    app = App.start(settings, run_migrations=False)
    try:
        checks = {c.name: c for c in health.readiness(app)}
    finally:
        app.engine.dispose()
    assert checks["database"].ok
    assert not checks["migrations"].ok
    assert "head is" in checks["migrations"].detail


def _issue_then_refuse(platform: App, issuer: Any, award: Award) -> None:
    """A use case that issues, then fails before its commit: everything rolls back."""
    with contextlib.suppress(RuntimeError), transaction(platform.sessions) as session:
        issue(platform, session, issuer, award)
        raise RuntimeError("refused after issuing")


def test_metrics_count_requests_and_issued_credentials(
    platform: App, web: FastAPI, tmp_path: Path
) -> None:
    with TestClient(web, base_url=BASE_URL, client=LOOPBACK) as scraper:
        route = {"method": "GET", "route": "/credentials/{credential_id}", "status": "404"}
        requests_before = _sample(scraper, "microcred_http_requests_total", **route)
        issued_before = _sample(scraper, "microcred_credentials_issued_total", via="definition")
        verified_before = _sample(scraper, "microcred_credentials_verified_total")

        assert scraper.get("/credentials/no-such-credential").status_code == 404
        org = make_org(platform, "metricco")
        row = publish_definition(platform, org)
        credential = issue_to(platform, org, row)
        # a refused (rolled back) issue counts nothing
        award = Award(
            definition_id=row.id,
            name="Grace Hopper",
            email="grace@example.org",
            results=[OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]],
        )
        _issue_then_refuse(platform, staff(platform, org.owner_id), award)
        assert scraper.get(f"/credentials/{credential.id}").status_code == 200

        assert _sample(scraper, "microcred_http_requests_total", **route) == requests_before + 1
        assert (
            _sample(scraper, "microcred_credentials_issued_total", via="definition")
            == issued_before + 1
        )
        # the public page verifies the credential it shows
        assert _sample(scraper, "microcred_credentials_verified_total") > verified_before
        assert (
            _sample(
                scraper,
                "microcred_http_request_duration_seconds_count",
                method="GET",
                route="/credentials/{credential_id}",
            )
            >= 2
        )
        text = scraper.get("/metrics").text
        assert "/credentials/no-such-credential" not in text  # templates, never raw paths


def test_metrics_are_not_public(platform: App, web: FastAPI) -> None:
    with TestClient(web, base_url=BASE_URL, client=ELSEWHERE) as outsider:
        assert outsider.get("/metrics").status_code == 404
        assert (
            outsider.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
        )
    with TestClient(web, base_url=BASE_URL, client=LOOPBACK) as local:
        assert local.get("/metrics").status_code == 200
        # behind a reverse proxy on this host, loopback is not enough
        proxied = local.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert proxied.status_code == 404

    token = "metrics-token-0123456789abcdef"
    app = create_app(replace(platform, settings=replace(platform.settings, metrics_token=token)))
    with TestClient(app, base_url=BASE_URL, client=ELSEWHERE) as scraper:
        assert scraper.get("/metrics").status_code == 404
        scraped = scraper.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert scraped.status_code == 200
        assert "microcred_http_requests_total" in scraped.text


def test_a_path_cannot_forge_a_log_line_nor_leak_a_token(
    platform, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    forged = "/nope%0A2099-01-01 00:00:00,000 INFO microcred.access POST /signin 303"
    assert client.get(forged).status_code == 400  # a control character: refused before routing
    assert client.get("/s/SECRETTOKEN123/nonexistent").status_code == 404
    text = _server_text(caplog)
    assert "\n2099-01-01" not in text
    assert "SECRETTOKEN123" not in text
    assert {getattr(r, "path", None) for r in _access(caplog)} == {"<unmatched>"}
    assert platform.engine.hide_parameters  # database errors never log emails or hashes
