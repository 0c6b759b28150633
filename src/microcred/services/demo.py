"""Demo data: a provider, its staff, three published micro-credentials, learners and credentials
in every state (valid, revoked, suspended, expired). Used by ``make run`` and ``microcred demo``.

Only "First Aid at Work" enables suspension (its credentials carry two status entries); the
others are issued the default way, with one ``credentialStatus`` object (ADR 0015)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import select

from microcred.db.session import transaction
from microcred.db.tables import Credential, Provider, Staff, StatusList
from microcred.domain.assessment import OutcomeResult
from microcred.render.certificate import certificate_pdf
from microcred.render.images import badge_png, badge_svg
from microcred.services import definitions, keys, status
from microcred.services.app import App
from microcred.services.issuing import Award, issue
from microcred.services.providers import add_staff, create_provider, set_password
from microcred.services.trust import accredit, current_accreditations
from microcred.vc import baking

DEFINITIONS: list[dict[str, Any]] = [
    {
        "title": "Data Protection Essentials for Health Workers",
        "description": "Applying the GDPR to everyday patient-data handling.",
        "learning_outcomes": [
            {
                "statement": "Explains the lawful bases for processing patient data",
                "criterion": "Correctly identifies the lawful basis in 8 of 10 exam scenarios",
                "esco_uri": "http://data.europa.eu/esco/skill/52c8a6cb-5a9f-4f43-bfa5-d2cd5f5bbbe1",
            },
            {
                "statement": "Handles a data-subject access request within the legal deadline",
                "criterion": "Completes the case study response meeting every statutory step",
            },
        ],
        "workload_ects": 2,
        "workload_hours": 50,
        "level": {"framework": "EQF", "value": "5"},
        "assessment_type": "Supervised online exam and graded case study",
        "participation": "online",
        "supervision": "supervised_id",
        "quality_assurance": "Internal quality assurance, accredited under EQAVET",
        "grade_scheme": {"kind": "percent", "pass_mark": 70},
        "stackability": "integrated",
        "stacks_into": ["Certificate in Health Information Management"],
        "prerequisites": "Works with patient records in a health or care setting",
        "further_information": "Part of the academy's digital health pathway",
        "field_of_study": "Health data management",
        "validity_months": 36,
    },
    {
        "title": "First Aid at Work",
        "description": "Responding to workplace emergencies until professional help arrives.",
        "learning_outcomes": [
            {
                "statement": "Performs CPR on an adult to current guidelines",
                "criterion": "Practical demonstration on a manikin, observed by an assessor",
            },
            {
                "statement": "Manages bleeding, burns and fractures",
                "criterion": "Scenario assessment with a checklist",
            },
        ],
        "workload_ects": 1,
        "workload_hours": 25,
        "level": {"framework": "EQF", "value": "3"},
        "assessment_type": "Practical demonstration",
        "participation": "onsite",
        "supervision": "supervised_id",
        "quality_assurance": "Approved by the national health and safety authority",
        "validity_months": 36,
        # suspended pending re-assessment: this definition opts in to suspension (ADR 0015)
        "suspendable": True,
    },
    {
        "title": "Spreadsheet Skills for Data Analysis",
        "description": "Cleaning, analysing and charting data with spreadsheets.",
        "learning_outcomes": [
            {
                "statement": "Cleans and structures a raw data set",
                "criterion": "Project file meets the data-quality rubric",
            },
            {
                "statement": "Summarises data with pivot tables and charts",
                "criterion": "Report answers the brief's questions correctly",
            },
        ],
        "workload_ects": 3,
        "workload_hours": 75,
        "level": {"framework": "EQF", "value": "4"},
        "assessment_type": "Project portfolio",
        "participation": "blended",
        "quality_assurance": "External examiner review each cohort",
        "grade_scheme": {
            "kind": "letter",
            "values": ["A", "B", "C", "F"],
            "passing_values": ["A", "B", "C"],
        },
    },
]
LEARNERS = [
    ("Aoife Murphy", "aoife.murphy@example.org"),
    ("Jonas Weber", "jonas.weber@example.org"),
    ("Lucía García", "lucia.garcia@example.org"),
    ("Piotr Nowak", "piotr.nowak@example.org"),
    ("Emma Laurent", "emma.laurent@example.org"),
    ("Sofia Rossi", "sofia.rossi@example.org"),
]
GRADES = ["88", None, "A"]


def _first_aid_translations(data: dict[str, Any]) -> dict[str, Any]:
    first, second = (o["id"] for o in data["learning_outcomes"][:2])
    return {
        "fr": {
            "title": "Premiers secours au travail",
            "description": "Réagir aux urgences au travail jusqu'à l'arrivée des secours.",
            "outcomes": {
                first: {"statement": "Pratique la RCP sur un adulte selon les recommandations"},
                second: {"statement": "Prend en charge saignements, brûlures et fractures"},
            },
        },
        "de": {
            "title": "Erste Hilfe am Arbeitsplatz",
            "description": "Auf Notfälle am Arbeitsplatz reagieren, bis der Rettungsdienst kommt.",
            "outcomes": {
                first: {"statement": "Führt die Herz-Lungen-Wiederbelebung nach Leitlinie durch"},
                second: {"statement": "Versorgt Blutungen, Verbrennungen und Brüche"},
            },
        },
    }


@dataclass(frozen=True, slots=True)
class DemoLogin:
    slug: str
    email: str
    password: str


def ensure_demo(app: App) -> DemoLogin:
    """Create the demo provider once; on every call reset its owner's password and return it."""
    password = secrets.token_urlsafe(12)
    with transaction(app.sessions) as session:
        provider = session.scalar(select(Provider).where(Provider.slug == "demo-academy"))
        if provider is not None:
            owner = session.scalar(
                select(Staff).where(Staff.provider_id == provider.id, Staff.role == "owner")
            )
            assert owner is not None
            set_password(owner, password)
            return DemoLogin(provider.slug, owner.email, password)
    seed(app, "demo-academy", "owner@demo-academy.example", password)
    return DemoLogin("demo-academy", "owner@demo-academy.example", password)


@dataclass(slots=True)
class Seeded:
    """What ``seed`` made: credential ids by expectation, and the macro / RPL ones by id
    (``{"kind": "macro", "components": [credential ids]}`` or ``{"kind": "rpl"}``)."""

    expected: dict[str, list[str]]
    kinds: dict[str, dict[str, Any]]
    learner_email: str

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.expected.values())


def seed(app: App, slug: str, owner_email: str, password: str) -> Seeded:
    """A provider with staff, definitions and credentials, and a learner's stacked and
    recognised awards."""
    with transaction(app.sessions) as session:
        provider, owner = create_provider(
            app,
            session,
            slug=slug,
            legal_name="Demo Health Academy",
            country_code="IE",
            region="Leinster",
            website="https://demo-academy.example",
            owner_email=owner_email,
            owner_password=password,
            owner_name="Orla Owner",
        )
        for role in ("issuer", "assessor", "viewer"):
            add_staff(
                app, session, provider, f"{role}@{slug}.example", role.title(), password, role
            )
        _qa_body, qa_owner = create_provider(
            app,
            session,
            slug=f"{slug}-qa",
            legal_name="Demo Quality Agency",
            country_code="IE",
            owner_email=f"owner@{slug}-qa.example",
            owner_password=password,
            owner_name="Quinn QA",
            kind="qa_body",
        )
        today = app.now().date()
        accredit(
            app,
            session,
            qa_owner,
            provider_slug=slug,
            framework="EQAVET",
            scope="Short courses in health and digital skills, EQF 3-5",
            valid_from=today - timedelta(days=30),
            valid_until=today + timedelta(days=3 * 365),
            report_url="https://qa.demo-academy.example/reports/2026",
        )
        ids = []
        for number, data in enumerate(DEFINITIONS):
            row = definitions.create(app, session, provider, data)
            if number == 1:  # First Aid at Work, in French and German too
                definitions.set_translations(
                    session, provider, row, _first_aid_translations(row.data)
                )
            definitions.publish(app, session, row)
            ids.append((row.id, [o["id"] for o in row.data["learning_outcomes"]]))
        owner_id = owner.id
    expected: dict[str, list[str]] = {"valid": [], "revoked": [], "suspended": [], "expired": []}
    now = app.now().replace(microsecond=0)
    plan = [
        (0, 0, "valid"),
        (1, 1, "valid"),
        (2, 2, "valid"),
        (0, 3, "revoked"),
        (1, 4, "suspended"),
        (2, 5, "expired"),
    ]
    for number, (definition_index, learner_index, expect) in enumerate(plan):
        if number == 3:  # rotate half-way: credentials of both keys must keep verifying
            with transaction(app.sessions) as session:
                current = session.scalar(select(Provider).where(Provider.slug == slug))
                assert current is not None
                keys.add_key(app, session, current)
        definition_id, outcome_ids = ids[definition_index]
        name, email = LEARNERS[learner_index]
        award = Award(
            definition_id=definition_id,
            name=name,
            email=email,
            results=[OutcomeResult(o, True) for o in outcome_ids],
            grade=GRADES[definition_index],
        )
        if expect == "expired":
            award = replace(
                award, issued_at=now - timedelta(days=400), valid_until=now - timedelta(days=35)
            )
        with transaction(app.sessions) as session:
            staff = session.get(Staff, owner_id)
            assert staff is not None
            credential = issue(app, session, staff, award)
            if expect in ("revoked", "suspended"):
                action = "revoke" if expect == "revoked" else "suspend"
                status.change_state(app, session, staff, credential.id, action, f"Demo: {expect}")
            expected[expect].append(credential.id)
    kinds = stack_and_recognise(app, slug, owner_id, ids, expected)
    return Seeded(expected, kinds, LEARNERS[0][1])


MACRO: dict[str, Any] = {
    "title": "Certificate in Digital Health Skills",
    "description": "Awarded on Data Protection Essentials and Spreadsheet Skills together.",
    "learning_outcomes": [
        {
            "statement": "Handles patient data lawfully and analyses it with spreadsheets",
            "criterion": "Holds both component micro-credentials, verified",
        },
    ],
    "workload_ects": 5,
    "workload_hours": 125,
    "level": {"framework": "EQF", "value": "5"},
    "assessment_type": "Recognition of the component micro-credentials",
    "participation": "blended",
    "quality_assurance": "Internal QA, accredited under EQAVET",
}


def stack_and_recognise(
    app: App,
    slug: str,
    owner_id: int,
    ids: list[tuple[int, list[str]]],
    expected: dict[str, list[str]],
) -> dict[str, dict[str, Any]]:
    """A learner's wallet earns a macro-credential through a pathway, and an RPL award; returns
    their kinds by credential id."""
    from microcred.services import rpl, stacking, wallet

    name, email = LEARNERS[0]
    with transaction(app.sessions) as session:
        provider = session.scalar(select(Provider).where(Provider.slug == slug))
        staff = session.get(Staff, owner_id)
        assert provider is not None
        assert staff is not None
        second = issue(
            app,
            session,
            staff,
            Award(
                definition_id=ids[2][0],
                name=name,
                email=email,
                results=[OutcomeResult(o, True) for o in ids[2][1]],
                grade="A",
            ),
        )
        expected["valid"].append(second.id)
        macro = definitions.create(app, session, provider, MACRO)
        definitions.publish(app, session, macro)
        family = {
            i: stacking.family_url(app, session, definitions.get(session, provider, ids[i][0]))
            for i in (0, 2)
        }
        pathway = stacking.create_pathway(
            app,
            session,
            staff,
            definition_id=macro.id,
            name=MACRO["title"],
            rules={
                "all": [
                    {"credential": {"achievement": [family[0]], "trusted": True}},
                    {"credential": {"achievement": [family[2]], "trusted": True}},
                ]
            },
        )
        account = wallet.sign_up(app, session, name, email, secrets.token_urlsafe(16))
        account.email_verified_at = app.now()
        wallet.claim(app, session, account)
    with transaction(app.sessions) as session:
        held = session.get(type(account), account.id)
        assert held is not None
        account = held
        record = stacking.award(app, session, pathway.id, account)
        components = [c["id"].rsplit("/", 1)[-1] for c in record.components]
        assert record.credential_id is not None
        expected["valid"].append(record.credential_id)
        kinds: dict[str, dict[str, Any]] = {
            record.credential_id: {"kind": "macro", "components": components}
        }
        application = rpl.apply(
            app,
            session,
            account,
            definition_id=ids[1][0],
            narrative="Ten years as a lifeguard, with yearly first-aid refreshers.",
            links=["https://demo-academy.example/evidence/lifeguard-log"],
        )
        staff = session.get(Staff, owner_id)
        assert staff is not None
        outcomes = dict.fromkeys(ids[1][1], True)
        application = rpl.decide(
            app,
            session,
            staff,
            application.id,
            "accept",
            "Evidence covers every criterion.",
            outcomes,
        )
        assert application.credential_id is not None
        expected["valid"].append(application.credential_id)
        kinds[application.credential_id] = {"kind": "rpl"}
    return kinds


def export(app: App, slug: str, seeded: Seeded, out: Path) -> Path:
    """Write credentials, the documents they reference (under ``site/``), the learner's
    comprehensive record (CLR 2.0) and a manifest."""
    expected, kinds = seeded.expected, seeded.kinds
    (out / "credentials").mkdir(parents=True, exist_ok=True)
    site = out / "site"
    entries = []
    with transaction(app.sessions) as session:
        provider = session.scalar(select(Provider).where(Provider.slug == slug))
        assert provider is not None
        accreditations = current_accreditations(app, session, provider, app.now())
        _write_did(app, session, site, provider)
        numbers = set(
            session.scalars(
                select(StatusList.number)
                .join(Credential, Credential.status_list_id == StatusList.id)
                .where(Credential.provider_id == provider.id)
            )
        )
        for number in sorted(numbers):
            for purpose in ("revocation", "suspension"):
                url = status.list_url(app, provider, number, purpose)
                _write(site, url, status.published_list(app, session, provider, number, purpose))
        counter = 0
        files: dict[str, str] = {}
        for expect, credential_ids in expected.items():
            for credential_id in credential_ids:
                counter += 1
                credential = session.get(Credential, credential_id)
                assert credential is not None
                name = f"{counter:02d}-{expect}"
                folder = out / "credentials"
                (folder / f"{name}.json").write_text(credential.document, "utf-8")
                document = json.loads(credential.document)
                (folder / f"{name}.png").write_bytes(
                    baking.bake_png(badge_png(document), credential.document)
                )
                (folder / f"{name}.svg").write_text(
                    baking.bake_svg(badge_svg(document), credential.document), "utf-8"
                )
                verify_url = (
                    f"{app.settings.base_url}/verify?url={quote(document['id'] + '.json', safe='')}"
                )
                (folder / f"{name}.pdf").write_bytes(
                    certificate_pdf(credential.document, verify_url, accreditations)
                )
                entry: dict[str, Any] = {
                    "file": f"credentials/{name}.json",
                    "expect": expect,
                    "png": f"credentials/{name}.png",
                    "svg": f"credentials/{name}.svg",
                    "pdf": f"credentials/{name}.pdf",
                }
                files[credential.id] = entry["file"]
                if credential.id in kinds:
                    entry["kind"] = kinds[credential.id]["kind"]
                entries.append(entry)
        records_out = _export_record(app, session, seeded.learner_email, files, out)
    for credential_id, info in kinds.items():  # a macro-credential lists its components' files
        for entry in entries:
            if files.get(credential_id) == entry["file"] and info["kind"] == "macro":
                entry["components"] = [files[c] for c in info["components"]]
    manifest = {"base_url": app.settings.base_url, "credentials": entries, "records": records_out}
    path = out / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return path


def _export_record(
    app: App, session: Any, email: str, files: dict[str, str], out: Path
) -> list[dict[str, Any]]:
    """The learner's record of everything that verifies, signed by the platform (whose did.json
    goes under ``site/``); its manifest entry lists the files of the credentials inside."""
    from microcred.db.tables import LearnerAccount
    from microcred.services import records
    from microcred.services.trust import platform_signer

    account = session.scalar(select(LearnerAccount).where(LearnerAccount.email == email))
    assert account is not None
    record = records.build(app, session, account)
    signer = platform_signer(app, session)
    _write_did(app, session, out / "site", signer)
    (out / "records").mkdir(parents=True, exist_ok=True)
    (out / "records" / "learner-record.json").write_bytes(record.to_bytes())
    inside = record.document["credentialSubject"]["verifiableCredential"]
    by_id = {credential_id.rsplit("/", 1)[-1]: f for credential_id, f in files.items()}
    return [
        {
            "file": "records/learner-record.json",
            "kind": "clr",
            "expect": "valid",
            "credentials": [by_id[c["id"].rsplit("/", 1)[-1]] for c in inside],
        }
    ]


def _write_did(app: App, session: Any, site: Path, provider: Provider) -> None:
    url = keys.did_document_url(app, provider)
    _write(site, url, json.dumps(keys.did_document(app, session, provider), indent=2))


def _write(site: Path, url: str, text: str) -> None:
    path = site / urlsplit(url).path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
