"""Multikey, did:key, did:web documents and key files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microcred.vc.did import OfflineResolver, find_method, is_authorized
from microcred.vc.did_web import ListedKey, build_did_document, did_web_from_url, did_web_to_url
from microcred.vc.errors import KeyFormatError
from microcred.vc.keyfile import export_key, import_key
from microcred.vc.multikey import (
    KeyPair,
    PublicKey,
    multibase_decode,
    multibase_encode,
    parse_did_key,
    resolve_did_key,
)
from tests.helpers import ISSUER_KEY, OTHER_KEY


@given(st.binary(max_size=100))
def test_multibase_round_trip(data):
    assert multibase_decode(multibase_encode(data)) == data


def test_known_did_key():
    # did:key spec example; the key is the W3C vector's public key.
    key = PublicKey.from_multibase("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2")
    assert key.did_key == "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
    document = resolve_did_key(key.did_key)
    assert document["assertionMethod"] == [key.did_key_method_id]
    assert find_method(document, key.did_key_method_id)["publicKeyMultibase"] == key.multibase


@pytest.mark.parametrize(
    ("did", "code"),
    [
        ("did:key:", "multibase.malformed"),
        ("did:key:6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "multibase.prefix"),
        ("did:key:z0OIl", "multibase.malformed"),
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "key.not_ed25519"),
        ("did:web:example.org", "did.malformed"),
    ],
)
def test_malformed_did_key(did, code):
    with pytest.raises(KeyFormatError) as caught:
        parse_did_key(did)
    assert caught.value.code == code


def test_resolver_maps_bad_did_keys_to_one_code():
    with pytest.raises(KeyFormatError) as caught:
        OfflineResolver().resolve("did:key:zNOPE")
    assert caught.value.code == "did.malformed"


def test_sign_and_verify_raw():
    key = KeyPair.generate()
    signature = key.sign(b"hello")
    assert key.public.verify(signature, b"hello")
    assert not key.public.verify(signature, b"hellO")
    assert "secret" not in repr(key).lower()
    assert key.secret_multibase() not in repr(key)


@pytest.mark.parametrize(
    ("host", "path", "did", "url"),
    [
        ("example.org", (), "did:web:example.org", "https://example.org/.well-known/did.json"),
        (
            "localhost:8000",
            ("providers", "acme"),
            "did:web:localhost%3A8000:providers:acme",
            "https://localhost:8000/providers/acme/did.json",
        ),
    ],
)
def test_did_web_urls(host, path, did, url):
    assert did_web_from_url(host, path) == did
    assert did_web_to_url(did) == url


@pytest.mark.parametrize("did", ["did:web:", "did:web:exa mple.org", "did:web:a/b", "did:key:z"])
def test_malformed_did_web(did):
    with pytest.raises(KeyFormatError):
        did_web_to_url(did)


def test_did_web_document_keeps_rotated_keys_for_assertion():
    did = "did:web:example.org:providers:acme"
    document = build_did_document(
        did,
        [ListedKey("key-2", OTHER_KEY.public), ListedKey("key-1", ISSUER_KEY.public, active=False)],
    )
    assert [m["id"] for m in document["verificationMethod"]] == [f"{did}#key-2", f"{did}#key-1"]
    assert is_authorized(document, f"{did}#key-1", "assertionMethod")
    assert not is_authorized(document, f"{did}#key-1", "authentication")
    assert is_authorized(document, f"{did}#key-2", "authentication")


def test_did_web_document_refuses_duplicate_fragments():
    with pytest.raises(ValueError, match="unique"):
        build_did_document(
            "did:web:x.org", [ListedKey("k", ISSUER_KEY.public), ListedKey("k", OTHER_KEY.public)]
        )


def test_plain_key_file_round_trip():
    data = export_key(ISSUER_KEY)
    assert data["controller"] == ISSUER_KEY.public.did_key
    assert import_key(data).public == ISSUER_KEY.public


def test_encrypted_key_file_round_trip_and_secret_not_in_clear():
    data = export_key(ISSUER_KEY, "correct horse")
    assert "secretKeyMultibase" not in data
    assert ISSUER_KEY.secret_multibase() not in str(data)
    assert import_key(data, "correct horse").public == ISSUER_KEY.public


@pytest.mark.parametrize(
    ("change", "passphrase", "code"),
    [
        (lambda d: None, "wrong", "keyfile.wrong_passphrase"),
        (lambda d: None, None, "keyfile.passphrase_required"),
        (
            lambda d: d.update(publicKeyMultibase=OTHER_KEY.public.multibase),
            "pw",
            "keyfile.wrong_passphrase",
        ),
        (lambda d: d["encryptedSecretKey"].update(n=2**30), "pw", "keyfile.invalid"),
        (lambda d: d.pop("encryptedSecretKey"), "pw", "keyfile.no_secret"),
    ],
)
def test_bad_key_files(change, passphrase, code):
    data = export_key(ISSUER_KEY, "pw")
    change(data)
    with pytest.raises(KeyFormatError) as caught:
        import_key(data, passphrase)
    assert caught.value.code == code


def test_plain_key_file_with_mismatched_public_key():
    data = export_key(ISSUER_KEY)
    data["publicKeyMultibase"] = OTHER_KEY.public.multibase
    with pytest.raises(KeyFormatError) as caught:
        import_key(data)
    assert caught.value.code == "keyfile.key_mismatch"
