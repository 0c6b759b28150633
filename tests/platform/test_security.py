"""Authorization across providers and roles, CSRF on every form, escaping of entered text."""

from __future__ import annotations

import re

import pytest

from microcred.db.session import transaction
from microcred.db.tables import Assessment
from microcred.services.providers import create_api_token
from tests.platform.conftest import (
    DEFINITION,
    issue_to,
    make_org,
    publish_definition,
    signin,
    staff,
)

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _issue(platform, org, row, name="Ada Lovelace"):
    return issue_to(platform, org, row, name=name)


@pytest.fixture
def two_orgs(platform):
    a, b = make_org(platform, "alpha"), make_org(platform, "beta")
    row_b = publish_definition(platform, b)
    credential_b = _issue(platform, b, row_b)
    with transaction(platform.sessions) as session:
        assessment = Assessment(
            provider_id=b.provider_id,
            learner_id=1,
            definition_id=row_b.id,
            assessor_id=b.owner_id,
            results=[],
            grade=None,
            supervision="supervised",
            assessed_on=credential_b.issued_at.date(),
            passed=True,
            created_at=credential_b.issued_at,
        )
        session.add(assessment)
        session.flush()
        assessment_id = assessment.id
    return a, b, row_b, credential_b, assessment_id


def test_staff_of_one_provider_get_404_for_another_providers_objects(platform, client, two_orgs):
    a, _b, row_b, credential_b, assessment_id = two_orgs
    token = signin(client, a.owner_email)
    gets = [
        f"/definitions/{row_b.id}",
        f"/definitions/{row_b.id}/edit",
        f"/definitions/{row_b.id}/assess",
        f"/definitions/{row_b.id}/bulk",
        f"/manage/credentials/{credential_b.id}",
        f"/assessments/{assessment_id}",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [
        f"/definitions/{row_b.id}",
        f"/definitions/{row_b.id}/publish",
        f"/definitions/{row_b.id}/new-version",
        f"/definitions/{row_b.id}/assess",
        f"/manage/credentials/{credential_b.id}/status",
        f"/assessments/{assessment_id}/award",
    ]
    for url in posts:
        response = client.post(url, data={"csrf_token": token, "action": "revoke", "reason": "x"})
        assert response.status_code == 404, url
    assert credential_b.id not in client.get("/manage/credentials").text
    with transaction(platform.sessions) as session:
        api_token = create_api_token(platform, session, staff(platform, a.owner_id), "t")
    headers = {"Authorization": f"Bearer {api_token}"}
    assert client.get(f"/api/v1/credentials/{credential_b.id}", headers=headers).status_code == 404
    assert (
        client.post(
            f"/api/v1/credentials/{credential_b.id}/status",
            headers=headers,
            json={"action": "revoke", "reason": "x"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/credentials",
            headers=headers,
            json={"definition_id": row_b.id, "name": "X", "email": "x@example.org"},
        ).status_code
        == 404
    )


def test_a_viewer_cannot_issue_or_revoke(platform, client):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = _issue(platform, org, row)
    token = signin(client, f"viewer@{org.slug}.example")
    assert client.get(f"/manage/credentials/{credential.id}").status_code == 200
    revoke = client.post(
        f"/manage/credentials/{credential.id}/status",
        data={"csrf_token": token, "action": "revoke", "reason": "x"},
    )
    assert revoke.status_code == 403
    assess = client.post(
        f"/definitions/{row.id}/assess",
        data={
            "csrf_token": token,
            "name": "X",
            "email": "x@example.org",
            "supervision": "supervised",
            "assessed_on": "2026-01-01",
        },
    )
    assert assess.status_code == 403
    assert client.post("/keys/rotate", data={"csrf_token": token}).status_code == 403
    assert client.get(f"/definitions/{row.id}/bulk").status_code == 403
    with transaction(platform.sessions) as session:
        api_token = create_api_token(platform, session, staff(platform, org.staff["assessor"]), "t")
    response = client.post(
        "/api/v1/credentials",
        headers={"Authorization": f"Bearer {api_token}"},
        json={"definition_id": row.id, "name": "X", "email": "x@example.org"},
    )
    assert response.status_code == 403


def test_every_form_has_a_csrf_token_and_posts_without_it_are_refused(platform, client):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = _issue(platform, org, row)
    signin(client, org.owner_email)
    pages = [
        "/dashboard",
        "/definitions/new",
        f"/definitions/{row.id}",
        f"/definitions/{row.id}/assess",
        f"/definitions/{row.id}/bulk",
        "/learners",
        f"/manage/credentials/{credential.id}",
        "/keys",
        "/staff",
        "/pathways",
    ]
    for url in pages:
        html = client.get(url).text
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
        assert forms, url
        for form in forms:
            assert 'name="csrf_token"' in form, url
    posts = [
        "/definitions",
        f"/definitions/{row.id}/new-version",
        "/learners",
        f"/manage/credentials/{credential.id}/status",
        "/keys/rotate",
        "/tokens",
        "/signout",
    ]
    for url in posts:
        for token in (None, "forged"):
            data = {"action": "revoke", "reason": "x", "name": "n", "email": "e@example.org"}
            if token:
                data["csrf_token"] = token
            response = client.post(url, data=data)
            assert response.status_code == 403, (url, token)
    client.cookies.clear()
    assert (
        client.post("/signin", data={"email": org.owner_email, "password": "x"}).status_code == 403
    )


def test_entered_text_is_escaped_everywhere(platform, client):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org, {**DEFINITION, "title": XSS, "description": XSS})
    credential = _issue(platform, org, row, name=XSS)
    signin(client, org.owner_email)
    for url in [
        "/dashboard",
        "/definitions",
        f"/definitions/{row.id}",
        f"/definitions/{row.id}/assess",
        f"/manage/credentials/{credential.id}",
        "/manage/credentials",
        "/learners",
        f"/credentials/{credential.id}",
    ]:
        html = client.get(url).text
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "&lt;script&gt;" in html, url
    public = client.get(f"/credentials/{credential.id}")
    assert "script-src 'self'" in public.headers["content-security-policy"]


def test_wrong_password_and_unknown_user_look_the_same(platform, client):
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    client.cookies.clear()
    from tests.platform.conftest import csrf_from

    token = csrf_from(client.get("/signin").text)
    wrong = client.post(
        "/signin", data={"email": org.owner_email, "password": "nope", "csrf_token": token}
    )
    nobody = client.post(
        "/signin", data={"email": "no@one.example", "password": "nope", "csrf_token": token}
    )
    assert wrong.status_code == nobody.status_code == 401
    assert "Wrong email or password" in wrong.text
    assert "Wrong email or password" in nobody.text


def test_pages_need_sign_in(client):
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
    assert client.get("/api/v1/definitions").status_code == 401


def test_only_owners_add_staff(platform, client):
    org = make_org(platform, "acme")
    token = signin(client, f"issuer@{org.slug}.example")
    data = {
        "csrf_token": token,
        "name": "New",
        "email": "new@acme.example",
        "role": "owner",
        "password": "long enough password",
    }
    assert client.post("/staff", data=data).status_code == 403
    token = signin(client, org.owner_email)
    response = client.post("/staff", data={**data, "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert "new@acme.example" in client.get("/staff").text
    again = client.post("/staff", data={**data, "csrf_token": token})
    assert again.status_code == 422
    assert "already has an account" in again.text


def test_provider_create_cli(platform, database_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from microcred.cli import app as cli_app

    env = {
        "MICROCRED_DATABASE_URL": database_url,
        "MICROCRED_DATA_DIR": str(tmp_path),
        "MICROCRED_ENV": "test",
        "MICROCRED_OWNER_PASSWORD": "a long initial password",
        "MICROCRED_BASE_URL": "https://credentials.example.org",
    }
    result = CliRunner().invoke(
        cli_app,
        [
            "provider",
            "create",
            "--slug",
            "tu-berlin",
            "--name",
            "TU Berlin",
            "--country",
            "de",
            "--owner-email",
            "registrar@tu.example",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "did:web:credentials.example.org:providers:tu-berlin" in result.output
    again = CliRunner().invoke(
        cli_app,
        [
            "provider",
            "create",
            "--slug",
            "tu-berlin",
            "--name",
            "X",
            "--country",
            "DE",
            "--owner-email",
            "x@tu.example",
        ],
        env=env,
    )
    assert again.exit_code == 1
    assert "taken" in again.stderr


def _attempt(client, path, email, password):
    from tests.platform.conftest import csrf_from

    client.cookies.clear()
    token = csrf_from(client.get(path).text)
    return client.post(
        path,
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


def test_password_guessing_is_throttled_per_account(platform, client, monkeypatch):
    from datetime import timedelta

    from microcred.db.tables import SignInFailure
    from tests.platform.conftest import PASSWORD

    org = make_org(platform, "acme")
    other = make_org(platform, "beta")
    for _ in range(5):
        assert _attempt(client, "/signin", org.owner_email, "guess").status_code == 401
    # the sixth try is refused before the password is checked: even the right one
    locked = _attempt(client, "/signin", org.owner_email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many attempts. Try again in 15 minutes." in locked.text
    assert 800 < int(locked.headers["retry-after"]) <= 900
    # another account from the same address is not locked out
    assert _attempt(client, "/signin", other.owner_email, PASSWORD).status_code == 303
    # nothing identifying is stored: digests only
    with transaction(platform.sessions, readonly=True) as session:
        subjects = [f.subject for f in session.query(SignInFailure)]
    assert subjects
    assert all(re.fullmatch(r"[0-9a-f]{64}", s) for s in subjects)
    assert not any(org.owner_email in s for s in subjects)

    # after the window the account opens again, and a success clears its failures
    later = platform.now() + timedelta(minutes=16)
    monkeypatch.setattr(platform, "now", lambda: later)
    assert _attempt(client, "/signin", org.owner_email, PASSWORD).status_code == 303
    with transaction(platform.sessions, readonly=True) as session:
        left = session.query(SignInFailure).filter(SignInFailure.scope == "staff").count()
    assert left == 0


def test_learner_sign_in_and_reset_requests_are_throttled(platform, client):
    from microcred.services import outbox, wallet

    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, "Niamh", "niamh@example.org", "a password 1")
        account.email_verified_at = platform.now()
    for _ in range(5):
        assert _attempt(client, "/account/signin", "niamh@example.org", "x").status_code == 401
    assert _attempt(client, "/account/signin", "niamh@example.org", "a password 1").status_code == (
        429
    )

    def reset(email):
        from tests.platform.conftest import csrf_from

        token = csrf_from(client.get("/account/reset").text)
        return client.post("/account/reset", data={"csrf_token": token, "email": email})

    before = len(outbox.messages(platform, "niamh@example.org"))
    answers = [reset("niamh@example.org") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert len(outbox.messages(platform, "niamh@example.org")) == before + 3
    # an address without an account is throttled the same way: nothing to tell them apart
    assert [reset("nobody@example.org").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_removed_staff_lose_access_at_once_and_tokens_can_be_revoked(platform, client):
    from microcred.services.providers import add_staff
    from tests.platform.conftest import PASSWORD, csrf_from

    org = make_org(platform, "acme")
    other = make_org(platform, "beta")
    with transaction(platform.sessions) as session:
        from microcred.db.tables import Provider

        provider = session.get(Provider, org.provider_id)
        member = add_staff(
            platform, session, provider, "ina@acme.example", "Ina", PASSWORD, "issuer"
        )
        member_id = member.id
        owner_token = create_api_token(platform, session, staff(platform, org.owner_id), "CI")
        member_token = create_api_token(platform, session, member, "laptop")

    def api(token):
        return client.get("/api/v1/definitions", headers={"Authorization": f"Bearer {token}"})

    assert api(member_token).status_code == 200
    # the member revokes nothing of the owner's, but can see and revoke their own
    signin(client, "ina@acme.example")
    keys_page = client.get("/keys").text
    assert keys_page.count("/revoke") == 1
    member_session = dict(client.cookies)

    # the owner removes the member: signed out at once, no sign-in, no API
    token = signin(client, org.owner_email)
    assert (
        client.post(
            f"/staff/{member_id}/deactivate", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    assert "removed" in client.get("/staff").text
    refused_self = client.post(
        f"/staff/{org.owner_id}/deactivate", data={"csrf_token": token}, follow_redirects=False
    )
    assert refused_self.status_code == 422
    assert "cannot remove yourself" in refused_self.text
    client.cookies.clear()
    client.cookies.update(member_session)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    client.cookies.clear()
    again = client.get("/signin")
    refused = client.post(
        "/signin",
        data={
            "email": "ina@acme.example",
            "password": PASSWORD,
            "csrf_token": csrf_from(again.text),
        },
    )
    assert refused.status_code == 401
    assert api(member_token).status_code == 401

    # the owner revokes a token; another provider's owner cannot touch it
    assert api(owner_token).status_code == 200
    with transaction(platform.sessions, readonly=True) as session:
        from microcred.db.tables import ApiToken

        owner_token_id = session.query(ApiToken).filter_by(name="CI").one().id
    token = signin(client, other.owner_email)
    assert (
        client.post(f"/tokens/{owner_token_id}/revoke", data={"csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(f"/staff/{member_id}/deactivate", data={"csrf_token": token}).status_code == 404
    )
    token = signin(client, org.owner_email)
    client.post(f"/tokens/{owner_token_id}/revoke", data={"csrf_token": token})
    assert api(owner_token).status_code == 401
    assert "revoked" in client.get("/keys").text


def test_staff_change_their_own_password(platform, client):
    from tests.platform.conftest import PASSWORD

    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    wrong = client.post(
        "/staff/password",
        data={"csrf_token": token, "current": "not it", "new": "a brand new password"},
    )
    assert wrong.status_code == 422
    assert "your current password is not right" in wrong.text
    short = client.post(
        "/staff/password", data={"csrf_token": token, "current": PASSWORD, "new": "short"}
    )
    assert short.status_code == 422
    assert "at least 10 characters" in short.text
    done = client.post(
        "/staff/password",
        data={"csrf_token": token, "current": PASSWORD, "new": "a brand new password"},
        follow_redirects=True,
    )
    assert "Your password is changed." in done.text
    signin(client, org.owner_email, "a brand new password")
    client.cookies.clear()
    from tests.platform.conftest import csrf_from

    page = client.get("/signin").text
    old = client.post(
        "/signin",
        data={"email": org.owner_email, "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert old.status_code == 401


def test_security_headers_fill_in_what_the_answer_did_not_set() -> None:
    """``SecurityHeadersMiddleware`` adds each header an answer lacks (names compared without
    case), keeps the answer's own, and opens only the public documents to every origin."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from microcred.web.headers import SecurityHeadersMiddleware

    def own(request):
        return PlainTextResponse("x", headers={"x-frame-options": "SAMEORIGIN"})

    inner = Starlette(routes=[Route("/page", own), Route("/credentials/1.json", own)])
    wrapped = SecurityHeadersMiddleware(
        inner, {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
    )
    with TestClient(wrapped) as client:
        page = client.get("/page")
        document = client.get("/credentials/1.json")
    assert page.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in page.headers
    assert document.headers["access-control-allow-origin"] == "*"
    assert document.headers["x-content-type-options"] == "nosniff"
