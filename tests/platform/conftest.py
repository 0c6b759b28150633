"""Platform fixtures: a migrated database (SQLite, or PostgreSQL with MICROCRED_TEST_POSTGRES),
the application, a TestClient, and a fetcher that reaches the app in-process."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from microcred.config import Settings
from microcred.db.session import transaction
from microcred.db.tables import Definition, Provider, Staff
from microcred.services import definitions, jobs
from microcred.services.app import App
from microcred.services.providers import add_staff, create_provider
from microcred.vc.fetch import SafeFetcher, WebResolver
from microcred.vc.policy import Policy
from microcred.vc.status_list import BitstringStatusChecker
from microcred.web.app import create_app

HERE = Path(__file__).resolve().parent
POSTGRES = os.environ.get("MICROCRED_TEST_POSTGRES", "")
PASSWORD = "correct horse battery staple"
BASE_URL = "http://testserver"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.platform)
            # PostgreSQL (and the browser test's server) live on loopback; nothing else.
            item.add_marker(pytest.mark.enable_socket)
            item.add_marker(pytest.mark.allow_hosts(["127.0.0.1", "::1", "localhost"]))


# Tables a refused request may still write, and why (acceptance of issue 11: every other 4xx
# answer leaves every table's row count unchanged).
REFUSAL_MAY_WRITE = {
    "sign_in_failures": "a refused sign-in or reset is counted, to throttle guessing",
    "rate_counts": "every request to a rate-limited route is counted, refused ones too",
    # a "not verified" answer (the VC API's 422) is an answer, not a refusal: it is kept
    "verification_results": "verdicts are kept for the next request (ADR 0022)",
    "fetched_documents": "documents fetched for a verdict are shared (ADR 0022)",
}


def _row_counts(app: App) -> dict[str, int]:
    from sqlalchemy import func, select

    from microcred.db.tables import Base

    tables = [t for t in Base.metadata.sorted_tables if t.name not in REFUSAL_MAY_WRITE]
    query = select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
    with app.engine.connect() as connection:
        counts = connection.execute(query).one()
    return {t.name: int(n) for t, n in zip(tables, counts, strict=True)}


@pytest.fixture(autouse=True)
def refused_requests_write_nothing(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Suite-wide guards: a request answered 4xx must not have changed any table's row count,
    and no request may be answered 5xx (bad input gets a 4xx) unless the test is marked
    ``server_error_expected`` (it provokes one on purpose)."""
    original = TestClient.request
    errors_expected = request.node.get_closest_marker("server_error_expected") is not None

    def guarded(self: TestClient, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        state = getattr(getattr(self.app, "state", None), "microcred", None)
        if not isinstance(state, App):
            response = original(self, method, url, *args, **kwargs)
            assert errors_expected or response.status_code < 500, (
                f"{method} {url} gave {response.status_code}"
            )
            return response
        before = _row_counts(state)
        response = original(self, method, url, *args, **kwargs)
        assert errors_expected or response.status_code < 500, (
            f"{method} {url} was answered {response.status_code}: {response.text[:300]}"
        )
        if 400 <= response.status_code < 500:
            after = _row_counts(state)
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            assert not changed, (
                f"{method} {url} was refused ({response.status_code}) but wrote rows: {changed}"
            )
        # a worker that keeps up: what the request enqueued (email, bulk chunks) runs now
        if response.status_code < 500:
            jobs.drain(state)
        return response

    monkeypatch.setattr(TestClient, "request", guarded)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    if not POSTGRES:
        yield f"sqlite:///{tmp_path / 'microcred.db'}"
        return
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES else "?"
    try:
        yield f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_settings(database_url: str, data_dir: Path, base_url: str = BASE_URL) -> Settings:
    host = base_url.split("://", 1)[1]
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        base_url=base_url,
        kek=bytes(range(32)),
        secret_key="test-secret-key-not-for-production",
        allow_http_hosts=frozenset({host}),
        rate_anonymous=100_000,  # the suite verifies hundreds of documents a minute;
        rate_token=100_000,  # test_hardening checks the limits with small quotas
    )


@pytest.fixture
def platform(database_url: str, tmp_path: Path) -> Iterator[App]:
    app = App.start(make_settings(database_url, tmp_path))
    yield app
    app.engine.dispose()


@pytest.fixture
def client(platform: App) -> Iterator[TestClient]:
    with TestClient(create_app(platform), base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def verifier(client: TestClient) -> Policy:
    """The platform's verifier, resolving did:web and status lists through the app itself."""

    def opener(url: str) -> tuple[int, bytes]:
        response = client.get(url)
        return response.status_code, response.content

    fetcher = SafeFetcher({"testserver"}, opener=opener, ttl=0)
    base = Policy(resolver=WebResolver(fetcher))
    return Policy(resolver=base.resolver, status_checker=BitstringStatusChecker(fetcher, base))


@dataclass
class Org:
    provider_id: int
    slug: str
    owner_id: int
    owner_email: str
    staff: dict[str, int]


def make_org(app: App, slug: str) -> Org:
    with transaction(app.sessions) as session:
        provider, owner = create_provider(
            app,
            session,
            slug=slug,
            legal_name=f"{slug.title()} Institute",
            country_code="DE",
            region="Berlin",
            website=f"https://{slug}.example",
            owner_email=f"owner@{slug}.example",
            owner_password=PASSWORD,
        )
        staff = {"owner": owner.id}
        for role in ("issuer", "assessor", "viewer"):
            staff[role] = add_staff(
                app, session, provider, f"{role}@{slug}.example", role.title(), PASSWORD, role
            ).id
        return Org(provider.id, slug, owner.id, owner.email, staff)


DEFINITION: dict[str, Any] = {
    "title": "Welding Safety",
    "description": "Safe practice in a welding workshop.",
    "learning_outcomes": [
        {"statement": "Identifies welding hazards", "criterion": "Hazard checklist, 10 of 10"},
        {"statement": "Uses protective equipment correctly", "criterion": "Observed practical"},
    ],
    "workload_ects": 1.5,
    "workload_hours": 40,
    "level": {"framework": "EQF", "value": "4"},
    "assessment_type": "Observed practical and written test",
    "participation": "onsite",
    "quality_assurance": "Chamber of Crafts external QA",
    "supervision": "supervised_id",
    "prerequisites": "None",
    "further_information": "https://example.org/welding",
}


def publish_definition(app: App, org: Org, data: dict[str, Any] | None = None) -> Definition:
    with transaction(app.sessions) as session:
        provider = session.get(Provider, org.provider_id)
        assert provider is not None
        row = definitions.create(app, session, provider, data or DEFINITION)
        return definitions.publish(app, session, row)


def staff(app: App, staff_id: int) -> Staff:
    with transaction(app.sessions, readonly=True) as session:
        found = session.get(Staff, staff_id)
        assert found is not None
        return found


def issue_to(
    app: App,
    org: Org,
    row: Definition,
    email: str = "ada@example.org",
    name: str = "Ada Lovelace",
    **extra: Any,
) -> Any:
    """Issue ``row`` to a learner as the org's owner, every learning outcome achieved; then the
    jobs it enqueued (the learner's email) run, as a worker that keeps up would."""
    from microcred.domain.assessment import OutcomeResult
    from microcred.services.issuing import Award, issue

    with transaction(app.sessions) as session:
        credential = issue(
            app,
            session,
            staff(app, org.owner_id),
            Award(
                definition_id=row.id,
                name=name,
                email=email,
                results=[OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]],
                **extra,
            ),
        )
    jobs.drain(app)
    return credential


def signin(
    client: TestClient, email: str, password: str = PASSWORD, *, learner: bool = False
) -> str:
    """Sign in through the form (staff, or a learner's wallet); returns the CSRF token."""
    form, landing = ("/account/signin", "/wallet") if learner else ("/signin", "/dashboard")
    client.cookies.clear()
    token = csrf_from(client.get(form).text)
    response = client.post(
        form,
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get(landing).text)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[tuple[App, str]]:
    """The application served by uvicorn on a loopback port, its base URL on that port, so its
    did:web documents and status lists resolve over real HTTP."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = App.start(make_settings(database_url, tmp_path, f"http://127.0.0.1:{port}"))
    app.fetcher = SafeFetcher(app.settings.allow_http_hosts, ttl=0)
    server = uvicorn.Server(
        uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with jobs.running(app):  # as `microcred serve` runs them: beside the web app
        yield app, f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    app.engine.dispose()


@pytest.fixture
def wired(platform, client):
    """The app's own fetcher reaches the app in-process (did:web, status lists, ?url=)."""

    def opener(url: str) -> tuple[int, bytes]:
        response = client.get(url)
        return response.status_code, response.content

    platform.fetcher = SafeFetcher({"testserver"}, opener=opener, ttl=0)
    return client


def await_mail(app: App, to: str, purpose: str, count: int = 1, timeout: float = 30.0) -> list[Any]:
    """The messages of ``purpose`` to ``to`` once ``count`` of them are in the outbox (a
    background job sends them): waits on that condition, up to ``timeout`` seconds."""
    import time

    from microcred.services import outbox

    deadline = time.monotonic() + timeout
    while True:
        found = outbox.messages(app, to, purpose)
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) == count, (
                f"{len(found)} {purpose} message(s) to {to}, not {count} ({jobs.state(app)})"
            )
            return found
        time.sleep(0.05)


def make_jobs_due(app: App) -> None:
    """Waiting retries become due now (a test does not wait out the backoff)."""
    with app.engine.begin() as connection:
        if jobs.on_postgresql(app):
            connection.execute(
                text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'")
            )
        else:
            connection.execute(
                text("UPDATE jobs SET run_after = :now WHERE status = 'todo'"), {"now": app.now()}
            )


def accredit(app: App, provider_slug: str, *, days: int = 365) -> None:
    """A QA body (``qa-SLUG``, owner ``owner@qa-SLUG.example``) accredits the provider from
    yesterday for ``days`` under EQAVET."""
    from datetime import timedelta

    from microcred.services import trust

    qa_slug = f"qa-{provider_slug}"
    with transaction(app.sessions) as session:
        _body, owner = create_provider(
            app,
            session,
            slug=qa_slug,
            legal_name="QA Agency",
            country_code="IE",
            region="",
            website="https://qa.example",
            owner_email=f"owner@{qa_slug}.example",
            owner_password=PASSWORD,
            kind="qa_body",
        )
        today = app.now().date()
        trust.accredit(
            app,
            session,
            owner,
            provider_slug=provider_slug,
            framework="EQAVET",
            scope="All",
            valid_from=today - timedelta(days=1),
            valid_until=today + timedelta(days=days),
            report_url=None,
        )
