"""The learner's wallet: accounts and claiming, import, downloads, sharing, presentations,
export and erasure."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

from microcred.db.session import transaction
from microcred.db.tables import Credential, Learner, LearnerAccount, ShareLink
from microcred.render.certificate import attached_credential
from microcred.services import jobs, outbox, status
from microcred.vc import baking
from microcred.vc.verify import verify
from tests.helpers import signed
from tests.platform.conftest import csrf_from, issue_to, make_org, publish_definition, staff

PASSWORD = "learner password 123"


def _issue(platform, org, row, email):
    return issue_to(platform, org, row, email, "Niamh O'Brien")


def _signup(client, platform, email="niamh@example.org", confirm=True):
    token = csrf_from(client.get("/account/signup").text)
    response = client.post(
        "/account/signup",
        data={"csrf_token": token, "name": "Niamh O'Brien", "email": email, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    jobs.drain(platform)  # the confirmation email (a client of a bare ASGI app drains nothing)
    if confirm:
        [mail] = [m for m in outbox.messages(platform, email) if "Confirm" in m["subject"]]
        link = re.search(r"/account/verify\?token=\S+", mail["body"]).group(0)
        assert client.get(link, follow_redirects=False).status_code == 303
    return csrf_from(client.get("/wallet").text)


def _item_ids(client):
    return re.findall(r'data-item="([^"]+)"', client.get("/wallet").text)


def test_claiming_needs_a_proven_email(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    mine = _issue(platform, org, row, "niamh@example.org")
    _issue(platform, org, row, "someone.else@example.org")
    _signup(wired, platform, confirm=False)
    assert _item_ids(wired) == []  # not proven yet
    [mail] = outbox.messages(platform, "niamh@example.org", "email-confirmation")
    link = re.search(r"/account/verify\?token=\S+", mail["body"]).group(0)
    wired.get(link)
    ids = _item_ids(wired)
    assert len(ids) == 1
    page = wired.get("/wallet").text
    assert "verified" in page
    assert "Welding Safety" in page
    # credentials issued later to the same email appear too
    _issue(platform, org, row, "niamh@example.org")
    assert len(_item_ids(wired)) == 2
    assert wired.get(link).status_code == 400  # a link works once
    with transaction(platform.sessions, readonly=True) as session:
        account = session.query(LearnerAccount).one()
        assert account.email_verified_at is not None
    assert mine.id


def test_sign_in_and_password_reset(platform, wired):
    _signup(wired, platform)
    wired.cookies.clear()
    token = csrf_from(wired.get("/account/signin").text)
    bad = wired.post(
        "/account/signin",
        data={"csrf_token": token, "email": "niamh@example.org", "password": "wrong password"},
    )
    assert bad.status_code == 401
    sent = wired.post("/account/reset", data={"csrf_token": token, "email": "niamh@example.org"})
    assert "reset link is on its way" in sent.text
    nobody = wired.post("/account/reset", data={"csrf_token": token, "email": "nobody@example.org"})
    assert nobody.text.count("reset link is on its way") == 1  # same answer: no enumeration
    mail = next(
        m for m in outbox.messages(platform, "niamh@example.org") if "Reset" in m["subject"]
    )
    reset_token = re.search(r"token=(\S+)", mail["body"]).group(1)
    done = wired.post(
        "/account/reset",
        data={"csrf_token": token, "token": reset_token, "password": "a brand new password"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    again = wired.post(
        "/account/reset",
        data={"csrf_token": token, "token": reset_token, "password": "another new password"},
    )
    assert again.status_code == 422
    ok = wired.post(
        "/account/signin",
        data={
            "csrf_token": token,
            "email": "niamh@example.org",
            "password": "a brand new password",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303


def test_import_keeps_unverified_credentials_marked(platform, wired):
    token = _signup(wired, platform)
    good = json.dumps(signed())
    response = wired.post(
        "/wallet/import", data={"csrf_token": token, "text": good}, follow_redirects=True
    )
    assert "It verified." in response.text
    tampered = json.loads(good)
    tampered["credentialSubject"]["achievement"]["name"] = "Forged"
    response = wired.post(
        "/wallet/import",
        data={"csrf_token": token},
        files={"file": ("x.json", json.dumps(tampered).encode())},
        follow_redirects=True,
    )
    assert "It did not verify: it is kept, marked as not verified." in response.text
    assert 'data-code="proof.signature_invalid"' in response.text
    page = wired.get("/wallet").text
    assert page.count('data-verdict="verified_with_warnings"') == 1  # an unknown issuer
    assert page.count('data-verdict="invalid"') == 1
    assert 'data-code="proof.signature_invalid"' in page
    # both are about someone else (the sample's recipient): marked so
    assert page.count('data-binding="other"') == 2
    junk = wired.post(
        "/wallet/import", data={"csrf_token": token, "text": "not json"}, follow_redirects=True
    )
    assert "Not imported" in junk.text


def test_downloads_share_links_and_presentations(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    credential = _issue(platform, org, row, "niamh@example.org")
    token = _signup(wired, platform)
    [item_id] = _item_ids(wired)
    base = f"/wallet/items/{item_id}"
    assert wired.get(f"{base}/download.json").content == credential.document.encode()
    assert baking.extract(wired.get(f"{base}/download.png").content) == credential.document
    assert baking.extract(wired.get(f"{base}/download.svg").content) == credential.document
    certificate = wired.get(f"{base}/download.pdf")
    assert attached_credential(certificate.content) == credential.document
    issued = json.loads(credential.document)["validFrom"][:10]
    assert certificate.headers["content-disposition"] == (
        f'attachment; filename="welding-safety-{issued}.pdf"'  # named after what it is
    )
    item_page = wired.get(base).text
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in item_page

    shared = wired.post(
        "/wallet/shares",
        data={"csrf_token": token, "items": [item_id], "title": "Portfolio", "expires_days": "7"},
        follow_redirects=False,
    )
    link_token = shared.headers["location"].split("shared=")[1]
    wired.cookies.clear()
    public = wired.get(f"/s/{link_token}")
    assert public.status_code == 200
    assert 'class="banner valid"' in public.text
    assert "Welding Safety" in public.text
    assert "Verified" in wired.get(f"/s/{link_token}/embed").text

    # expiry, then revocation
    with transaction(platform.sessions) as session:
        link = session.query(ShareLink).one()
        link.expires_at = platform.now() - timedelta(minutes=1)
    assert wired.get(f"/s/{link_token}").status_code == 404
    with transaction(platform.sessions) as session:
        session.query(ShareLink).one().expires_at = None
    assert wired.get(f"/s/{link_token}").status_code == 200
    token = csrf_from(wired.get("/account/signin").text)
    wired.post(
        "/account/signin",
        data={"csrf_token": token, "email": "niamh@example.org", "password": PASSWORD},
    )
    token = csrf_from(wired.get("/wallet").text)
    share_id = re.search(r"/wallet/shares/(\d+)/revoke", wired.get("/wallet").text).group(1)
    wired.post(f"/wallet/shares/{share_id}/revoke", data={"csrf_token": token})
    assert wired.get(f"/s/{link_token}").status_code == 404

    vp = wired.post(
        "/wallet/presentation",
        data={
            "csrf_token": token,
            "items": [item_id],
            "challenge": "job-42",
            "domain": "hr.example",
        },
    )
    presentation = vp.json()
    answer = wired.post(
        "/presentations/verify",
        json={
            "verifiablePresentation": presentation,
            "options": {"challenge": "job-42", "domain": "hr.example"},
        },
    )
    assert answer.status_code == 200, answer.json()


def test_other_learners_items_are_not_reachable(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    _issue(platform, org, row, "niamh@example.org")
    _signup(wired, platform)
    [item_id] = _item_ids(wired)
    wired.cookies.clear()
    token = _signup(wired, platform, email="other@example.org")
    assert wired.get(f"/wallet/items/{item_id}").status_code == 404
    assert wired.get(f"/wallet/items/{item_id}/download.json").status_code == 404
    share = wired.post("/wallet/shares", data={"csrf_token": token, "items": [item_id]})
    assert share.status_code == 404
    assert wired.post("/wallet/shares", data={"items": [item_id]}).status_code == 403  # no CSRF


def test_export_and_erasure(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    kept = _issue(platform, org, row, "niamh@example.org")
    revoked = _issue(platform, org, row, "niamh@example.org")
    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff(platform, org.owner_id), revoked.id, "revoke", "x"
        )
    token = _signup(wired, platform)
    archive = zipfile.ZipFile(io.BytesIO(wired.get("/account/export").content))
    names = archive.namelist()
    assert "account.json" in names
    assert "wallet.json" in names
    assert json.loads(archive.read("account.json"))["email"] == "niamh@example.org"
    copies = [archive.read(n).decode() for n in names if n.startswith("credentials/")]
    assert len(copies) == 2

    wrong = wired.post(
        "/account/delete",
        data={"csrf_token": token, "password": "nope nope nope"},
        follow_redirects=True,
    )
    assert "the password is not right" in wrong.text
    done = wired.post("/account/delete", data={"csrf_token": token, "password": PASSWORD})
    assert "erased" in done.text
    with transaction(platform.sessions, readonly=True) as session:
        assert session.query(LearnerAccount).count() == 0
        rows = session.query(Credential).all()
        assert {r.recipient_name for r in rows} == {"erased"}
        assert all("niamh" not in r.recipient_email and r.document == "" for r in rows)
        assert all(r.name == "erased" for r in session.query(Learner).all())
        states = {r.id: r.state for r in rows}
        dump = json.dumps([[r.recipient_email, r.recipient_name, r.document] for r in rows])
    assert "Niamh" not in dump
    assert states[revoked.id] == "revoked"  # revocation bits stay set
    assert wired.get(f"/credentials/{kept.id}").status_code == 410
    # the learner's own copies still verify, with status
    from microcred.services.verification import platform_policy

    results = {json.loads(c)["id"]: verify(c, platform_policy(platform)) for c in copies}
    by_code = sorted(r.step("status").code for r in results.values())
    assert by_code == ["status.ok", "status.revoked"]


def test_a_large_wallet_counts_every_credential_and_shows_them_a_page_at_a_time(platform, wired):
    """Issue 13: the counts cover every credential (kept verdicts, read by digest), one page of
    50 is shown in full; a revocation on another page still shows in the counts."""
    from sqlalchemy import select

    from microcred.db.session import transaction
    from microcred.services import bulk
    from microcred.services import status as status_service
    from microcred.services.models import Credential
    from tests.platform.conftest import staff

    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    lines = ["name,email,reference"] + [
        f"Niamh O'Brien,niamh@example.org,ref-{i}" for i in range(60)
    ]
    bulk.upload_as(
        platform, org.staff["issuer"], row.id, ("\n".join(lines) + "\n").encode(), "c.csv"
    )
    jobs.drain(platform)
    _signup(wired, platform)
    first = wired.get("/wallet").text
    assert 'data-total="60" data-passing="60"' in first
    assert len(_item_ids(wired)) == 50
    second = wired.get("/wallet?page=2").text
    assert len(re.findall(r'data-item="', second)) == 10
    assert "Page 2 of 2" in second
    assert 'data-total="60"' in wired.get("/wallet?page=x").text  # a bad page: the first
    with transaction(platform.sessions, readonly=True) as session:
        any_id = session.scalars(select(Credential.id)).first()
    with transaction(platform.sessions) as session:
        status_service.change_state(
            platform, session, staff(platform, org.owner_id), any_id, "revoke", "error"
        )
    assert 'data-total="60" data-passing="59"' in wired.get("/wallet").text
