"""Signing a credential as an issuer: bind the issuer to the key, then add a proof.

``sign_credential`` fills ``issuer`` (or ``issuer.id``) with the key's controller when absent and
refuses a credential that names another issuer: a signature by a key the issuer does not control
would fail every verifier's issuer check, so it is stopped here with a clear message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from microcred.vc import fastcanon
from microcred.vc.errors import SigningError
from microcred.vc.jsonsafe import copy_json
from microcred.vc.loader import DATA_INTEGRITY_V2, VC_V1, DocumentLoader, default_loader
from microcred.vc.multikey import KeyPair
from microcred.vc.proofs import EDDSA_RDFC_2022, SIGNING_SUITES, Canonicalize, create_proof


def bind_issuer(document: Mapping[str, Any], controller: str) -> dict[str, Any]:
    """A copy of ``document`` whose issuer is ``controller``; refuses any other issuer."""
    result: dict[str, Any] = copy_json(dict(document))
    issuer = result.get("issuer")
    if issuer is None:
        result["issuer"] = controller
    elif isinstance(issuer, str):
        if issuer != controller:
            raise SigningError(
                f"the credential names issuer {issuer} but the key belongs to {controller}",
                "sign.issuer_mismatch",
            )
    elif isinstance(issuer, dict):
        issuer_id = issuer.get("id")
        if issuer_id is None:
            issuer["id"] = controller
        elif issuer_id != controller:
            raise SigningError(
                f"the credential names issuer {issuer_id} but the key belongs to {controller}",
                "sign.issuer_mismatch",
            )
    else:
        raise SigningError("issuer must be a URL or an object", "sign.issuer_invalid")
    return result


def _ensure_suite_context(document: dict[str, Any]) -> None:
    """VC 1.1 contexts do not define Data Integrity proof terms: add the DI context, as the
    Digital Bazaar stack does. The VC 2.0 context already includes them."""
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V1:
        return
    if DATA_INTEGRITY_V2 not in contexts:
        contexts.append(DATA_INTEGRITY_V2)


def sign_credential(
    document: Mapping[str, Any],
    key: KeyPair,
    *,
    created: datetime,
    verification_method: str | None = None,
    controller: str | None = None,
    suite: str = EDDSA_RDFC_2022,
    loader: DocumentLoader | None = None,
    canonicalize: Canonicalize = fastcanon.DEFAULT,
    proof_as_list: bool = True,
) -> dict[str, Any]:
    """Bind the issuer and sign. ``proof`` is written as a list (the 1EdTech schema wants one).

    ``controller`` and ``verification_method`` default to the key's did:key.
    """
    if suite not in SIGNING_SUITES:
        raise SigningError(
            f"cannot sign with {suite!r}; choose one of {', '.join(SIGNING_SUITES)}",
            "sign.suite_unsupported",
        )
    if "proof" in document:
        raise SigningError("the credential is already signed", "sign.already_signed")
    controller = controller or key.public.did_key
    method = verification_method or key.public.did_key_method_id
    if method.partition("#")[0] != controller:
        raise SigningError(
            f"verification method {method} is not one of {controller}", "sign.method_mismatch"
        )
    unsecured = bind_issuer(document, controller)
    _ensure_suite_context(unsecured)
    proof = create_proof(
        unsecured,
        key,
        method,
        suite=suite,
        created=created,
        loader=loader or default_loader(),
        canonicalize=canonicalize,
    )
    unsecured["proof"] = [proof] if proof_as_list else proof
    return unsecured
