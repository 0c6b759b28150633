"""Email: a real SMTP server (aiosmtpd) on loopback receives what the platform sends; password
reset end to end through SMTP; Message-IDs derive from the cause; notifications go out only after
the commit (a refused action sends nothing); the development outbox is private; production
refuses to start without SMTP."""

from __future__ import annotations

import re
import socket
import stat
import threading
from base64 import b64encode
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from fastapi.testclient import TestClient

from microcred.config import ConfigError, load_settings, parse_smtp_url
from microcred.db.session import transaction
from microcred.db.tables import LearnerAccount
from microcred.services import jobs, mail, notify, outbox, rpl, status, wallet
from microcred.services.app import App
from microcred.services.mail import FileOutbox, MailError, SmtpMailer
from microcred.web.app import create_app
from tests.platform.conftest import (
    BASE_URL,
    PASSWORD,
    csrf_from,
    issue_to,
    make_jobs_due,
    make_org,
    make_settings,
    publish_definition,
    signin,
    staff,
)

SMTP_PASSWORD = "s3cret-smtp-pass"


@dataclass
class Inbox:
    """What the test's SMTP server received; :meth:`wait` blocks until a condition holds."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        with self.changed:
            self.received.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.changed.notify_all()
        return "250 OK"

    def wait(
        self, matching: Callable[[EmailMessage], bool], count: int = 1, timeout: float = 15
    ) -> list[EmailMessage]:
        def found() -> list[EmailMessage]:
            return [m for m in self.received if matching(m)]

        with self.changed:
            assert self.changed.wait_for(lambda: len(found()) >= count, timeout), (
                f"{count} message(s) expected, received: {[m['Subject'] for m in self.received]}"
            )
            return found()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"mailer",
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtpd() -> Iterator[Inbox]:
    inbox = Inbox(_free_port())
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=inbox.port,
        authenticator=_authenticator,
        auth_require_tls=False,  # loopback only, in a test
    )
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp_platform(database_url: str, tmp_path: Path, smtpd: Inbox) -> Iterator[App]:
    settings = replace(
        make_settings(database_url, tmp_path),
        smtp_url=f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{smtpd.port}?timeout=10",
        mail_from="Test Platform <no-reply@testserver>",
    )
    app = App.start(settings)
    yield app
    app.engine.dispose()


@pytest.fixture
def smtp_client(smtp_platform: App) -> Iterator[TestClient]:
    with TestClient(create_app(smtp_platform), base_url=BASE_URL) as test_client:
        yield test_client


def _to(address: str, purpose: str) -> Callable[[EmailMessage], bool]:
    return lambda m: m["To"] == address and str(m["Message-ID"]).startswith(f"<{purpose}.")


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def _html(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def test_password_reset_end_to_end_through_smtp(smtp_platform, smtp_client, smtpd):
    client = smtp_client
    assert isinstance(smtp_platform.mailer, SmtpMailer)
    token = csrf_from(client.get("/account/signup").text)
    client.post(
        "/account/signup",
        data={
            "csrf_token": token,
            "name": "Niamh O'Brien",
            "email": "niamh@example.org",
            "password": PASSWORD,
        },
    )
    [confirm] = smtpd.wait(_to("niamh@example.org", "email-confirmation"))
    assert "/account/verify?token=" in _text(confirm)
    client.cookies.clear()
    token = csrf_from(client.get("/account/reset").text)
    sent = client.post("/account/reset", data={"csrf_token": token, "email": "niamh@example.org"})
    assert "reset link is on its way" in sent.text
    [reset] = smtpd.wait(_to("niamh@example.org", "password-reset"))
    assert ("no-reply@testserver", ["niamh@example.org"]) in smtpd.envelopes
    assert reset["From"] == "Test Platform <no-reply@testserver>"
    assert reset["Auto-Submitted"] == "auto-generated"
    assert reset.is_multipart()
    link = re.search(r"http://testserver/account/reset\?token=(\S+)", _text(reset))
    assert link is not None
    assert f"/account/reset?token={link.group(1)}" in _html(reset)
    # follow the link: the form carries the token; a new password is set
    form = client.get(f"/account/reset?token={link.group(1)}")
    assert form.status_code == 200
    done = client.post(
        "/account/reset",
        data={
            "csrf_token": csrf_from(form.text),
            "token": link.group(1),
            "password": "a brand new password",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    signin(client, "niamh@example.org", "a brand new password", learner=True)
    with pytest.raises(AssertionError):
        signin(client, "niamh@example.org", PASSWORD, learner=True)

    # a re-send for the same token (what a retried job does) has the same Message-ID;
    # another token, another id
    with transaction(smtp_platform.sessions) as session:
        account = session.query(LearnerAccount).filter_by(email="niamh@example.org").one()
        again = notify.account_link(
            smtp_platform, session, account, "reset", link.group(1), account.email
        )
        other = notify.account_link(
            smtp_platform, session, account, "reset", "another-token", account.email
        )
    assert again.message_id == reset["Message-ID"]
    assert other.message_id != reset["Message-ID"]
    jobs.drain(smtp_platform)
    resets = smtpd.wait(_to("niamh@example.org", "password-reset"), count=3)
    assert [m["Message-ID"] for m in resets].count(reset["Message-ID"]) == 2
    assert link.group(1) not in str(reset["Message-ID"])  # the id reveals nothing of the token


def test_an_issued_credential_notifies_the_learner(smtp_platform, smtpd):
    org = make_org(smtp_platform, "acme")
    row = publish_definition(smtp_platform, org)
    credential = issue_to(smtp_platform, org, row, "ada@example.org", "Ada Lovelace")
    [sent] = smtpd.wait(_to("ada@example.org", "credential-issued"))
    assert sent["From"] == "Acme Institute via Test Platform <no-reply@testserver>"
    assert "Welding Safety" in str(sent["Subject"])
    text, html = _text(sent), _html(sent)
    assert "Acme Institute has issued you" in text
    assert f"http://testserver/credentials/{credential.id}" in text
    assert "http://testserver/account/signup?email=ada%40example.org" in text
    assert "Acme Institute" in html
    assert "account/signup?email=ada%40example.org" in html
    assert str(sent["Message-ID"]).startswith(f"<credential-issued.{credential.id}.")
    assert not [m for m in smtpd.received if m["To"] != "ada@example.org"]  # staff added: none


def _reset_for_ada(settings, subject: str, cause: str) -> mail.Outgoing:
    return mail.compose(
        settings,
        to="ada@example.org",
        subject=subject,
        template="reset_password",
        purpose="password-reset",
        subject_id=1,
        cause=cause,
        name="Ada",
        link="http://testserver/x",
    )


def test_smtp_failures_are_clear_and_never_name_the_password(smtpd, tmp_path):
    message = _reset_for_ada(make_settings("sqlite://", tmp_path), "Hello", cause="t")
    wrong = SmtpMailer(
        parse_smtp_url(f"smtp://mailer:wrong-{SMTP_PASSWORD}@127.0.0.1:{smtpd.port}")
    )
    with pytest.raises(MailError) as caught:
        wrong.send(message)
    assert "refused the login of user 'mailer'" in str(caught.value)
    assert SMTP_PASSWORD not in str(caught.value)
    assert SMTP_PASSWORD not in repr(wrong)
    closed = SmtpMailer(
        parse_smtp_url(f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{_free_port()}?timeout=5")
    )
    with pytest.raises(MailError) as caught:
        closed.send(message)
    assert "could not send through the mail server 127.0.0.1" in str(caught.value)
    assert SMTP_PASSWORD not in str(caught.value)
    assert smtpd.received == []
    right = SmtpMailer(parse_smtp_url(f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{smtpd.port}"))
    right.send(message)
    assert smtpd.wait(lambda m: m["Subject"] == "Hello")


def test_notifications_wait_for_the_commit(platform):
    """A refused action (the transaction rolls back) enqueues nothing; a savepoint rolled back
    drops what was queued inside it; a commit sends the rest, through the job queue."""
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)

    def refused() -> None:
        with transaction(platform.sessions) as session:
            issue_to_in(platform, session, org, row, "ada@example.org")
            raise RuntimeError("refused after the credential was built")

    with pytest.raises(RuntimeError):
        refused()
    assert not jobs.pending(platform)
    assert jobs.drain(platform) == 0
    assert outbox.messages(platform) == []

    def savepoint(session: Any) -> None:
        with session.begin_nested():
            issue_to_in(platform, session, org, row, "ada@example.org")
            raise RuntimeError("the savepoint is rolled back")

    with transaction(platform.sessions) as session:
        with pytest.raises(RuntimeError):
            savepoint(session)
        issue_to_in(platform, session, org, row, "grace@example.org")
        assert outbox.messages(platform) == []  # enqueued, not sent
    assert outbox.messages(platform) == []  # committed: a worker will send it
    assert jobs.drain(platform) == 1
    sent = outbox.messages(platform)
    assert [m["to"] for m in sent] == ["grace@example.org"]
    assert sent[0]["purpose"] == "credential-issued"


def test_a_mail_server_down_is_retried_with_the_same_message_id(smtp_platform, smtpd):
    """The job fails while the server refuses, waits, and then delivers the same message."""
    org = make_org(smtp_platform, "acme")
    row = publish_definition(smtp_platform, org)
    working = smtp_platform.mailer
    smtp_platform.__dict__["mailer"] = SmtpMailer(
        parse_smtp_url(f"smtp://127.0.0.1:{_free_port()}?timeout=5")  # nobody listens
    )
    credential = issue_to(smtp_platform, org, row, "ada@example.org")  # drains: attempt 1 fails
    state = jobs.state(smtp_platform)
    assert (state.waiting, state.failed) == (1, 0)  # waiting for its retry
    assert smtpd.received == []
    smtp_platform.__dict__["mailer"] = working
    make_jobs_due(smtp_platform)
    assert jobs.drain(smtp_platform) == 1
    [sent] = smtpd.wait(_to("ada@example.org", "credential-issued"))
    assert str(sent["Message-ID"]).startswith(f"<credential-issued.{credential.id}.")
    assert jobs.state(smtp_platform).waiting == 0


def issue_to_in(app: App, session: Any, org: Any, row: Any, email: str) -> Any:
    from microcred.domain.assessment import OutcomeResult
    from microcred.services.issuing import Award, issue

    results = [OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]]
    return issue(app, session, staff(app, org.owner_id), Award(row.id, "Learner", email, results))


def test_a_refused_request_sends_nothing(platform, client):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = issue_to(platform, org, row, "ada@example.org")
    before = len(outbox.messages(platform))
    token = signin(client, org.owner_email)
    refused = client.post(
        f"/manage/credentials/{credential.id}/status",
        data={"csrf_token": token, "action": "revoke", "reason": ""},
    )
    assert refused.status_code in (400, 422)
    assert len(outbox.messages(platform)) == before


def test_status_and_rpl_notifications(platform):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = issue_to(platform, org, row, "ada@example.org", "Ada Lovelace")
    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff(platform, org.owner_id), credential.id, "revoke", "Misconduct"
        )
    jobs.drain(platform)
    [revoked] = outbox.messages(platform, "ada@example.org", "credential-revoke")
    assert "revoked" in revoked["subject"]
    assert "Reason: Misconduct" in revoked["body"]
    assert revoked["from"] == "Acme Institute via microcred <no-reply@testserver>"

    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, "Aoife", "aoife@example.org", PASSWORD)
        app_id = rpl.apply(
            platform, session, account, definition_id=row.id, narrative="Years of welding."
        ).id
    with transaction(platform.sessions) as session:
        rpl.decide(
            platform, session, staff(platform, org.staff["assessor"]), app_id, "request_more",
            "Please add <b>evidence</b>.",
        )  # fmt: skip
    jobs.drain(platform)
    [more] = outbox.messages(platform, "aoife@example.org", "rpl-request-more")
    assert "Please add <b>evidence</b>." in more["body"]
    assert "Please add &lt;b&gt;evidence&lt;/b&gt;." in more["html"]  # HTML is escaped
    assert f"/wallet/rpl/{app_id}" in more["body"]


def test_an_owner_adding_staff_sends_an_invitation(platform, client):
    org = make_org(platform, "acme")  # created by the services: no invitations
    assert outbox.messages(platform) == []
    token = signin(client, org.owner_email)
    added = client.post(
        "/staff",
        data={
            "csrf_token": token,
            "name": "Bea",
            "email": "bea@acme.example",
            "role": "issuer",
            "password": "a password for bea",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    [invited] = outbox.messages(platform, "bea@acme.example", "staff-invitation")
    assert "Acme Institute" in invited["subject"]
    assert "a password for bea" not in invited["body"] + invited["html"]
    assert "http://testserver/signin" in invited["body"]


def test_the_file_outbox_is_private(platform):
    org = make_org(platform, "acme")
    issue_to(platform, org, publish_definition(platform, org), "ada@example.org")
    assert isinstance(platform.mailer, FileOutbox)
    folder = outbox.outbox_dir(platform)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert files
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def _dev_app(database_url: str, tmp_path: Path, env: str) -> App:
    settings = replace(make_settings(database_url, tmp_path), env=env)
    if env == "production":
        settings = replace(settings, smtp_url="smtp://127.0.0.1:25")
    return App.start(settings)


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_dev_outbox_is_only_for_a_signed_in_owner(database_url, tmp_path, env):
    app = _dev_app(database_url, tmp_path, env)
    try:
        with TestClient(create_app(app), base_url=BASE_URL) as client:
            org = make_org(app, "acme")
            with transaction(app.sessions) as session:
                wallet.sign_up(app, session, "Niamh", "niamh@example.org", PASSWORD)
            assert client.get("/dev/outbox").status_code == 404  # anonymous
            signin(client, "niamh@example.org", learner=True)
            assert client.get("/dev/outbox").status_code == 404  # a learner
            signin(client, f"issuer@{org.slug}.example")
            assert client.get("/dev/outbox").status_code == 404  # staff, not an owner
            signin(client, org.owner_email)
            page = client.get("/dev/outbox")
            if env == "production":
                assert page.status_code == 404
                return
            assert page.status_code == 200
            assert "development outbox — not for production" in page.text
            assert "niamh@example.org" in page.text
    finally:
        app.engine.dispose()


def test_production_refuses_to_start_without_smtp(tmp_path):
    env = {
        "MICROCRED_ENV": "production",
        "MICROCRED_DATA_DIR": str(tmp_path),
        "MICROCRED_BASE_URL": "https://credentials.example.org",
        "MICROCRED_KEK": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "MICROCRED_SECRET_KEY": "kX3v9Qm2ZpL7wR4tY8nB1cD6fG0hJ5sA-_eUoIiPqWzx",
    }
    with pytest.raises(ConfigError, match="MICROCRED_SMTP_URL must be set in production"):
        load_settings(env)
    plain = {**env, "MICROCRED_SMTP_URL": f"smtp://u:{SMTP_PASSWORD}@mail.example.org:25"}
    with pytest.raises(ConfigError, match="must use TLS in production") as caught:
        load_settings(plain)
    assert SMTP_PASSWORD not in str(caught.value)
    settings = load_settings(
        {**env, "MICROCRED_SMTP_URL": f"smtp://u:{SMTP_PASSWORD}@mail.example.org?starttls=1"}
    )
    assert SMTP_PASSWORD not in repr(settings)
    target = parse_smtp_url(settings.smtp_url or "")
    assert (target.host, target.port, target.tls, target.username) == (
        "mail.example.org",
        587,
        "starttls",
        "u",
    )
    assert parse_smtp_url("smtps://mail.example.org").port == 465
    assert load_settings({**env, "MICROCRED_SMTP_URL": "smtp://localhost"}).smtp_url
    with pytest.raises(ConfigError, match="unknown option"):
        load_settings({**env, "MICROCRED_SMTP_URL": "smtps://h?tls=1"})
    with pytest.raises(ConfigError, match="MICROCRED_MAIL_FROM"):
        load_settings({**env, "MICROCRED_SMTP_URL": "smtps://h", "MICROCRED_MAIL_FROM": "nobody"})


def test_a_malformed_smtp_url_never_repeats_its_password():
    with pytest.raises(ConfigError) as caught:
        parse_smtp_url("smtp://mailer:pa/ssword-secret@mail.example.org:587")
    assert "ssword-secret" not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__  # no chained parser message quoting it
    with pytest.raises(ConfigError, match="starttls must be 1 or 0"):
        parse_smtp_url("smtp://mail.example.org:587?starttls=on")  # never silently plain


def test_messages_carry_any_name_and_title_safely(tmp_path):
    """Composed with the fast MIME classes: non-ASCII names and titles survive as RFC 2047
    encoded words (none over 75 characters), and a line break cannot add a header."""
    import re

    class Provider:
        legal_name = "Hochschule für Gestaltung und Übersetzung, Zentrum für Weiterbildung " * 2
        contact_email = "weiterbildung@hfg.example"

    settings = make_settings("sqlite://", tmp_path)
    title = "Schweißsicherheit für Übungsleiterinnen\nBcc: victim@example.org"
    message = mail.compose(
        settings,
        to="ada@example.org",
        subject=f"Ihr Nachweis: {title}",
        template="reset_password",
        purpose="password-reset",
        subject_id="3f1c2b7e-1111-4222-8333-444455556666",
        provider=Provider(),
        name="Zoë",
        link="http://testserver/x",
    )
    raw = mail.Outgoing.of(message).raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert all(len(word) <= 75 for word in re.findall(rb"=\?utf-8\?[qb]\?[^?]*\?=", raw))
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Bcc"] is None
    assert str(parsed["Subject"]) == "Ihr Nachweis: " + " ".join(title.split())
    assert parsed["From"].addresses[0].display_name.startswith("Hochschule für Gestaltung")
    assert parsed["Reply-To"].addresses[0].addr_spec == "weiterbildung@hfg.example"
    assert str(parsed["Message-ID"]).startswith("<password-reset.3f1c2b7e-")
    assert "Zoë" in _text(parsed)


def test_mail_jobs_queued_by_an_older_version_are_still_delivered(platform):
    """Jobs hold each message with its envelope now; those queued before, as Latin-1 text or
    in base64 (the envelope read from the headers), still go out."""
    message = _reset_for_ada(platform.settings, "Queued before the upgrade", cause="older")
    raw = message.raw
    outbox = FileOutbox(platform.settings.data_dir / "outbox")
    before = len(outbox.files())
    jobs.execute(
        platform, "mail.send", jobs.seal(platform, {"messages": [b64encode(raw).decode()]})
    )
    jobs.execute(platform, "mail.send", jobs.seal(platform, {"texts": [raw.decode("latin-1")]}))
    jobs.execute(
        platform,
        "mail.send",
        jobs.seal(
            platform,
            {"envelopes": [[raw.decode("latin-1"), message.sender, ["ada@example.org"], "<x@y>"]]},
        ),
    )
    delivered = outbox.files()[before:]
    assert len(delivered) == 3
    for path in delivered:
        assert path.read_bytes() == raw.replace(b"\r\n", b"\n")
