"""Builds the signed half of the verification corpus in ``tests/fixtures/corpus``.

The third-party half (``public/``, ``served/`` for their hosts) is copied from public test
fixtures (see the corpus README). This module signs deterministic variants with microcred's own
helpers: did:key, did:web and https-URL issuers; Bitstring Status List and StatusList2021 lists
that revoke, suspend, are tampered with, expired, too short, unreachable or not lists at all;
credentials expired and not yet valid; holder-signed presentations. Every item is declared here
with the verdict and code microcred must give it; ``expected.json`` is written from these
declarations. Ed25519 signatures are deterministic, so the output is the same on every run:

    .venv/bin/python -m tests.corpus_build      # rewrite generated/, served/*.corpus.example/
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import re
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from microcred.tour import sample_micro_credential
from microcred.vc import proofs, status_list
from microcred.vc.credential import bind_issuer
from microcred.vc.did_web import ListedKey, build_did_document
from microcred.vc.loader import DATA_INTEGRITY_V2, VC_V1, default_loader
from microcred.vc.model import IdentityObject
from microcred.vc.multikey import MULTIKEY_V1, KeyPair
from microcred.vc.presentation import sign_presentation
from microcred.vc.proofs import create_proof

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
GENERATED = CORPUS / "generated"
SERVED = CORPUS / "served"

# Hosts of the generated documents (.example: reserved, never on the internet). The tests serve
# them on loopback under these names; REFUSED is mapped to a closed loopback port, OFFLINE to
# nothing at all.
STATUS_HOST = "status.corpus.example"
WEB_HOST = "issuer.corpus.example"
KEYS_HOST = "keys.corpus.example"
REFUSED_HOST = "refused.corpus.example"
OFFLINE_HOST = "offline.corpus.example"
GENERATED_HOSTS = (STATUS_HOST, WEB_HOST, KEYS_HOST)

CREATED = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
VALID_FROM = "2025-01-01T00:00:00Z"
PAST = "2025-06-30T00:00:00Z"  # validUntil of expired credentials and lists
FUTURE = "2099-01-01T00:00:00Z"  # validFrom of credentials and lists not yet valid
SL2021_CONTEXT = "https://w3id.org/vc/status-list/2021/v1"
OB_302 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"
CHALLENGE = "corpus-challenge-7f3a"
DOMAIN = "verifier.corpus.example"


def _key(label: str) -> KeyPair:
    return KeyPair.from_seed(hashlib.sha256(f"microcred corpus {label}".encode()).digest())


ISSUER = _key("issuer")  # did:key issuer
OTHER = _key("other")  # someone else's did:key
WEB_KEY = _key("did:web issuer")
HTTPS_KEY = _key("https issuer")
HOLDER = _key("holder")
STRANGER = _key("stranger")  # a holder who is not the subject

WEB_DID = f"did:web:{WEB_HOST}"
WEB_METHOD = f"{WEB_DID}#key-1"
HTTPS_ISSUER = f"https://{KEYS_HOST}/issuers/acme"
HTTPS_METHOD = f"https://{KEYS_HOST}/keys/acme-1"
HTTPS_METHOD_UNLISTED = f"https://{KEYS_HOST}/keys/acme-unlisted"
HTTPS_METHOD_MISSING = f"https://{KEYS_HOST}/keys/acme-404"

CATEGORIES = (
    "valid",
    "revoked",
    "suspended",
    "expired",
    "not_yet_valid",
    "tampered_status_list",
    "expired_status_list",
    "list_too_short",
    "unreachable_list",
    "status_other",
    "keys_on_loopback",
    "presentations",
)


@dataclass
class Item:
    """One corpus entry and what microcred must say about it."""

    name: str
    category: str
    verdict: str
    code: str  # the failing step's code ("" when verified); for status, the status step's code
    file: str
    source: str
    kind: str = "credential"  # or "presentation"
    challenge: str | None = None
    domain: str | None = None
    note: str = ""


@dataclass
class Signer:
    key: KeyPair
    controller: str
    method: str

    def sign(self, document: dict[str, Any], suite: str = proofs.EDDSA_RDFC_2022) -> dict[str, Any]:
        unsecured = bind_issuer(document, self.controller)
        contexts = unsecured["@context"]
        if contexts[0] == VC_V1 and DATA_INTEGRITY_V2 not in contexts:
            contexts.append(DATA_INTEGRITY_V2)
        unsecured["proof"] = create_proof(
            unsecured, self.key, self.method, suite=suite, created=CREATED, loader=default_loader()
        )
        return unsecured


BY_KEY = Signer(ISSUER, ISSUER.public.did_key, ISSUER.public.did_key_method_id)
BY_OTHER = Signer(OTHER, OTHER.public.did_key, OTHER.public.did_key_method_id)
BY_WEB = Signer(WEB_KEY, WEB_DID, WEB_METHOD)
BY_HTTPS = Signer(HTTPS_KEY, HTTPS_ISSUER, HTTPS_METHOD)


@dataclass
class Build:
    items: list[Item] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # generated/NAME.json
    served: dict[str, bytes] = field(default_factory=dict)  # URL -> body


# -- status lists -------------------------------------------------------------------------------


def list_url(name: str) -> str:
    return f"https://{STATUS_HOST}/lists/{name}"


def _gzip_b64(bits: bytes) -> str:
    return base64.urlsafe_b64encode(gzip.compress(bits, mtime=0)).decode().rstrip("=")


def _bitstring(set_bits: tuple[int, ...], size: int) -> bytes:
    bits = bytearray(size // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)
    return bytes(bits)


def bitstring_list(
    name: str,
    signer: Signer,
    purpose: str,
    set_bits: tuple[int, ...] = (),
    *,
    size: int = status_list.MIN_BITS,
    encoded: str | None = None,
    **dates: str,
) -> dict[str, Any]:
    url = list_url(name)
    encoded = encoded or "u" + _gzip_b64(_bitstring(set_bits, size))
    document = status_list.list_credential(url, signer.controller, purpose, encoded, VALID_FROM)
    document.update(dates)
    return signer.sign(document)


def sl2021_list(
    name: str,
    signer: Signer,
    purpose: str,
    set_bits: tuple[int, ...] = (),
    *,
    size: int = status_list.MIN_BITS,
    **dates: str,
) -> dict[str, Any]:
    """A StatusList2021Credential (VC 1.1): encodedList is base64url GZIP without a prefix."""
    url = list_url(name)
    document: dict[str, Any] = {
        "@context": [VC_V1, SL2021_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "StatusList2021Credential"],
        "issuer": signer.controller,
        "issuanceDate": VALID_FROM,
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "StatusList2021",
            "statusPurpose": purpose,
            "encodedList": _gzip_b64(_bitstring(set_bits, size)),
        },
    }
    document.update(dates)
    return signer.sign(document)


def entry(name: str, index: int, purpose: str = "revocation", **changes: Any) -> dict[str, Any]:
    result = status_list.entry(list_url(name), index, purpose)
    result.update(changes)
    return result


def sl2021_entry(name: str, index: int, purpose: str = "revocation") -> dict[str, Any]:
    return entry(name, index, purpose, type="StatusList2021Entry")


# -- credentials --------------------------------------------------------------------------------


def credential(
    name: str,
    issuer: str = ISSUER.public.did_key,
    *,
    vc1: bool = False,
    status: list[dict[str, Any]] | dict[str, Any] | None = None,
    subject: str | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """The sample OB 3.0 micro-credential, VC 2.0 (or VC 1.1 with OB 3.0.2), one id per item."""
    document = _deterministic(sample_micro_credential(issuer, CREATED), name)
    document["issuer"] = {"id": issuer, "type": ["Profile"], "name": "Corpus Test Academy"}
    document["validFrom"] = VALID_FROM
    if vc1:
        document["@context"] = [VC_V1, OB_302]
        document["issuanceDate"] = document.pop("validFrom")
        del document["credentialSubject"]["achievement"]["inLanguage"]  # not in OB 3.0.2
        if status and "StatusList2021Entry" in json.dumps(status):
            document["@context"].append(SL2021_CONTEXT)
    if status is not None:
        document["credentialStatus"] = status
    if subject is not None:
        document["credentialSubject"]["id"] = subject
    document.update(changes)
    return document


def _deterministic(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The sample with its random parts (urn:uuid ids, the email's salt) derived from ``name``."""
    text = json.dumps(document)
    for number, found in enumerate(dict.fromkeys(re.findall(r"urn:uuid:[0-9a-f-]{36}", text))):
        text = text.replace(found, f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{name}/{number}')}")
    result: dict[str, Any] = json.loads(text)
    salt = hashlib.sha256(f"corpus salt {name}".encode()).hexdigest()[:32]
    identity = IdentityObject.for_email("learner@example.org", salt)
    result["credentialSubject"]["identifier"] = [identity.to_json()]
    return result


def build() -> Build:
    out = Build()

    def serve(url: str, document: dict[str, Any] | bytes) -> None:
        body = document if isinstance(document, bytes) else _json(document)
        out.served[url] = body

    def add(
        name: str,
        category: str,
        verdict: str,
        code: str,
        document: dict[str, Any],
        note: str,
        **extra: Any,
    ) -> None:
        out.documents[name] = document
        out.items.append(
            Item(
                name=name,
                category=category,
                verdict=verdict,
                code=code,
                file=f"generated/{name}.json",
                source="generated by tests/corpus_build.py",
                note=note,
                **extra,
            )
        )

    # Status lists, signed by the issuer unless said otherwise.
    lists: dict[str, dict[str, Any]] = {
        "revocation": bitstring_list("revocation", BY_KEY, "revocation", (3, 7, 11)),
        "suspension": bitstring_list("suspension", BY_KEY, "suspension", (5, 9)),
        "sl2021-revocation": sl2021_list("sl2021-revocation", BY_KEY, "revocation", (3,)),
        "sl2021-suspension": sl2021_list("sl2021-suspension", BY_KEY, "suspension", (5,)),
        "web-revocation": bitstring_list("web-revocation", BY_WEB, "revocation", (3,)),
        "web-suspension": bitstring_list("web-suspension", BY_WEB, "suspension", (5,)),
        "https-revocation": bitstring_list("https-revocation", BY_HTTPS, "revocation", (3,)),
        "expired": bitstring_list("expired", BY_KEY, "revocation", validUntil=PAST),
        "expired-suspension": bitstring_list(
            "expired-suspension", BY_KEY, "suspension", validUntil=PAST
        ),
        "sl2021-expired": sl2021_list("sl2021-expired", BY_KEY, "revocation", expirationDate=PAST),
        "web-expired": bitstring_list("web-expired", BY_WEB, "revocation", validUntil=PAST),
        "not-yet-valid": bitstring_list("not-yet-valid", BY_KEY, "revocation", validFrom=FUTURE),
        # Digital Bazaar's own test list (vc-bitstring-status-list tests/mock-sl-credentials.js):
        # 100,000 entries, the 50,000th set; below the 131,072 minimum.
        "short-100k": bitstring_list(
            "short-100k",
            BY_KEY,
            "revocation",
            encoded="uH4sIAAAAAAAAA-3OMQ0AAAgDsOHfNB72EJJWQRMAAAAAAIDWXAcAAAAAAIDHFrc4zDzUMAAA",
        ),
        "short-16k": bitstring_list("short-16k", BY_KEY, "revocation", size=16_384),
        "short-suspension": bitstring_list("short-suspension", BY_KEY, "suspension", size=8_192),
        "sl2021-short": sl2021_list("sl2021-short", BY_KEY, "revocation", size=65_536),
        "short-one-byte": bitstring_list("short-one-byte", BY_KEY, "revocation", (3,), size=8),
    }
    # Tampered after signing: the revocation of index 3 cleared, the purpose changed, the proof
    # removed, or a list naming our issuer but signed by someone else's key.
    tampered_bits = copy.deepcopy(lists["revocation"])
    tampered_bits["credentialSubject"]["encodedList"] = status_list.encode(())
    lists["tampered-bits"] = tampered_bits
    lists["tampered-bits"]["id"] = list_url("tampered-bits")  # served under its own URL too
    tampered_sl = copy.deepcopy(lists["sl2021-revocation"])
    tampered_sl["credentialSubject"]["encodedList"] = _gzip_b64(_bitstring((), 131_072))
    lists["sl2021-tampered"] = tampered_sl
    unsigned = copy.deepcopy(lists["revocation"])
    del unsigned["proof"]
    lists["unsigned"] = unsigned
    forged = status_list.list_credential(
        list_url("forged"), ISSUER.public.did_key, "revocation", status_list.encode(()), VALID_FROM
    )
    forged["proof"] = create_proof(
        forged,
        OTHER,
        OTHER.public.did_key_method_id,
        created=CREATED,
        loader=default_loader(),
    )
    lists["forged"] = forged
    lists["other-issuer"] = bitstring_list("other-issuer", BY_OTHER, "revocation", (3,))
    for name, document in lists.items():
        serve(list_url(name), document)
    # Not a status list: a signed micro-credential; an HTML page.
    serve(list_url("not-a-list"), BY_KEY.sign(credential("not-a-list document")))
    serve(list_url("html"), b"<!doctype html><title>Status</title><p>Moved.</p>\n")

    # Key documents: did:web, and an https controller document with its key documents.
    serve(
        f"https://{WEB_HOST}/.well-known/did.json",
        build_did_document(WEB_DID, [ListedKey("key-1", WEB_KEY.public)]),
    )
    serve(
        HTTPS_ISSUER,
        {
            "@context": ["https://www.w3.org/ns/did/v1", MULTIKEY_V1],
            "id": HTTPS_ISSUER,
            "assertionMethod": [HTTPS_METHOD],
            "authentication": [HTTPS_METHOD],
        },
    )
    for method in (HTTPS_METHOD, HTTPS_METHOD_UNLISTED):
        serve(
            method,
            {
                "@context": MULTIKEY_V1,
                "id": method,
                "type": "Multikey",
                "controller": HTTPS_ISSUER,
                "publicKeyMultibase": HTTPS_KEY.public.multibase,
            },
        )

    # eddsa-jcs-2022 only where microcred says "not verified": the DCC verifier has no JCS suite,
    # so a JCS credential microcred verifies would always be "more lenient" than it.
    rdfc, jcs = proofs.EDDSA_RDFC_2022, proofs.EDDSA_JCS_2022

    def ours(name: str, suite: str = rdfc, signer: Signer = BY_KEY, **options: Any) -> dict:
        return signer.sign(credential(name, signer.controller, **options), suite)

    # valid
    ok = "verified"
    add("valid-rdfc", "valid", ok, "", ours("v1", status=entry("revocation", 1)), "bit 1 clear")
    listed = ours("v2", status=entry("revocation", 2))
    listed["proof"] = [listed["proof"]]
    add("valid-proof-list", "valid", ok, "", listed, "proof as a list (ADR 0004), bit 2 clear")
    add(
        "valid-vc11-sl2021",
        "valid",
        ok,
        "",
        ours("v3", vc1=True, status=sl2021_entry("sl2021-revocation", 1)),
        "VC 1.1 with a StatusList2021Entry, bit clear",
    )
    add(
        "valid-two-entries",
        "valid",
        ok,
        "",
        ours("v4", status=[entry("revocation", 1), entry("suspension", 1, "suspension")]),
        "revocation and suspension entries, both clear",
    )
    add("valid-no-status", "valid", ok, "", ours("v5"), "no credentialStatus")

    # revoked
    add(
        "revoked-rdfc",
        "revoked",
        "revoked",
        "status.revoked",
        ours("r1", status=entry("revocation", 3)),
        "bit 3 set",
    )
    add(
        "revoked-jcs",
        "revoked",
        "revoked",
        "status.revoked",
        ours("r2", jcs, status=entry("revocation", 7)),
        "eddsa-jcs, bit 7 set",
    )
    add(
        "revoked-vc11-sl2021",
        "revoked",
        "revoked",
        "status.revoked",
        ours("r3", vc1=True, status=sl2021_entry("sl2021-revocation", 3)),
        "VC 1.1 StatusList2021, bit 3 set",
    )
    add(
        "revoked-did-web",
        "revoked",
        "revoked",
        "status.revoked",
        ours("r4", signer=BY_WEB, status=entry("web-revocation", 3)),
        "did:web issuer served on loopback, its list revokes bit 3",
    )
    add(
        "revoked-and-suspended",
        "revoked",
        "revoked",
        "status.revoked",
        ours("r5", status=[entry("revocation", 11), entry("suspension", 9, "suspension")]),
        "both bits set: revoked outranks suspended",
    )

    # suspended
    add(
        "suspended-rdfc",
        "suspended",
        "suspended",
        "status.suspended",
        ours("s1", status=entry("suspension", 5, "suspension")),
        "bit 5 set",
    )
    add(
        "suspended-jcs",
        "suspended",
        "suspended",
        "status.suspended",
        ours("s2", jcs, status=entry("suspension", 9, "suspension")),
        "eddsa-jcs",
    )
    add(
        "suspended-vc11-sl2021",
        "suspended",
        "suspended",
        "status.suspended",
        ours("s3", vc1=True, status=sl2021_entry("sl2021-suspension", 5, "suspension")),
        "VC 1.1 StatusList2021 suspension",
    )
    add(
        "suspended-two-entries",
        "suspended",
        "suspended",
        "status.suspended",
        ours("s4", status=[entry("revocation", 1), entry("suspension", 5, "suspension")]),
        "revocation clear, suspension set",
    )
    add(
        "suspended-did-web",
        "suspended",
        "suspended",
        "status.suspended",
        ours("s5", signer=BY_WEB, status=entry("web-suspension", 5, "suspension")),
        "did:web issuer",
    )

    # expired
    add(
        "expired-rdfc",
        "expired",
        "expired",
        "validity.expired",
        ours("e1", validUntil=PAST),
        "validUntil passed",
    )
    add(
        "expired-jcs-with-status",
        "expired",
        "expired",
        "validity.expired",
        ours("e2", jcs, validUntil=PAST, status=entry("revocation", 1)),
        "validUntil passed, status clear",
    )
    add(
        "expired-vc11",
        "expired",
        "expired",
        "validity.expired",
        ours("e3", vc1=True, expirationDate=PAST),
        "VC 1.1 expirationDate passed",
    )

    # not yet valid
    nyv, nyv_code = "not_yet_valid", "validity.not_yet_valid"
    add("nyv-rdfc", nyv, nyv, nyv_code, ours("n1", validFrom=FUTURE), "validFrom in 2099")
    add("nyv-jcs", nyv, nyv, nyv_code, ours("n2", jcs, validFrom=FUTURE), "eddsa-jcs")
    add(
        "nyv-vc11",
        nyv,
        nyv,
        nyv_code,
        ours("n3", vc1=True, issuanceDate=FUTURE),
        "VC 1.1 issuanceDate in 2099",
    )
    add("nyv-did-web", nyv, nyv, nyv_code, ours("n4", signer=BY_WEB, validFrom=FUTURE), "did:web")
    add(
        "nyv-with-status",
        nyv,
        nyv,
        nyv_code,
        ours("n5", validFrom=FUTURE, status=entry("revocation", 1)),
        "status clear",
    )

    # tampered status lists
    unchecked, verification = "status_unchecked", "status.verification_error"
    tampered = "tampered_status_list"
    add(
        "list-tampered-bits",
        tampered,
        unchecked,
        verification,
        ours("t1", status=entry("tampered-bits", 3)),
        "the list's bits were cleared after signing (proof broken)",
    )
    add(
        "list-tampered-sl2021",
        tampered,
        unchecked,
        verification,
        ours("t2", vc1=True, status=sl2021_entry("sl2021-tampered", 3)),
        "StatusList2021 bits cleared after signing",
    )
    add(
        "list-unsigned",
        tampered,
        unchecked,
        verification,
        ours("t3", status=entry("unsigned", 3)),
        "the list's proof removed",
    )
    add(
        "list-forged-key",
        tampered,
        unchecked,
        verification,
        ours("t4", status=entry("forged", 3)),
        "the list names our issuer but another key signed it",
    )
    add(
        "list-other-issuer",
        tampered,
        unchecked,
        verification,
        ours("t5", status=entry("other-issuer", 1)),
        "a valid list, but of another issuer",
    )

    # expired status lists
    expired_list = "expired_status_list"
    add(
        "list-expired-rdfc",
        expired_list,
        unchecked,
        verification,
        ours("x1", status=entry("expired", 1)),
        "the list's validUntil passed",
    )
    add(
        "list-expired-jcs",
        expired_list,
        unchecked,
        verification,
        ours("x2", jcs, status=entry("expired", 2)),
        "eddsa-jcs credential",
    )
    add(
        "list-expired-suspension",
        expired_list,
        unchecked,
        verification,
        ours("x3", status=entry("expired-suspension", 1, "suspension")),
        "suspension list expired",
    )
    add(
        "list-expired-sl2021",
        expired_list,
        unchecked,
        verification,
        ours("x4", vc1=True, status=sl2021_entry("sl2021-expired", 1)),
        "StatusList2021 list's expirationDate passed",
    )
    add(
        "list-expired-did-web",
        expired_list,
        unchecked,
        verification,
        ours("x5", signer=BY_WEB, status=entry("web-expired", 1)),
        "did:web issuer's list expired",
    )
    add(
        "list-not-yet-valid",
        expired_list,
        unchecked,
        verification,
        ours("x6", status=entry("not-yet-valid", 1)),
        "the list's validFrom is in 2099",
    )

    # lists too short
    short, length = "list_too_short", "status.list_length_error"
    add(
        "short-100k-set",
        short,
        unchecked,
        length,
        ours("l1", status=entry("short-100k", 50_007)),
        "Digital Bazaar's 100,000-entry test list; bit 50,007 is set there",
    )
    add(
        "short-100k-clear",
        short,
        unchecked,
        length,
        ours("l2", status=entry("short-100k", 10)),
        "same list, a clear bit",
    )
    add(
        "short-16k",
        short,
        unchecked,
        length,
        ours("l3", status=entry("short-16k", 1)),
        "16,384 entries",
    )
    add(
        "short-suspension",
        short,
        unchecked,
        length,
        ours("l4", status=entry("short-suspension", 1, "suspension")),
        "8,192 entries",
    )
    add(
        "short-sl2021",
        short,
        unchecked,
        length,
        ours("l5", vc1=True, status=sl2021_entry("sl2021-short", 1)),
        "StatusList2021 of 65,536 entries",
    )
    add(
        "short-one-byte",
        short,
        unchecked,
        length,
        ours("l6", status=entry("short-one-byte", 3)),
        "8 entries, bit 3 set",
    )

    # unreachable lists
    unreachable, retrieval = "unreachable_list", "status.retrieval_error"
    add(
        "unreachable-404",
        unreachable,
        unchecked,
        retrieval,
        ours("u1", status=entry("missing", 1)),
        "HTTP 404 on loopback",
    )
    refused = status_list.entry(f"https://{REFUSED_HOST}/lists/1", 1, "revocation")
    add(
        "unreachable-refused",
        unreachable,
        unchecked,
        retrieval,
        ours("u2", status=refused),
        "connection refused on loopback",
    )
    offline = status_list.entry(f"https://{OFFLINE_HOST}/lists/1", 1, "revocation")
    add(
        "unreachable-offline",
        unreachable,
        unchecked,
        retrieval,
        ours("u3", status=offline),
        "a host no verifier may reach (network cut off)",
    )
    add(
        "unreachable-html",
        unreachable,
        unchecked,
        retrieval,
        ours("u4", status=entry("html", 1)),
        "an HTML page, not JSON",
    )
    add(
        "unreachable-sl2021-404",
        unreachable,
        unchecked,
        retrieval,
        ours("u5", vc1=True, status=sl2021_entry("missing-2021", 1)),
        "StatusList2021 list answering 404",
    )

    # other status problems
    other = "status_other"
    add(
        "status-not-a-list",
        other,
        unchecked,
        verification,
        ours("o1", status=entry("not-a-list", 1)),
        "the URL serves a signed credential that is not a status list",
    )
    add(
        "status-wrong-purpose",
        other,
        unchecked,
        verification,
        ours("o2", status=entry("suspension", 1)),
        "entry says revocation, the list is for suspension",
    )
    add(
        "status-index-out-of-range",
        other,
        unchecked,
        "status.range_error",
        ours("o3", status=entry("revocation", 131_072)),
        "index 131,072 of a 131,072-entry list",
    )
    add(
        "status-unsupported-purpose",
        other,
        unchecked,
        "status.unsupported",
        ours("o4", status=entry("revocation", 1, "refresh")),
        "a status purpose microcred does not act on (refresh)",
    )
    add(
        "status-malformed-index",
        other,
        unchecked,
        "status.malformed",
        ours("o5", status=entry("revocation", 1, statusListIndex="one")),
        "statusListIndex is not a number",
    )

    # did:web and https-URL keys served on loopback
    keys = "keys_on_loopback"
    add(
        "did-web-valid",
        keys,
        ok,
        "",
        ours("k1", signer=BY_WEB, status=entry("web-revocation", 1)),
        "did:web document and its list on loopback",
    )
    add("did-web-no-status", keys, ok, "", ours("k2", signer=BY_WEB), "did:web, no status")
    add(
        "did-web-unknown-key",
        keys,
        "invalid",
        "proof.method_not_found",
        ours("k3", signer=Signer(WEB_KEY, WEB_DID, f"{WEB_DID}#key-2")),
        "signed with a key id the DID document does not list",
    )
    add(
        "https-key-valid",
        keys,
        ok,
        "",
        ours("k4", signer=BY_HTTPS, status=entry("https-revocation", 1)),
        "key document at an https URL, its controller document lists it",
    )
    add(
        "https-key-no-status",
        keys,
        ok,
        "",
        ours("k5", signer=BY_HTTPS),
        "https-URL key, no status",
    )
    add(
        "https-key-revoked",
        keys,
        "revoked",
        "status.revoked",
        ours("k6", signer=BY_HTTPS, status=entry("https-revocation", 3)),
        "https-URL issuer's list revokes it",
    )
    add(
        "https-key-not-authorized",
        keys,
        "invalid",
        "proof.method_not_found",
        ours("k7", signer=Signer(HTTPS_KEY, HTTPS_ISSUER, HTTPS_METHOD_UNLISTED)),
        "the key document names the issuer, whose controller document does not list the key",
    )
    add(
        "https-key-missing",
        keys,
        "invalid",
        "did.unresolvable",
        ours("k8", signer=Signer(HTTPS_KEY, HTTPS_ISSUER, HTTPS_METHOD_MISSING)),
        "the key document answers 404",
    )

    # presentations, made by the holder for CHALLENGE and DOMAIN
    holder = HOLDER.public.did_key
    about_holder = ours("p-cred", subject=holder, status=entry("revocation", 1))
    revoked_holder = ours("p-revoked", subject=holder, status=entry("revocation", 3))
    about_other = ours("p-other", subject=STRANGER.public.did_key)

    def vp(credentials: list[dict[str, Any]], key: KeyPair = HOLDER, **options: Any) -> dict:
        options.setdefault("challenge", CHALLENGE)
        options.setdefault("domain", DOMAIN)
        return sign_presentation(credentials, key, created=CREATED, **options)

    pres = "presentations"
    asked = {"kind": "presentation", "challenge": CHALLENGE, "domain": DOMAIN}
    add("vp-valid", pres, ok, "", vp([about_holder]), "holder is the subject", **asked)
    add(
        "vp-wrong-challenge",
        pres,
        "invalid",
        "proof.challenge_mismatch",
        vp([about_holder], challenge="another-challenge"),
        "made for another challenge",
        **asked,
    )
    add(
        "vp-wrong-domain",
        pres,
        "invalid",
        "proof.domain_mismatch",
        vp([about_holder], domain="elsewhere.example"),
        "made for another verifier",
        **asked,
    )
    tampered_vp = vp([about_holder, ours("p-extra", subject=holder)])
    tampered_vp["verifiableCredential"].pop()
    add(
        "vp-tampered",
        pres,
        "invalid",
        "proof.signature_invalid",
        tampered_vp,
        "a credential removed after signing",
        **asked,
    )
    add(
        "vp-revoked-credential",
        pres,
        "revoked",
        "status.revoked",
        vp([revoked_holder]),
        "a valid presentation of a revoked credential",
        **asked,
    )
    add(
        "vp-not-the-subject",
        pres,
        "invalid",
        "presentation.holder_not_subject",
        vp([about_other]),
        "the holder presents a credential about someone else",
        **asked,
    )
    return out


DCC = "digitalcredentials/verifier-core"
DCC_FIXTURES = "src/test-fixtures/verifiableCredentials"
DCC_LIST = (
    "the DCC's public list (src/test-fixtures/status/e5WK8CbZ1GjycuPombrj) has 100,000 entries"
)
DCC_WEB_LIST = (
    DCC_LIST + " (and is issued by did:key:z6MknNQD..., not by the did:web issuer; the length "
    "is checked first)"
)


def _public(
    name: str, category: str, verdict: str, code: str, path: str, commit: str, note: str
) -> Item:
    return Item(
        name=name,
        category=category,
        verdict=verdict,
        code=code,
        file=f"public/{name}.json",
        source=f"{DCC} {path} @ {commit[:10]}",
        note=note,
    )


_C838 = "838d379b8e36e34699ad67a718de28da7293ed2a"
_C150 = "15010021a0479258782b3c0524d0b60a4000999d"
UNCHECKED = "status_unchecked"
PUBLIC = [
    _public(
        "dcc-v2-obv3-spec-example",
        "valid",
        "verified",
        "",
        f"{DCC_FIXTURES}/v2/v2OBv3SpecExample.ts",
        "679ba5b4a71710eb48aaa72b95259655f541f979",
        "the OB 3.0 specification's example, eddsa-rdfc-2022, no status",
    ),
    _public(
        "dcc-v1-obv3-spec-example",
        "valid",
        "verified",
        "",
        f"{DCC_FIXTURES}/v1/v1OBv3SpecExample.ts",
        "39975573572992a574c7a61782798804267391a9",
        "VC 1.1, eddsa-rdfc-2022, no status",
    ),
    _public(
        "dcc-signed-vc1",
        "valid",
        "verified",
        "",
        "src/test-fixtures/signedVC1.ts",
        "9798dfbf3a889f69bea1a2bb1a88b1a42e53ff91",
        "VC 1.1, Ed25519Signature2020, no status",
    ),
    _public(
        "dcc-v2-expired",
        "expired",
        "expired",
        "validity.expired",
        f"{DCC_FIXTURES}/v2/v2Expired.ts",
        "64fbd8c3c02ae0a194f48f4698f1523a0fdffdc3",
        "validUntil 2011",
    ),
    _public(
        "dcc-v2-expired-valid-status",
        "expired",
        "expired",
        "validity.expired",
        f"{DCC_FIXTURES}/v2/v2ExpiredWithValidStatus.ts",
        _C150,
        "validUntil 2012; " + DCC_LIST,
    ),
    _public(
        "dcc-v1-expired-valid-status",
        "expired",
        "expired",
        "validity.expired",
        f"{DCC_FIXTURES}/v1/v1ExpiredWithValidStatus.ts",
        _C150,
        "expirationDate 2025-01-09; " + DCC_LIST,
    ),
    _public(
        "dcc-v2-revoked-and-expired",
        "expired",
        "expired",
        "validity.expired",
        f"{DCC_FIXTURES}/v2/v2RevokedAndExpired.ts",
        _C838,
        "bit 8 set, but " + DCC_LIST + ": expired outranks status unchecked",
    ),
    _public(
        "dcc-v1-revoked-and-expired",
        "expired",
        "expired",
        "validity.expired",
        f"{DCC_FIXTURES}/v1/v1RevokedAndExpired.ts",
        _C838,
        "bit 6 set, but " + DCC_LIST,
    ),
    _public(
        "dcc-v2-valid-status",
        "list_too_short",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/v2/v2WithValidStatus.ts",
        _C838,
        "bit 9 clear, but " + DCC_LIST,
    ),
    _public(
        "dcc-v2-eddsa-valid-status",
        "list_too_short",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/eddsa/v2/v2EddsaWithValidStatus.ts",
        _C838,
        "eddsa-rdfc-2022; " + DCC_LIST,
    ),
    _public(
        "dcc-v2-double-sig-valid-status",
        "list_too_short",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/eddsaAndEd25519/v2/v2DoubleSigWithValidStatus.ts",
        _C838,
        "two proofs (eddsa-rdfc-2022, Ed25519Signature2020); " + DCC_LIST,
    ),
    _public(
        "dcc-v1-valid-status",
        "list_too_short",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/v1/v1WithValidStatus.ts",
        _C838,
        "VC 1.1 with a BitstringStatusListEntry; " + DCC_LIST,
    ),
    _public(
        "dcc-v2-revoked",
        "list_too_short",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/v2/v2Revoked.ts",
        _C838,
        "bit 8 set (revoked for DB and DCC), but " + DCC_LIST,
    ),
    _public(
        "dcc-v1-revoked",
        "list_too_short",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/v1/v1Revoked.ts",
        _C838,
        "bit 6 set (revoked for DB and DCC), but " + DCC_LIST,
    ),
    _public(
        "dcc-v2-double-sig-bad-status-url",
        "unreachable_list",
        UNCHECKED,
        "status.retrieval_error",
        f"{DCC_FIXTURES}/eddsaAndEd25519/v2/v2DoubleSigWithBadStatusUrl.ts",
        "39bfd3e9c6282a1773439a908a6f955d6c3178e6",
        "its status list URL answers 404",
    ),
    _public(
        "dcc-v2-did-web-valid-status",
        "keys_on_loopback",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/v2/didWeb/v2didWebWithValidStatus.ts",
        _C838,
        "did:web:digitalcredentials.github.io:dcc-did-web served on loopback; " + DCC_WEB_LIST,
    ),
    _public(
        "dcc-v2-did-web-multikey-valid-status",
        "keys_on_loopback",
        UNCHECKED,
        "status.list_length_error",
        f"{DCC_FIXTURES}/v2/didWeb/v2didWebMultikeyWithValidStatus.ts",
        _C838,
        "did:web (Multikey document) served on loopback; " + DCC_WEB_LIST,
    ),
]


def _json(document: Any) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()


def served_path(url: str) -> Path:
    """Where a served URL's body is kept: served/HOST/PATH (``index.json`` for a bare host)."""
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    return SERVED / host / (path or "index.json")


def write(result: Build) -> None:
    if GENERATED.exists():
        shutil.rmtree(GENERATED)
    GENERATED.mkdir(parents=True)
    for host in GENERATED_HOSTS:
        if (SERVED / host).exists():
            shutil.rmtree(SERVED / host)
    for name, document in result.documents.items():
        (GENERATED / f"{name}.json").write_bytes(_json(document))
    for url, body in result.served.items():
        path = served_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    (CORPUS / "expected.json").write_bytes(_json({"items": table(result)}))


def table(result: Build) -> list[dict[str, Any]]:
    """The rows of ``expected.json``: the public items and the generated ones, by category."""
    return sorted(
        [_row(i) for i in [*PUBLIC, *result.items]],
        key=lambda row: (CATEGORIES.index(row["category"]), row["name"]),
    )


def _row(item: Item) -> dict[str, Any]:
    return {k: v for k, v in asdict(item).items() if v not in (None, "") or k in ("code",)}


if __name__ == "__main__":
    write(build())
