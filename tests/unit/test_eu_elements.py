"""Reading the EU Annex I elements from credentials others issue: an object or a list wherever
either is allowed, and bad shapes mean "not stated", never an exception."""

from __future__ import annotations

from typing import Any

import pytest

from microcred.domain.award import read_eu_elements, status_purposes
from microcred.domain.catalog import EU_FRAMEWORK

NAME = {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "Ada"}
EMAIL = {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True}


def _credential(**subject: Any) -> dict[str, Any]:
    return {
        "issuer": {"id": "did:example:1", "name": "Acme", "address": {"addressCountryCode": "DE"}},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"type": ["AchievementSubject"], **subject},
    }


def test_identifier_as_one_object_or_a_list():
    assert read_eu_elements(_credential(identifier=NAME))["learner"] == "Ada"
    assert read_eu_elements(_credential(identifier=[EMAIL, NAME]))["learner"] == "Ada"
    assert read_eu_elements(_credential(identifier=EMAIL))["learner"] == "hashed email"


def test_other_list_or_object_fields_read_either_way():
    alignment = {"targetFramework": EU_FRAMEWORK, "targetCode": "title", "targetDescription": "T"}
    credential = _credential(
        identifier=NAME,
        achievement={"alignment": alignment},
        result={"value": "88"},
    )
    credential["credentialSubject"] = [credential["credentialSubject"]]
    found = read_eu_elements(credential)
    assert found["title"] == "T"
    assert found["grade"] == "88"
    assert found["learner"] == "Ada"
    assert found["country"] == "DE"
    assert found["awarding_body"] == "Acme"
    assert found["date_of_issue"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("bad", [None, True, [], [4, True, None], {"identityType": 5}, [[NAME]]])
def test_wrong_types_are_not_stated_and_never_raise(bad):
    found = read_eu_elements(_credential(identifier=bad, achievement=bad, result=bad))
    assert set(found) == {"country", "awarding_body", "date_of_issue"}
    broken: dict[str, Any] = {
        "credentialSubject": bad,
        "issuer": {"name": bad, "address": bad},
        "validFrom": bad,
        "awardedDate": bad,
    }
    assert read_eu_elements(broken) == {}
    nested = _credential(
        identifier=[{"identityType": "name", "identityHash": bad}],
        achievement={"alignment": [bad, {"targetFramework": EU_FRAMEWORK, "targetCode": bad}]},
        result=[{"value": bad}],
    )
    assert set(read_eu_elements(nested)) == {"country", "awarding_body", "date_of_issue"}


@pytest.mark.parametrize("odd", [4, "text", 2.5, {"a": 1}, ["x"]])
def test_any_shape_anywhere_never_raises(odd):
    for key in ("credentialSubject", "issuer", "validFrom", "awardedDate"):
        read_eu_elements({**_credential(identifier=NAME), key: odd})
    for key in ("identifier", "achievement", "result", "id"):
        read_eu_elements(_credential(**{key: odd}))
    read_eu_elements(_credential(achievement={"alignment": odd}, result=[{"value": odd}]))
    read_eu_elements({"issuer": {"address": {"addressCountryCode": odd, "addressRegion": odd}}})


def test_status_purposes_of_one_entry_or_a_list():
    one = {"credentialStatus": {"statusPurpose": "revocation"}}
    both = {"credentialStatus": [{"statusPurpose": "revocation"}, {"statusPurpose": "suspension"}]}
    assert status_purposes(one) == {"revocation"}
    assert status_purposes(both) == {"revocation", "suspension"}
    assert status_purposes({}) == set()
    assert status_purposes({"credentialStatus": ["x", {"statusPurpose": 3}]}) == set()
