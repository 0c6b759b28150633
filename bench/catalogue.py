"""Catalogue search over 10,000 published micro-credentials from 500 providers (issue 14).

A fresh database (SQLite in a temporary folder, and PostgreSQL: a new database beside the one
named in ``--database``, dropped at the end) gets ``--providers`` providers, a third of them
accredited by a QA body today, and ``--definitions`` published definitions with varied titles,
outcomes, EQF levels (1-8), workloads (0.5-10 ECTS), forms of participation and languages
(about 1 in 50 is a first-aid course). The catalogue index is built by the platform's own
``search.refresh_all``. Then the combined query of the issue's browser scenario ("first aid",
EQF 3-4, at most 2 ECTS, online, accredited providers) is timed ``--runs`` times through
``search.search`` (the page's and the API's path: the count, one page of 20, the facets), after
a warm-up, with its words varied (``first aid``, ``first``, ``aid``, ``safety``), against an
unindexed scan in the same run: the same filters, the words matched with ``LIKE`` over the
same rows instead of the full-text index. Prints p50 and p95 and the ratio.

    python bench/catalogue.py [--database postgresql://postgres@127.0.0.1:5432/test] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, insert, select, text  # noqa: E402
from tests.platform.conftest import DEFINITION, make_settings  # noqa: E402

from microcred.db.session import transaction  # noqa: E402
from microcred.db.tables import Accreditation, CatalogueEntry, Definition, Provider  # noqa: E402
from microcred.services import search  # noqa: E402
from microcred.services.app import App  # noqa: E402
from support import create_postgres_database, drop_postgres_database, log  # noqa: E402

SUBJECTS = [
    "Welding", "Forklift", "Data Analysis", "Python", "Customer Care", "Bookkeeping",
    "Carpentry", "Solar Installation", "Cyber Security", "Project Planning", "Nursing Care",
    "Food Hygiene", "Spanish for Tourism", "Digital Marketing", "Electrical Safety", "Logistics",
]  # fmt: skip
KINDS = ["Foundations", "Essentials", "Practice", "Advanced", "Refresher", "for Managers"]
VERBS = ["Applies", "Explains", "Plans", "Checks", "Uses", "Documents", "Assesses", "Leads"]
LANGUAGES = ["en", "en", "en", "de", "fr", "es", "it", "pl"]
MODES = ["online", "onsite", "blended"]
QUERY = {"eqf_min": 3, "eqf_max": 4, "ects_max": 2.0, "participation": ("online",)}
WORDS = ["first aid", "first", "aid", "safety"]


def populate(app: App, providers: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    with transaction(app.sessions) as session:
        session.execute(
            insert(Provider),
            [
                {
                    "slug": f"p{n}",
                    "legal_name": f"Provider {n} Academy",
                    "country_code": rng.choice(["DE", "FR", "IE", "ES", "IT", "PL"]),
                    "kind": "provider",
                    "created_at": now,
                }
                for n in range(providers)
            ]
            + [
                {
                    "slug": "qa",
                    "legal_name": "QA Agency",
                    "country_code": "IE",
                    "kind": "qa_body",
                    "created_at": now,
                }
            ],
        )
        ids = dict(session.execute(select(Provider.slug, Provider.id)).all())
        session.execute(
            insert(Accreditation),
            [
                {
                    "id": f"acc-{n}",
                    "qa_body_id": ids["qa"],
                    "provider_id": ids[f"p{n}"],
                    "framework": "EQAVET",
                    "scope": "All",
                    "valid_from": today - timedelta(days=30),
                    "valid_until": today + timedelta(days=365),
                    "document": "{}",
                    "created_at": now,
                }
                for n in range(0, providers, 3)
            ],
        )
        rows = []
        for n in range(count):
            first_aid = n % 50 == 0
            subject = "First Aid" if first_aid else rng.choice(SUBJECTS)
            title = f"{subject} {rng.choice(KINDS)}"
            outcomes = [
                {
                    "id": f"urn:uuid:00000000-0000-4000-8000-{n:06d}{k:06d}",
                    "statement": f"{rng.choice(VERBS)} {subject.lower()} procedures {k}",
                    "criterion": "Observed practical",
                    "esco_uri": None,
                }
                for k in range(3)
            ]
            data = {
                **DEFINITION,
                "title": title,
                "description": f"A short course in {subject.lower()}.",
                "learning_outcomes": outcomes,
                "workload_ects": rng.choice([0.5, 1, 1.5, 2, 3, 5, 10]),
                "level": {"framework": "EQF", "value": str(rng.randint(1, 8))},
                "participation": rng.choice(MODES),
                "language": rng.choice(LANGUAGES),
                "country_code": "DE",
                "awarding_body": "",
                "region": "",
                "grade_scheme": {"kind": "pass_fail"},
            }
            rows.append(
                {
                    "provider_id": ids[f"p{rng.randrange(providers)}"],
                    "family": f"00000000-0000-4000-8000-{n:012d}",
                    "version": 1,
                    "state": "published",
                    "title": title,
                    "data": data,
                    "created_at": now,
                    "published_at": now - timedelta(minutes=n),
                }
            )
        session.execute(insert(Definition), rows)
    if app.engine.dialect.name == "postgresql":  # as autovacuum would after such a load
        with transaction(app.sessions) as session:
            session.execute(text("ANALYZE providers, accreditations, definitions"))
    started = time.perf_counter()
    built = search.refresh_all(app)
    seconds = time.perf_counter() - started
    log(f"  index built by search.refresh_all: {built} entries in {seconds:.1f} s")


def _count_and_page(app: App, conditions: list[Any]) -> int:
    """What both sides time: the count and one page of 20 under ``conditions``."""
    entry = CatalogueEntry
    with transaction(app.sessions, readonly=True) as session:
        total = session.scalar(select(func.count()).select_from(entry).where(*conditions))
        session.execute(
            select(entry).where(*conditions).order_by(entry.title).limit(search.PAGE_SIZE)
        ).all()
        return int(total or 0)


def _filters(app: App, phrase: str, *, indexed: bool) -> list[Any]:
    """The combined query's conditions as the platform builds them; for the scan, its words
    matched with LIKE over the same text instead of through the full-text index."""
    dialect = app.engine.dialect.name
    accredited = search._accredited(app.now().date(), "")
    if indexed:
        query = search.Query(text=phrase, accredited=True, **QUERY)
        return search._conditions(query, dialect, accredited)
    query = search.Query(accredited=True, **QUERY)
    haystack = CatalogueEntry.title_words + " " + CatalogueEntry.body
    words = [haystack.like(f"%{w}%") for w in phrase.split()]
    return words + search._conditions(query, dialect, accredited)


def measure(app: App, runs: int) -> dict[str, Any]:
    page: list[float] = []
    indexed: list[float] = []
    scanned: list[float] = []
    totals: dict[str, tuple[int, int]] = {}
    for i in range(runs + 5):
        phrase = WORDS[i % len(WORDS)]
        started = time.perf_counter()
        search.search(app, search.Query(text=phrase, accredited=True, **QUERY))
        first = time.perf_counter()
        found = _count_and_page(app, _filters(app, phrase, indexed=True))
        second = time.perf_counter()
        scan = _count_and_page(app, _filters(app, phrase, indexed=False))
        third = time.perf_counter()
        totals[phrase] = (found, scan)
        if i >= 5:  # warm-up
            page.append(first - started)
            indexed.append(second - first)
            scanned.append(third - second)
    for phrase, (found, scan) in totals.items():
        if found > scan:  # the index must never find what the words do not contain
            raise SystemExit(f"{phrase!r}: the index found {found}, the scan {scan}")
    return {"page": page, "indexed": indexed, "scanned": scanned, "totals": totals}


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(name: str, figures: dict[str, Any]) -> None:
    page, indexed, scanned = figures["page"], figures["indexed"], figures["scanned"]
    print(f"{name}:")
    for label, values in (
        ("the page's search (count, page, facets)", page),
        ("count and page, full-text index", indexed),
        ("count and page, unindexed (LIKE)", scanned),
    ):
        print(f"  {label}: p50 {_p(values, 0.5):.1f} ms, p95 {_p(values, 0.95):.1f} ms")
    ratio = statistics.median(scanned) / statistics.median(indexed)
    print(f"  unindexed / index (medians): {ratio:.1f}x")
    for phrase, (found, scan) in figures["totals"].items():
        print(f"    {phrase!r}: {found} found by the index, {scan} by the scan (substrings too)")


def run(database_url: str, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    app = App.start(make_settings(database_url, folder))
    try:
        populate(app, args.providers, args.definitions, args.seed)
        return measure(app, args.runs)
    finally:
        app.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--providers", type=int, default=500)
    parser.add_argument("--definitions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    print(
        f"catalogue: {args.definitions} published definitions from {args.providers} providers; "
        f"{args.runs} timed runs of the combined query; {date.today()}"
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-catalogue-"))
    log("SQLite")
    report("SQLite", run(f"sqlite:///{folder}/catalogue.db", folder, args))
    if not args.sqlite_only:
        url, name = create_postgres_database(args.database, "bench_catalogue")
        try:
            log(f"PostgreSQL ({name})")
            report("PostgreSQL", run(url, folder, args))
        finally:
            drop_postgres_database(args.database, name)


if __name__ == "__main__":
    main()
