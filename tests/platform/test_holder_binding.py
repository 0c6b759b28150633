"""Holder binding in the wallet: credentials about someone else are marked and never shared as
the learner's; further emails and DIDs are proven; items can be removed; verdicts are live."""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from urllib.parse import unquote_plus

import pytest
from typer.testing import CliRunner

from microcred.cli import app as cli
from microcred.db.session import transaction
from microcred.db.tables import AccountToken, ShareLink
from microcred.domain.errors import DomainError
from microcred.services import outbox, status
from microcred.vc.keyfile import export_key
from microcred.vc.multikey import KeyPair
from microcred.vc.presentation import sign_presentation
from tests.helpers import signed, unsigned
from tests.platform.conftest import BASE_URL, csrf_from, issue_to, make_org, publish_definition
from tests.platform.conftest import staff as staff_of
from tests.platform.test_wallet import _signup

DID_KEY = KeyPair.from_seed(bytes(range(100, 132)))


def _import(client, token, document):
    text = document if isinstance(document, str) else json.dumps(document)
    response = client.post("/wallet/import", data={"csrf_token": token, "text": text})
    return response.url.path.rsplit("/", 1)[-1]


def _binding(client, item_id):
    row = re.search(rf'<tr data-item="{item_id}">.*?</tr>', client.get("/wallet").text, re.S)
    found = re.search(r'data-binding="(\w+)"', row.group(0))
    return found.group(1) if found else "holder"


def _share(client, token, *item_ids):
    return client.post(
        "/wallet/shares",
        data={"csrf_token": token, "items": list(item_ids), "title": "Mine"},
        follow_redirects=False,
    )


def test_someone_elses_credential_is_marked_and_never_shared(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    mine = issue_to(platform, org, row, "niamh@example.org", "Niamh O'Brien")
    theirs = issue_to(platform, org, row, "grace@example.org", "Grace Hopper")
    token = _signup(wired, platform)
    [my_item] = re.findall(r'data-item="([^"]+)"', wired.get("/wallet").text)
    other_item = _import(wired, token, theirs.document)
    assert _binding(wired, other_item) == "other"
    assert _binding(wired, my_item) == "holder"
    assert "Issued to someone else" in wired.get(f"/wallet/items/{other_item}").text

    refused = _share(wired, token, my_item, other_item)
    assert "is not bound to you" in unquote_plus(refused.headers["location"])
    link = _share(wired, token, my_item).headers["location"].split("shared=")[1]
    with transaction(platform.sessions) as session:  # a link from before binding existed
        session.query(ShareLink).one().item_ids = [my_item, other_item]
    page = wired.get(f"/s/{link}").text
    assert page.count('<article class="credential">') == 1
    assert "Grace" not in page
    assert wired.get(f"/s/{link}/embed").text.count("banner") == 1

    # fail closed, at once: a revocation shows on the public page and in the wallet
    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff_of(platform, org.owner_id), mine.id, "revoke", "x"
        )
    assert 'data-verdict="revoked"' in wired.get(f"/s/{link}").text
    assert 'data-verdict="revoked"' in wired.get("/wallet").text

    presented = wired.post(
        "/wallet/presentation",
        data={"csrf_token": token, "items": [other_item], "challenge": "c"},
        follow_redirects=False,
    )
    assert "cannot be presented as yours" in unquote_plus(presented.headers["location"])


def test_a_proven_second_email_makes_its_credentials_hers(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    work = issue_to(platform, org, row, "niamh@work.example", "Niamh O'Brien")
    token = _signup(wired, platform)
    item_id = _import(wired, token, work.document)
    assert _binding(wired, item_id) == "other"

    page = wired.post(
        "/account/identities/email", data={"csrf_token": token, "email": "Niamh@Work.example"}
    )
    assert "We sent a link to niamh@work.example" in page.text
    [mail] = outbox.messages(platform, "niamh@work.example", "email-proof")
    link = re.search(r"/account/identities/verify\?token=\S+", mail["body"]).group(0)
    asked = wired.get(link)  # asks first: a GET changes nothing
    assert "Add <strong>niamh@work.example</strong>" in asked.text
    assert _binding(wired, item_id) == "other"
    link_token = link.split("token=")[1]
    done = wired.post("/account/identities/verify", data={"csrf_token": token, "token": link_token})
    assert "niamh@work.example is now proven yours" in done.text
    assert _binding(wired, item_id) == "holder"
    assert _share(wired, token, item_id).headers["location"].startswith("/wallet?shared=")
    again = wired.post(
        "/account/identities/verify", data={"csrf_token": token, "token": link_token}
    )
    assert again.status_code == 400

    # removing the identity takes its credentials along (computed at view time)
    identity = re.search(r'data-identity="(\d+)"', done.text).group(1)
    wired.post(f"/account/identities/{identity}/remove", data={"csrf_token": token})
    assert _binding(wired, item_id) == "other"


def _challenge(client, token):
    page = client.post("/account/identities/did/challenge", data={"csrf_token": token}).text
    return re.search(r'<code id="challenge">([^<]+)</code>', page).group(1)


def _prove(client, token, presentation):
    text = presentation if isinstance(presentation, str) else json.dumps(presentation)
    return client.post("/account/identities/did", data={"csrf_token": token, "presentation": text})


def test_a_did_proven_by_a_signed_challenge_makes_its_credentials_hers(platform, wired, tmp_path):
    token = _signup(wired, platform)
    document = unsigned()
    document["credentialSubject"]["id"] = DID_KEY.public.did_key
    document["credentialSubject"].pop("identifier", None)
    item_id = _import(wired, token, signed(document))
    assert _binding(wired, item_id) == "other"

    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(export_key(DID_KEY)))
    nonce = _challenge(wired, token)
    result = CliRunner().invoke(
        cli,
        ["prove-did", "--key", str(key_file), "--challenge", nonce, "--domain", BASE_URL],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    proven = _prove(wired, token, result.stdout)
    assert f"{DID_KEY.public.did_key} is now proven yours" in proven.text
    assert _binding(wired, item_id) == "holder"

    replay = _prove(wired, token, result.stdout)  # a challenge works once
    assert replay.status_code == 422
    assert "used or has expired" in replay.text

    # the wallet signs as its own did:key: a credential about another DID is not its to present
    presented = wired.post(
        "/wallet/presentation",
        data={"csrf_token": token, "items": [item_id], "challenge": "c"},
        follow_redirects=False,
    )
    assert "present it signed with that DID" in unquote_plus(presented.headers["location"])


def test_wrong_expired_and_misdirected_challenges_are_refused(platform, wired):
    token = _signup(wired, platform)

    def vp(challenge, domain=BASE_URL):
        return sign_presentation(
            [], DID_KEY, challenge=challenge, domain=domain, created=platform.now()
        )

    assert _prove(wired, token, vp("a challenge we never gave")).status_code == 422
    nonce = _challenge(wired, token)
    wrong_domain = _prove(wired, token, vp(nonce, "https://elsewhere.example"))
    assert "the proof does not verify" in wrong_domain.text
    # a refused proof writes nothing, so the challenge still works once, within its 30 minutes
    assert _prove(wired, token, vp(nonce)).status_code == 200
    assert _prove(wired, token, vp(nonce)).status_code == 422  # used up

    nonce = _challenge(wired, token)
    with transaction(platform.sessions) as session:
        for row in session.query(AccountToken).filter_by(purpose="did"):
            row.expires_at = platform.now() - timedelta(minutes=1)
    assert "used or has expired" in _prove(wired, token, vp(nonce)).text

    nonce = _challenge(wired, token)
    forged = copy.deepcopy(vp(nonce))
    forged["holder"] = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    assert "the proof does not verify" in _prove(wired, token, forged).text
    assert "did:key:z6MkhaX" not in wired.get("/account/identities").text


def test_a_learner_removes_items_others_cannot(platform, wired):
    org = make_org(platform, "acme")
    row = publish_definition(platform, org)
    issue_to(platform, org, row, "niamh@example.org", "Niamh O'Brien")
    token = _signup(wired, platform)
    [claimed] = re.findall(r'data-item="([^"]+)"', wired.get("/wallet").text)
    imported = _import(wired, token, signed())
    unconfirmed = wired.post(f"/wallet/items/{imported}/remove", data={"csrf_token": token})
    assert "tick the box" in unconfirmed.text
    for item_id in (claimed, imported):
        removed = wired.post(
            f"/wallet/items/{item_id}/remove", data={"csrf_token": token, "confirm": "yes"}
        )
        assert "Removed from your wallet" in removed.text
    assert re.findall(r'data-item="([^"]+)"', wired.get("/wallet").text) == []  # not reclaimed
    assert wired.get(f"/wallet/items/{claimed}").status_code == 404

    mine = _import(wired, token, signed())
    wired.cookies.clear()
    other = _signup(wired, platform, email="other@example.org")
    answer = wired.post(
        f"/wallet/items/{mine}/remove", data={"csrf_token": other, "confirm": "yes"}
    )
    assert answer.status_code == 404
    assert csrf_from(wired.get("/wallet").text)


def test_a_wallet_will_not_sign_someone_elses_did_proof_challenge(platform, wired):
    """The confused deputy: Mallory gets a DID-proof challenge on her account and asks Alice to
    'present' with it to the platform's domain; Alice's wallet refuses, and a presentation
    carrying credentials is not accepted as a DID proof either."""
    from microcred.db.tables import LearnerAccount
    from microcred.services import wallet

    mallory = _signup(wired, platform, "mallory@example.org")
    nonce = _challenge(wired, mallory)
    assert nonce.startswith(wallet.DID_PROOF_PREFIX)
    with transaction(platform.sessions) as session:
        alice = wallet.sign_up(platform, session, "Alice", "alice@example.org", "alice pass 1234")
        with pytest.raises(DomainError) as refused:
            wallet.presentation(platform, session, alice, [], nonce, BASE_URL)
        assert refused.value.code == "presentation.challenge_refused"
        alice_did = f"did:key:{session.get(LearnerAccount, alice.id).holder_public}"
    carrying = sign_presentation(
        [signed()], DID_KEY, challenge=nonce, domain=BASE_URL, created=platform.now()
    )
    assert "carries no credentials" in _prove(wired, mallory, carrying).text
    assert alice_did not in wired.get("/account/identities").text
