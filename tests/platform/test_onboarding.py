"""Provider sign-up (services/onboarding.py, web/onboarding.py): apply, prove the domain through
the safe fetcher, an operator approves; the owner signs in with the password they chose and
finds a checklist; the public profile shows the proven domain."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from microcred.db.tables import Provider, ProviderApplication
from microcred.services import jobs, onboarding, outbox
from microcred.services.app import App
from microcred.vc.fetch import SafeFetcher
from tests.platform.conftest import csrf_from, make_org, signin

OPERATOR = ("operator@platform.example", "operator password 1")
APPLICANT = {
    "kind": "provider",
    "legal_name": "Harbour Academy Ltd",
    "slug": "harbour",
    "country_code": "ie",
    "region": "Munster",
    "website": "https://harbour-academy.example/courses",
    "domain": "",
    "contact_name": "Siobhán Walsh",
    "contact_email": "siobhan@harbour-academy.example",
    "password": "harbour password 1",
}


class Domains:
    """Other hosts' files, served to the platform's safe fetcher (its opener)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.files: dict[str, bytes] = {}
        self.asked: list[str] = []
        self.writable: list[bool] = []  # could another writer begin while the host was asked?
        app.fetcher = SafeFetcher(set(), opener=self.open, ttl=0)

    def open(self, url: str) -> tuple[int, bytes]:
        self.asked.append(url)
        url_of_db = self.app.settings.database_url
        if url_of_db.startswith("sqlite"):  # a slow host must not hold the write lock
            other = sqlite3.connect(url_of_db.split("///", 1)[1], timeout=0.2)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                self.writable.append(True)
            except sqlite3.OperationalError:
                self.writable.append(False)
            finally:
                other.close()
        return (200, self.files[url]) if url in self.files else (404, b"not found")


def _apply(client: TestClient, **changes: Any) -> Any:
    token = csrf_from(client.get("/apply").text)
    return client.post(
        "/apply",
        data={**APPLICANT, **changes, "csrf_token": token},
        follow_redirects=False,
    )


def _count(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ProviderApplication)) or 0)


def test_apply_prove_the_domain_approve_and_sign_in(platform: App, client: TestClient):
    domains = Domains(platform)
    onboarding.add_operator(platform, OPERATOR[0], "Olga Operator", OPERATOR[1])
    answer = _apply(client)
    assert answer.status_code == 303
    status = answer.headers["location"]
    assert status.startswith("/apply/status/")
    page = client.get(status).text
    assert 'data-state="pending"' in page
    assert 'data-verified="no"' in page
    line = re.search(r'<pre id="domain-token">([^<]+)</pre>', page).group(1)
    url = "https://harbour-academy.example/.well-known/microcred-verification.txt"
    assert url in page  # the website's domain, since no other was given

    check = csrf_from(page)
    refused = client.post(f"{status}/check", data={"csrf_token": check})
    assert "could not be read" in refused.text  # nothing published yet
    domains.files[url] = b"other-line\nmicrocred-verification=not-this-one\n"
    refused = client.post(f"{status}/check", data={"csrf_token": check})
    assert "does not hold this application" in refused.text
    domains.files[url] = f"# microcred\n{line}\n".encode()
    proven = client.post(f"{status}/check", data={"csrf_token": check})
    assert 'data-verified="yes"' in proven.text
    assert domains.asked == [url, url, url]  # only through the safe fetcher, only that file
    if platform.settings.database_url.startswith("sqlite"):
        assert domains.writable == [True, True, True]

    token = signin(client, *OPERATOR)  # an operator lands on the queue
    queue = client.get("/dashboard")
    assert queue.url.path == "/operator"
    assert "Harbour Academy Ltd" in queue.text
    [application_id] = re.findall(r'data-application="(\d+)"', queue.text)
    approved = client.post(
        f"/operator/applications/{application_id}/approve", data={"csrf_token": token}
    )
    assert "Approved" in approved.text
    with platform.sessions() as session:
        provider = session.scalar(select(Provider).where(Provider.slug == "harbour"))
        assert provider is not None
        assert provider.kind == "provider"
        assert provider.country_code == "IE"
        assert provider.domain == "harbour-academy.example"
        decided = session.scalar(select(ProviderApplication))
        assert decided is not None
        assert decided.password_hash == ""  # the owner has it now; the application keeps none

    assert 'data-state="approved"' in client.get(status).text
    jobs.drain(platform)
    received, approved = (
        outbox.messages(platform, APPLICANT["contact_email"], purpose)
        for purpose in ("application-received", "application-approved")
    )
    assert status in received[0]["body"]  # the private link, only to the applicant
    assert line in received[0]["body"]
    assert "/signin" in approved[0]["body"]
    assert APPLICANT["password"] not in received[0]["body"] + approved[0]["body"]
    signin(client, APPLICANT["contact_email"], APPLICANT["password"])  # the password they chose
    dashboard = client.get("/dashboard").text
    assert 'id="checklist"' in dashboard
    assert dashboard.count('data-done="no"') == 4  # staff, draft, publish, issue
    profile = client.get("/providers/harbour").text
    assert 'data-verified="yes"' in profile


def test_the_form_keeps_what_was_typed_and_names_what_is_wrong(platform: App, client):
    make_org(platform, "acme")  # its slug is taken
    for changes, field in (
        ({"legal_name": ""}, "legal_name"),
        ({"slug": "Harbour Academy"}, "slug"),
        ({"slug": "acme"}, "slug"),
        ({"country_code": "Ireland"}, "country_code"),
        ({"website": "http://harbour-academy.example"}, "website"),
        ({"domain": "localhost"}, "domain"),
        ({"contact_email": "siobhan"}, "contact_email"),
        ({"domain": "other-academy.example"}, "domain"),  # the website is not on it
        ({"website": "https://harbour-academy.example/" + "a" * 600}, "website"),
        ({"password": "short"}, "password"),
        ({"kind": "platform"}, "kind"),
    ):
        answer = _apply(client, **changes)
        assert answer.status_code == 422, changes
        assert f'data-field="{field}"' in answer.text, changes
        if field != "legal_name":
            assert 'value="Harbour Academy Ltd"' in answer.text  # nothing typed is lost
        assert "harbour password" not in answer.text  # never echoed
    assert _count(platform) == 0
    assert _apply(client).status_code == 303
    assert _apply(client).status_code == 422  # the same short name, pending: taken


def test_only_operators_decide_and_only_proven_domains_are_approved(platform, client):
    Domains(platform)
    onboarding.add_operator(platform, OPERATOR[0], "Olga Operator", OPERATOR[1])
    status = _apply(client).headers["location"]
    org = make_org(platform, "acme")
    token = signin(client, org.owner_email)
    assert client.get("/operator").status_code == 403  # a provider's owner is no operator
    with platform.sessions() as session:
        application_id = session.scalar(select(ProviderApplication.id))
    assert (
        client.post(
            f"/operator/applications/{application_id}/approve", data={"csrf_token": token}
        ).status_code
        == 403
    )
    token = signin(client, *OPERATOR)
    refused = client.post(
        f"/operator/applications/{application_id}/approve", data={"csrf_token": token}
    )
    assert "not proven its domain" in refused.text
    with platform.sessions() as session:
        assert session.scalar(select(Provider).where(Provider.slug == "harbour")) is None
    no_reason = client.post(
        f"/operator/applications/{application_id}/reject",
        data={"csrf_token": token, "reason": " "},
    )
    assert "say why" in no_reason.text
    client.post(
        f"/operator/applications/{application_id}/reject",
        data={"csrf_token": token, "reason": "We could not confirm the organisation."},
    )
    page = client.get(status).text
    assert 'data-state="rejected"' in page
    jobs.drain(platform)
    [mail] = outbox.messages(platform, APPLICANT["contact_email"], "application-rejected")
    assert "We could not confirm the organisation." in mail["body"]
    assert "We could not confirm the organisation." in page
    assert client.get("/apply/status/not-a-real-token").status_code == 404


def test_a_qa_body_applies_the_same_way(platform, client):
    domains = Domains(platform)
    onboarding.add_operator(platform, OPERATOR[0], "Olga Operator", OPERATOR[1])
    status = _apply(client, kind="qa_body", slug="qa-ireland", legal_name="QA Ireland").headers[
        "location"
    ]
    page = client.get(status).text
    line = re.search(r'<pre id="domain-token">([^<]+)</pre>', page).group(1)
    domains.files["https://harbour-academy.example/.well-known/microcred-verification.txt"] = (
        line.encode()
    )
    client.post(f"{status}/check", data={"csrf_token": csrf_from(page)})
    token = signin(client, *OPERATOR)
    with platform.sessions() as session:
        application_id = session.scalar(select(ProviderApplication.id))
    client.post(f"/operator/applications/{application_id}/approve", data={"csrf_token": token})
    signin(client, APPLICANT["contact_email"], APPLICANT["password"])
    assert client.get("/dashboard").url.path == "/qa"  # a QA body's home


def test_an_email_that_has_an_account_is_told_to_the_operator_not_the_public(platform, client):
    domains = Domains(platform)
    onboarding.add_operator(platform, OPERATOR[0], "Olga Operator", OPERATOR[1])
    make_org(platform, "acme")
    answer = _apply(client, contact_email="owner@acme.example")
    assert answer.status_code == 303  # the form says nothing of who has an account
    page = client.get(answer.headers["location"]).text
    line = re.search(r'<pre id="domain-token">([^<]+)</pre>', page).group(1)
    domains.files["https://harbour-academy.example/.well-known/microcred-verification.txt"] = (
        line.encode()
    )
    client.post(f"{answer.headers['location']}/check", data={"csrf_token": csrf_from(page)})
    token = signin(client, *OPERATOR)
    with platform.sessions() as session:
        application_id = session.scalar(select(ProviderApplication.id))
    refused = client.post(
        f"/operator/applications/{application_id}/approve", data={"csrf_token": token}
    )
    assert "owner@acme.example already has an account" in refused.text
    with platform.sessions() as session:
        assert session.scalar(select(Provider).where(Provider.slug == "harbour")) is None
