"""Issue 12's findings, each answered with a clear 4xx instead of a 500 (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from microcred.db.session import transaction
from microcred.db.tables import Credential, Provider
from microcred.services.providers import create_api_token
from microcred.web.app import create_app
from tests.platform.conftest import (
    BASE_URL,
    PASSWORD,
    make_org,
    publish_definition,
    signin,
    staff,
)

TOO_BIG = 2**31  # one past the database's integer ids
HUGE = 2**70  # past 64 bits: SQLite's integers too


@pytest.fixture
def token(platform) -> str:
    org = make_org(platform, "acme")
    with transaction(platform.sessions) as session:
        return create_api_token(platform, session, staff(platform, org.owner_id), "ci")


def _org_of(platform, slug: str):
    """The Org record of an existing provider (made by the ``token`` fixture)."""
    from tests.platform.conftest import Org

    with transaction(platform.sessions, readonly=True) as session:
        provider = session.scalar(select(Provider).where(Provider.slug == slug))
        assert provider is not None
        from microcred.db.tables import Staff

        members = session.scalars(select(Staff).where(Staff.provider_id == provider.id)).all()
        owner = next(m for m in members if m.role == "owner")
        return Org(provider.id, slug, owner.id, owner.email, {m.role: m.id for m in members})


def _api(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


@pytest.mark.parametrize("number", [TOO_BIG, HUGE, 0])
def test_an_out_of_range_id_in_a_path_is_a_422_naming_it(platform, client, token, number):
    org_slug = "acme"
    answers = {
        f"/providers/{org_slug}/status/{number}/revocation": None,
        f"/api/v1/pathways/{number}/awards": token,
        f"/definitions/{number}": None,
    }
    for path, bearer in answers.items():
        headers = _api(bearer) if bearer else {"Accept": "application/json"}
        response = client.get(path, headers=headers, follow_redirects=False)
        if path.startswith("/definitions"):  # a staff page: sign-in comes first
            assert response.status_code in (303, 401, 422), path
            continue
        assert response.status_code == 422, (path, response.status_code, response.text)
        body = response.json()
        assert body["code"] == "request.invalid"
        assert body["problems"][0]["field"].startswith("path.")
    decided = client.post(
        f"/api/v1/rpl/{-HUGE}/decision", headers=_api(token), json={"action": "reject"}
    )
    assert decided.status_code == 422


def test_staff_pages_refuse_out_of_range_ids_too(platform, client):
    org = make_org(platform, "beta")
    signin(client, org.owner_email)
    for path in (f"/definitions/{TOO_BIG}", f"/assessments/{HUGE}", f"/pathways/{TOO_BIG}"):
        response = client.get(path)
        assert response.status_code == 422, (path, response.status_code)
        assert "greater than" in response.text or "less than" in response.text


@pytest.mark.parametrize(
    "path",
    ["/credentials/%00", "/credentials/%00.json", "/providers/%00/did.json", "/s/%00", "/x%1b"],
)
def test_control_characters_in_a_path_are_a_400(client, path):
    response = client.get(path, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == "request.malformed"
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 400
    assert "control character" in page.text


def test_a_nul_in_a_form_or_query_is_refused_without_a_500(platform, client):
    assert client.get("/verify?url=%00").status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
    assert token
    answer = client.post(
        "/signin", data={"email": "a\x00@example.org", "password": "x", "csrf_token": token[1]}
    )
    assert 400 <= answer.status_code < 500


def test_an_empty_idempotency_key_is_refused_and_never_stored(platform, client, token):
    with transaction(platform.sessions, readonly=True) as session:
        acme = session.scalar(select(Provider).where(Provider.slug == "acme"))
    assert acme is not None
    org_row = publish_definition(platform, _org_of(platform, "acme"))
    body = {"definition_id": org_row.id, "name": "Idem", "email": "idem@example.org"}
    for key in ("", " ", "a b"):
        response = client.post(
            "/api/v1/credentials", headers=_api(token), json={**body, "idempotency_key": key}
        )
        assert response.status_code == 422, response.text
        assert "idempotency_key" in response.text
    with transaction(platform.sessions, readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Credential)) == 0


def test_a_lone_surrogate_in_json_is_a_422_not_a_500(platform, client, token):
    raw = b'{"definition_id": 1, "name": "Ann\\ud800Lee", "email": "a@example.org"}'
    response = client.post(
        "/api/v1/credentials",
        headers={**_api(token), "Content-Type": "application/json"},
        content=raw,
    )
    assert 400 <= response.status_code < 500, response.text
    json.loads(response.text)  # a well-formed answer


def test_a_405_names_the_allowed_methods_and_a_401_the_scheme(client):
    response = client.request("TRACE", "/verify")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    unauthorised = client.get("/api/v1/definitions", headers={"Accept": "application/json"})
    assert unauthorised.status_code == 401
    assert unauthorised.headers["www-authenticate"].lower().startswith("bearer")


def test_verify_never_fetches_the_platforms_own_pages(platform, tmp_path):
    inner = f"{BASE_URL}/verify?url={BASE_URL}/credentials/none.json"
    calls: list[str] = []

    def opener(url: str) -> tuple[int, bytes]:
        calls.append(url)
        return 200, b"{}"

    from dataclasses import replace

    from microcred.vc.fetch import SafeFetcher

    app = replace(platform, fetcher=SafeFetcher({"testserver"}, opener=opener, ttl=0))
    with TestClient(create_app(app), base_url=BASE_URL) as client:
        page = client.get("/verify", params={"url": inner})
    assert page.status_code == 200
    assert "page of this platform" in page.text
    assert calls == []  # nothing went over HTTP, to itself or elsewhere


def _copy(client: TestClient) -> TestClient:
    """Another device holding a copy of the same session cookie."""
    copy = TestClient(client.app, base_url=BASE_URL)
    copy.cookies = client.cookies
    return copy


def test_signing_out_ends_every_copy_of_the_cookie(platform, client):
    org = make_org(platform, "delta")
    token = signin(client, org.owner_email)
    with _copy(client) as stolen:
        assert stolen.get("/dashboard", follow_redirects=False).status_code == 200
        client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
        assert stolen.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(platform, client):
    org = make_org(platform, "epsilon")
    with TestClient(client.app, base_url=BASE_URL) as laptop:
        signin(laptop, org.owner_email)
        token = signin(client, org.owner_email)
        changed = client.post(
            "/staff/password",
            data={"csrf_token": token, "current": PASSWORD, "new": "a whole new password"},
            follow_redirects=False,
        )
        assert changed.status_code == 303
        assert client.get("/dashboard", follow_redirects=False).status_code == 200
        assert laptop.get("/dashboard", follow_redirects=False).status_code == 303


def test_removed_staff_and_sign_out_everywhere_end_all_sessions(platform, client):
    org = make_org(platform, "zeta")
    with TestClient(client.app, base_url=BASE_URL) as issuer:
        signin(issuer, f"issuer@{org.slug}.example")
        owner_token = signin(client, org.owner_email)
        with _copy(client) as owner_elsewhere:
            removed = client.post(
                f"/staff/{org.staff['issuer']}/deactivate",
                data={"csrf_token": owner_token},
                follow_redirects=False,
            )
            assert removed.status_code == 303
            assert issuer.get("/dashboard", follow_redirects=False).status_code == 303
            client.post("/signout/everywhere", data={"csrf_token": owner_token})
            assert owner_elsewhere.get("/dashboard", follow_redirects=False).status_code == 303
            assert client.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_learner_password_reset_signs_out_every_session(platform, client):
    from microcred.services import outbox, wallet
    from tests.platform.conftest import csrf_from

    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, "Niamh", "niamh@example.org", PASSWORD)
        account.email_verified_at = platform.now()
    signin(client, "niamh@example.org", learner=True)
    with _copy(client) as other:
        assert other.get("/wallet", follow_redirects=False).status_code == 200
        form = client.get("/account/reset").text
        client.post(
            "/account/reset", data={"csrf_token": csrf_from(form), "email": "niamh@example.org"}
        )
        [mail] = outbox.messages(platform, "niamh@example.org", "password-reset")
        link = re.search(r"/account/reset\?token=(\S+)", mail["body"])
        assert link
        page = client.get(f"/account/reset?token={link[1]}")
        done = client.post(
            "/account/reset",
            data={"csrf_token": csrf_from(page.text), "token": link[1], "password": "x" * 12},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert other.get("/wallet", follow_redirects=False).status_code == 303


def test_a_body_over_its_routes_limit_is_refused_before_it_is_read(client):
    big = b"{" + b" " * (3 * 1024 * 1024) + b"}"
    answer = client.post(
        "/api/verify", content=big, headers={"Content-Type": "application/json"}
    )  # 3 MiB of JSON: /api/verify takes PDFs, so 8 MiB here; still JSON's own 2 MiB applies
    assert answer.status_code in (400, 413)
    huge = client.post(
        "/api/verify",
        content=b"x" * (9 * 1024 * 1024),
        headers={"Content-Type": "application/pdf"},
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "request.too_large"
    form = client.post("/signin", content=b"a" * (3 * 1024 * 1024))
    assert form.status_code == 413


def test_a_streamed_body_is_cut_off_once_past_the_limit(client):
    sent: list[int] = []

    def chunks():
        for n in range(64):  # 64 MiB offered, without a Content-Length
            sent.append(n)
            yield b"x" * (1024 * 1024)

    answer = client.post(
        "/api/verify", content=chunks(), headers={"Content-Type": "application/pdf"}
    )
    assert answer.status_code == 413
    assert "larger than this address accepts" in answer.json()["title"]


def test_security_headers_and_hsts_in_production(platform):
    from dataclasses import replace

    answer_dev = TestClient(create_app(platform), base_url=BASE_URL).get("/verify")
    csp = answer_dev.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer_dev.headers["referrer-policy"] == "same-origin"
    assert answer_dev.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in answer_dev.headers  # http: no HSTS
    settings = replace(
        platform.settings, env="production", base_url="https://credentials.example.org"
    )
    production = create_app(replace(platform, settings=settings))
    with TestClient(production, base_url="https://credentials.example.org") as client:
        answer = client.get("/verify")
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def _limited_app(platform, anonymous: int, token: int):
    """The app with small quotas, its clock held mid-minute (no window ends during a test)."""
    from dataclasses import replace

    settings = replace(platform.settings, rate_anonymous=anonymous, rate_token=token)
    limited = replace(platform, settings=settings)
    moment = platform.now().replace(second=30, microsecond=0)
    limited.now = lambda: moment  # type: ignore[method-assign]
    return create_app(limited)


def test_verify_is_rate_limited_per_client_address_with_retry_after(platform):
    web = _limited_app(platform, anonymous=3, token=1000)
    body = {"headers": {"Content-Type": "application/json"}, "content": b"{}"}
    with TestClient(web, base_url=BASE_URL, client=("198.51.100.7", 5000)) as one:
        answers = [one.post("/api/verify", **body).status_code for _ in range(4)]
        assert answers[:3] == [200, 200, 200]  # each answered (a report: not a credential)
        assert answers[3] == 429
        refused = one.post("/api/verify", **body)
        assert refused.headers["retry-after"] == "30"  # the rest of the minute
        assert "at most 3 a minute" in refused.json()["title"]
        assert one.get("/verify").status_code == 200  # the page itself is not counted
    with TestClient(web, base_url=BASE_URL, client=("203.0.113.9", 5000)) as other:
        assert other.post("/api/verify", **body).status_code == 200  # its own quota
    with TestClient(web, base_url=BASE_URL, client=("127.0.0.1", 5000)) as local:
        codes = [local.post("/api/verify", **body).status_code for _ in range(4)]
        assert codes[-1] == 429  # loopback gets no exemption


def test_an_api_token_carries_its_own_quota(platform, token):
    from microcred.db.tables import ApiToken

    web = _limited_app(platform, anonymous=1, token=2)
    body = {"content": b"{}", "headers": {"Authorization": f"Bearer {token}"}}
    with TestClient(web, base_url=BASE_URL) as integrator:
        codes = [integrator.post("/api/verify", **body).status_code for _ in range(3)]
        assert codes == [200, 200, 429]  # the default token quota: 2
        with transaction(platform.sessions) as session:
            for row in session.scalars(select(ApiToken)):
                row.per_minute = 5
        codes = [integrator.post("/api/verify", **body).status_code for _ in range(3)]
        assert codes == [200, 200, 429]  # 3 used of this minute's 5, then 2 more, then refused


def test_importing_by_link_never_fetches_the_platforms_own_pages(platform, client):
    from microcred.services import wallet
    from tests.platform.conftest import csrf_from

    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, "Niamh", "niamh@example.org", PASSWORD)
        account.email_verified_at = platform.now()
    signin(client, "niamh@example.org", learner=True)
    token = csrf_from(client.get("/wallet").text)
    answer = client.post(
        "/wallet/import",
        data={"csrf_token": token, "url": f"{BASE_URL}/verify?url={BASE_URL}/verify"},
        follow_redirects=True,
    )
    assert "page of this platform" in answer.text


def test_signing_in_ends_the_previous_session_in_that_browser(platform, client):
    org = make_org(platform, "eta")
    signin(client, org.owner_email)
    with _copy(client) as left_behind:
        assert left_behind.get("/dashboard", follow_redirects=False).status_code == 200
        from tests.platform.conftest import csrf_from

        form = client.get("/signin").text  # the next person, at the same browser (same cookie)
        client.post(
            "/signin",
            data={
                "email": f"issuer@{org.slug}.example",
                "password": PASSWORD,
                "csrf_token": csrf_from(form),
            },
            follow_redirects=False,
        )
        assert client.get("/dashboard", follow_redirects=False).status_code == 200
        assert left_behind.get("/dashboard", follow_redirects=False).status_code == 303


def test_a_removed_uploaders_queued_chunks_are_refused(platform):
    from microcred.services import bulk, jobs
    from microcred.services.providers import deactivate_staff

    org = make_org(platform, "theta")
    row = publish_definition(platform, org)
    upload_id = bulk.upload_as(
        platform, org.staff["issuer"], row.id, b"name,email\nAda,ada@example.org\n", "a.csv"
    )
    with transaction(platform.sessions) as session:
        deactivate_staff(platform, session, staff(platform, org.owner_id), org.staff["issuer"])
    jobs.drain(platform)
    report = bulk.progress_of(platform, upload_id)
    assert (report.issued, report.done) == (0, True)
    assert "removed" in report.problems[0].reason


def test_old_rate_counts_and_old_sessions_are_purged(platform, client):
    from datetime import timedelta

    from microcred.db.tables import RateCount, WebSession

    long_ago = platform.now() - timedelta(days=3)
    with transaction(platform.sessions) as session:
        session.add(RateCount(bucket="verify:address:old", window_start=long_ago, count=9))
        session.add(
            WebSession(
                id="0" * 64,
                kind="staff",
                subject_id=1,
                created_at=long_ago,
                expires_at=long_ago + timedelta(hours=8),
            )
        )
    web = _limited_app(platform, anonymous=100, token=100)
    with TestClient(web, base_url=BASE_URL) as fresh:
        fresh.post("/api/verify", content=b"{}")
    org = make_org(platform, "iota")
    signin(client, org.owner_email)
    with transaction(platform.sessions, readonly=True) as session:
        assert session.get(RateCount, ("verify:address:old", long_ago)) is None
        assert session.get(WebSession, "0" * 64) is None
