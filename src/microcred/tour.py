"""The five-minute tour behind ``make run`` (until the web platform exists).

Generates a key, builds a sample micro-credential with the EU elements a learner and an employer
look for, signs it, verifies it, then verifies a tampered copy to show it failing.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from microcred.vc.credential import sign_credential
from microcred.vc.keyfile import export_key
from microcred.vc.model import (
    Achievement,
    AchievementCredential,
    AchievementSubject,
    Alignment,
    Criteria,
    IdentityObject,
    Profile,
    Result,
    ResultDescription,
)
from microcred.vc.multikey import KeyPair
from microcred.vc.policy import Policy
from microcred.vc.report import VerificationReport
from microcred.vc.verify import verify

PrintReport = Callable[[Path, VerificationReport], None]


def sample_micro_credential(issuer_id: str, issued: datetime) -> dict[str, Any]:
    """An unsigned OB 3.0 micro-credential: data protection basics, 2 ECTS, EQF 5."""
    outcome_ids = [f"urn:uuid:{uuid.uuid4()}" for _ in range(2)]
    achievement = Achievement(
        id=f"urn:uuid:{uuid.uuid4()}",
        name="Data Protection Essentials for Health Workers",
        description=(
            "Applies the GDPR to everyday patient-data handling: lawful bases, data-subject "
            "requests and breach reporting."
        ),
        criteria=Criteria(
            narrative=(
                "Passed a supervised online exam (70% or more) and a graded case study on a "
                "data-breach scenario."
            )
        ),
        credits_available=2,
        field_of_study="Health data management",
        in_language="en",
        version="1.0",
        alignment=[
            Alignment(
                target_name="Protect personal data and privacy",
                target_url="http://data.europa.eu/esco/skill/52c8a6cb-5a9f-4f43-bfa5-d2cd5f5bbbe1",
                target_framework="ESCO",
                target_type="ext:ESCOSkill",
            )
        ],
        result_description=[
            ResultDescription(
                id=outcome_ids[0],
                name="Explains the lawful bases for processing patient data",
                result_type="Status",
            ),
            ResultDescription(
                id=outcome_ids[1],
                name="Handles a data-subject access request within the legal deadline",
                result_type="Status",
            ),
        ],
    )
    credential = AchievementCredential(
        id=f"urn:uuid:{uuid.uuid4()}",
        name="Data Protection Essentials for Health Workers",
        issuer=Profile(id=issuer_id, name="Example Health Academy", url="https://example.org/"),
        valid_from=issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
        credential_subject=AchievementSubject(
            identifier=[IdentityObject.for_email("learner@example.org")],
            achievement=achievement,
            result=[Result(result_description=i, status="Completed") for i in outcome_ids],
        ),
    )
    return credential.to_json()


def run_tour(directory: Path, console: Console, print_report: PrintReport) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]microcred tour")
    key = KeyPair.generate()
    key_path = directory / "issuer-key.json"
    key_path.write_text(json.dumps(export_key(key), indent=2) + "\n", encoding="utf-8")
    key_path.chmod(0o600)
    console.print(f"1. Generated an Ed25519 key: {key.public.did_key}")
    console.print(f"   (equivalent: microcred keys generate --out {key_path})")

    now = datetime.now(UTC)
    signed = sign_credential(sample_micro_credential(key.public.did_key, now), key, created=now)
    signed_path = directory / "micro-credential.json"
    signed_path.write_text(json.dumps(signed, indent=2, ensure_ascii=False) + "\n", "utf-8")
    console.print(f"2. Signed a micro-credential (eddsa-rdfc-2022): {signed_path}")

    console.print("3. Verified it:")
    good = verify(signed_path.read_bytes(), Policy())
    print_report(signed_path, good)

    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["achievement"]["name"] = "Advanced Data Protection (forged)"
    tampered_path = directory / "micro-credential-tampered.json"
    tampered_path.write_text(json.dumps(tampered, indent=2, ensure_ascii=False) + "\n", "utf-8")
    console.print("4. Changed the achievement's name in a copy and verified it again:")
    bad = verify(tampered_path.read_bytes(), Policy())
    print_report(tampered_path, bad)
    console.print(f"\nTry it yourself: microcred verify {signed_path} {tampered_path}")
    return 0 if good.verified and not bad.verified else 1
