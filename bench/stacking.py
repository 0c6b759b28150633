"""Stacking benchmarks (issue 6, acceptance 5).

1. A learner's progress page with 10 pathways over 50 credentials, rendered through the app
   (TestClient, SQLite), median time against the 200 ms budget, interleaved in the same run:
   - warm: what a learner sees on every view but the first after a restart (canonical forms and
     schema findings kept in the app's memo; keys, status, trust and dates checked live);
   - cold: the same page with an empty memo (first view after a restart);
   - reference: every credential verified in full with plain pyld and no memo.
2. Rule evaluation for 20 pathways and 100,000 learners (10 verified credentials each, facts
   already extracted): learners per second with the rules compiled once, and the ratio against
   interpreting the rules per learner (on the first 10,000).

    python bench/stacking.py [--learners 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from tests.platform.conftest import DEFINITION, make_settings

import microcred.services.verification as verification
from microcred.db.session import transaction
from microcred.domain import stacking as rules
from microcred.domain.assessment import OutcomeResult
from microcred.services import definitions, stacking, wallet
from microcred.services.app import App
from microcred.services.issuing import Award, issue
from microcred.services.providers import create_provider
from microcred.vc import canon
from microcred.vc.loader import default_loader
from microcred.vc.memo import VerifyMemo
from microcred.vc.policy import Policy
from microcred.web.app import create_app

PASSWORD = "benchmark password"  # noqa: S105 - a throwaway benchmark database


def build(app: App) -> tuple[int, str]:
    with transaction(app.sessions) as session:
        provider, owner = create_provider(
            app,
            session,
            slug="bench",
            legal_name="Bench Academy",
            country_code="DE",
            owner_email="owner@bench.example",
            owner_password=PASSWORD,
        )
        rows = []
        for n in range(50):
            row = definitions.create(app, session, provider, {**DEFINITION, "title": f"Module {n}"})
            rows.append(definitions.publish(app, session, row))
        families = [stacking.family_url(app, session, r) for r in rows]
        macros = []
        for n in range(10):
            macro = definitions.create(
                app, session, provider, {**DEFINITION, "title": f"Award {n}"}
            )
            macros.append(definitions.publish(app, session, macro))
        owner_id = owner.id
        account = wallet.sign_up(app, session, "Bench Learner", "learner@bench.example", PASSWORD)
        account.email_verified_at = app.now()
        account_id = account.id
    for row in rows:
        with transaction(app.sessions) as session:
            from microcred.db.tables import Staff

            issue(
                app,
                session,
                session.get(Staff, owner_id),
                Award(
                    definition_id=row.id,
                    name="Bench Learner",
                    email="learner@bench.example",
                    results=[OutcomeResult(o["id"], True) for o in row.data["learning_outcomes"]],
                ),
            )
    with transaction(app.sessions) as session:
        from microcred.db.tables import LearnerAccount, Staff

        wallet.claim(app, session, session.get(LearnerAccount, account_id))
        for n, macro in enumerate(macros):
            chosen = families[n * 5 : (n + 1) * 5] + families[-3:]
            stacking.create_pathway(
                app,
                session,
                session.get(Staff, owner_id),
                definition_id=macro.id,
                name=f"Award {n}",
                rules={"all": [{"credential": {"achievement": [f]}} for f in chosen]},
            )
    return account_id, "learner@bench.example"


def page_times(app: App, rounds: int, warm_up: bool = True) -> list[float]:
    with TestClient(create_app(app), base_url="http://testserver") as client:
        token_page = client.get("/account/signin").text
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', token_page).group(1)
        client.post(
            "/account/signin",
            data={"csrf_token": token, "email": "learner@bench.example", "password": PASSWORD},
            follow_redirects=False,  # the wallet page it leads to would fill the memo
        )
        if warm_up:
            assert "Award 9" in client.get("/wallet/pathways").text  # warm and check
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            response = client.get("/wallet/pathways")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        return times


def evaluation_rates(learners: int) -> tuple[float, float]:
    """(compiled, interpreted) learners per second; interpreted on at most 10,000 learners."""
    random.seed(7)
    achievements = [f"urn:a:{n}" for n in range(60)]
    pathways = [
        {
            "all": [{"credential": {"achievement": [a]}} for a in random.sample(achievements, 4)]
            + [{"min_ects": 10, "where": {"trusted": True}}]
        }
        for _ in range(20)
    ]
    now = datetime(2026, 6, 1, tzinfo=UTC)
    population = [
        [
            rules.CredentialFact(
                f"{i}-{k}",
                frozenset({random.choice(achievements)}),
                "",
                "did:web:x",
                5.0,
                5,
                now - timedelta(days=30),
                True,
                True,
            )
            for k in range(10)
        ]
        for i in range(learners)
    ]
    compiled = [rules.Compiled(p) for p in pathways]
    started = time.perf_counter()
    for facts in population:
        eligible = rules.eligible(facts)
        index = rules.index_facts(eligible)  # shared by the 20 pathways
        for rule in compiled:
            rule(eligible, now, index)
    fast = learners / (time.perf_counter() - started)
    sample = population[:10_000]
    started = time.perf_counter()
    for facts in sample:
        eligible = rules.eligible(facts)
        for pathway in pathways:
            rules.evaluate(pathway, eligible, now)
    slow = len(sample) / (time.perf_counter() - started)
    return fast, slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = App.start(make_settings(f"sqlite:///{folder}/bench.db", Path(folder)))
        build(app)
        warm: list[float] = []
        cold: list[float] = []
        reference: list[float] = []
        original = verification.policy_for

        def plain(*args: Any, **kwargs: Any) -> Policy:
            return replace(original(*args, **kwargs), canonicalize=canon.rdfc, memo=None)

        for _ in range(args.rounds):  # interleaved: the machine's noise hits all three
            warm += page_times(app, 1)
            app.memo = VerifyMemo(default_loader())
            cold += page_times(app, 1, warm_up=False)
            verification.policy_for = plain  # the reference: full pyld, nothing kept
            try:
                reference += page_times(app, 1)
            finally:
                verification.policy_for = original
        app.engine.dispose()
    hot, first, theirs = (statistics.median(x) for x in (warm, cold, reference))
    print(
        "progress page, 10 pathways over 50 credentials (median of "
        f"{args.rounds} interleaved rounds; budget 200 ms):"
    )
    print(f"  microcred, warm   {hot:8.1f} ms   {theirs / hot:5.1f}x the reference")
    print(f"  microcred, cold   {first:8.1f} ms   {theirs / first:5.1f}x the reference")
    print(f"  reference (pyld)  {theirs:8.1f} ms")
    fast, slow = evaluation_rates(args.learners)
    print(
        f"rule evaluation, 20 pathways: {fast:,.0f} learners/s compiled "
        f"({args.learners:,} learners in {args.learners / fast:.1f} s); "
        f"{slow:,.0f}/s interpreted per learner ({fast / slow:.1f}x)"
    )


if __name__ == "__main__":
    main()
