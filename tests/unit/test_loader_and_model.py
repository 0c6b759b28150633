"""The frozen loader and the typed OB 3.0 model."""

from __future__ import annotations

import hashlib
import json
import socket

import pytest
from pyld import jsonld
from pytest_socket import SocketBlockedError

from microcred.vc import loader as loader_module
from microcred.vc.canon import rdfc
from microcred.vc.errors import ContextError
from microcred.vc.loader import DocumentLoader, default_loader, load_vendored_documents
from microcred.vc.model import AchievementCredential, IdentityObject, Profile, identity_hash
from tests.helpers import signed, unsigned


def test_every_vendored_context_matches_its_hash():
    index = json.loads(loader_module._read_vendored("index.json"))
    for entry in index.values():
        digest = hashlib.sha256(loader_module._read_vendored(entry["file"])).hexdigest()
        assert digest == entry["sha256"]
    assert set(load_vendored_documents()) == set(index)


def test_a_tampered_context_file_is_refused(monkeypatch):
    real = loader_module._read_vendored

    def tampered(name: str) -> bytes:
        data = real(name)
        return (
            data.replace(b'"@protected": true', b'"@protected": false', 1) if "v2" in name else data
        )

    monkeypatch.setattr(loader_module, "_read_vendored", tampered)
    with pytest.raises(ContextError) as caught:
        load_vendored_documents()
    assert caught.value.code == "context.tampered"


def test_unknown_url_is_an_error_not_a_fetch():
    document = {"@context": "https://example.com/unknown", "@id": "urn:x", "name": "x"}
    with pytest.raises(ContextError) as caught:
        rdfc(document, default_loader())
    assert caught.value.code == "context.unknown"


def test_sockets_are_off_in_tests():
    # The suite runs with pytest-socket: a verification that tried the network would fail.
    with (
        pytest.raises(SocketBlockedError),
        pytest.warns(UserWarning, match="tried to use socket"),
    ):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_loaders_do_not_share_cached_contexts():
    url = "https://example.com/ctx"
    extra = DocumentLoader({url: {"@context": {"name": "https://schema.org/name"}}})
    document = {"@context": url, "@id": "urn:x", "name": "x"}
    assert "schema.org/name" in rdfc(document, extra)
    # pyld caches resolved contexts per process by URL; ours are per loader.
    with pytest.raises(ContextError):
        rdfc(document, default_loader())
    assert jsonld  # pyld stays imported; its global cache is never used by microcred


def test_identity_hash_matches_the_spec_example():
    # OB 3.0 B.1.3: 'a@example.com' salted with 'Kosher'.
    assert identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )


def test_identity_object_matches_emails():
    identity = IdentityObject.for_email(" Learner@Example.org ", salt="s")
    assert identity.matches_email("learner@example.org")
    assert not identity.matches_email("other@example.org")
    foreign = IdentityObject(
        hashed=True, identity_hash=identity_hash("Raw@Case.org", "x"), salt="x"
    )
    assert foreign.matches_email("Raw@Case.org")


def test_model_round_trips_a_signed_credential_without_loss():
    credential = signed()
    model = AchievementCredential.from_json(credential)
    assert model.to_json() == credential
    assert model.credential_subject.achievement.achievement_type == "MicroCredential"


def test_model_refuses_a_wrong_shape():
    document = unsigned()
    document["type"] = ["VerifiableCredential"]
    with pytest.raises(ValueError, match="OpenBadgeCredential"):
        AchievementCredential.from_json(document)
    with pytest.raises(ValueError, match="Profile"):
        Profile(id="did:key:z", type="Organization")
