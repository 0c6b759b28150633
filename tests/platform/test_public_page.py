"""The public credential page (the certificate's QR code opens it) verifies on every view: a
withdrawn accreditation, a revocation or an unreadable status list shows at once."""

from __future__ import annotations

import re
from datetime import date, timedelta

from microcred.db.session import transaction
from microcred.services import status, trust
from tests.platform.conftest import issue_to, make_org, publish_definition, staff
from tests.platform.test_verifier import _accredit, _qa_body


def _banner(client, credential_id: str) -> tuple[str, str]:
    page = client.get(f"/credentials/{credential_id}").text
    found = re.search(r'id="verdict" data-verdict="(\w+)">(.*?)</p>', page, re.S)
    assert found, page[:2000]
    return found.group(1), found.group(2)


def test_the_public_page_reflects_trust_and_status_at_once(platform, wired):
    org = make_org(platform, "acme")
    credential = issue_to(platform, org, publish_definition(platform, org))
    verdict, text = _banner(wired, credential.id)
    assert verdict == "verified_with_warnings"  # hosted here, not yet accredited by a QA body
    assert "not a recognised provider" in text

    qa_owner = _qa_body(platform)
    accreditation = _accredit(platform, qa_owner, "acme", date.today() + timedelta(days=365))
    assert _banner(wired, credential.id) == ("verified", "Issued and currently valid.")

    with transaction(platform.sessions) as session:
        trust.withdraw(platform, session, staff(platform, qa_owner), accreditation.id)
    verdict, text = _banner(wired, credential.id)
    assert verdict == "verified_with_warnings"
    withdrawn_on = platform.now().date()
    assert f"not currently accredited (last accreditation withdrawn on {withdrawn_on})" in text

    with transaction(platform.sessions) as session:
        status.change_state(
            platform, session, staff(platform, org.owner_id), credential.id, "revoke", "Fraud"
        )
    verdict, text = _banner(wired, credential.id)
    assert verdict == "revoked"
    assert "Fraud" in text


def test_an_unreadable_status_list_is_not_shown_as_valid(platform, wired, monkeypatch):
    org = make_org(platform, "acme")
    credential = issue_to(platform, org, publish_definition(platform, org))

    def outage(*args, **kwargs):
        raise RuntimeError("database of status lists unavailable")

    monkeypatch.setattr(status, "published_list", outage)
    verdict, text = _banner(wired, credential.id)
    assert verdict == "status_unchecked"
    assert "status could not be checked" in text
