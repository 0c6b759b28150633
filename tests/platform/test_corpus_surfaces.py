"""No corpus item (tests/fixtures/corpus) makes any surface stop on an unexpected problem: the CLI
(every file in one ``microcred verify --json``), the /verify page, POST /api/verify, the VC API's
/credentials/verify and /presentations/verify, and wallet import all answer without an
``internal.error`` step. Status lists and key documents are served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from microcred.cli import app as cli
from microcred.db.session import transaction
from microcred.services import wallet
from microcred.services.app import App
from microcred.vc import fetch
from tests.corpus import Loopback, entries, internal_errors, serving
from tests.corpus_build import CHALLENGE, DOMAIN
from tests.platform.conftest import PASSWORD, csrf_from

ENTRIES = entries()


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    with serving() as served:
        yield served


def test_the_cli_verifies_the_whole_corpus_in_one_run(loopback, monkeypatch):
    monkeypatch.setattr(fetch, "SafeFetcher", lambda *args, **kwargs: loopback.fetcher())
    files = [str(e.path) for e in ENTRIES]
    options = ["--json", "--challenge", CHALLENGE, "--domain", DOMAIN]
    result = CliRunner().invoke(cli, ["verify", *options, *files])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["file"] for line in lines] == files
    assert [line["file"] for line in lines if internal_errors(line)] == []
    # the verdicts it prints are the library's (the CLI adds an EU elements step: warnings only)
    by_file = {line["file"]: line["verdict"] for line in lines}
    for entry in ENTRIES:
        if entry.verdict != "verified":
            assert by_file[str(entry.path)] == entry.verdict, entry.name


def test_the_web_verifier_and_the_vc_api_answer_every_item(platform: App, client, loopback):
    platform.fetcher = loopback.fetcher()
    token = csrf_from(client.get("/verify").text)
    problems = []
    for entry in ENTRIES:
        raw = entry.path.read_bytes()
        if entry.kind == "presentation":
            body = {
                "verifiablePresentation": entry.document(),
                "options": {"challenge": CHALLENGE, "domain": DOMAIN},
            }
            answers = [client.post("/presentations/verify", json=body)]
        else:
            answers = [
                client.post("/api/verify", content=raw),
                client.post("/credentials/verify", json={"verifiableCredential": entry.document()}),
            ]
        for answer in answers:
            if answer.status_code >= 500 or internal_errors(answer.json()):
                problems.append((entry.name, answer.request.url.path, answer.text[:300]))
        page = client.post("/verify", data={"csrf_token": token}, files={"file": ("f.json", raw)})
        if page.status_code != 200 or 'data-code="internal.error"' in page.text:
            problems.append((entry.name, "/verify", page.status_code))
        assert 'data-code="' in page.text, entry.name
    assert problems == []


def test_wallet_import_takes_every_item_without_an_internal_error(platform: App, loopback):
    platform.fetcher = loopback.fetcher()
    with transaction(platform.sessions) as session:
        account = wallet.sign_up(platform, session, "Ada", "ada@example.org", PASSWORD)
        problems = []
        for entry in ENTRIES:
            kept, result = wallet.import_any(platform, session, account, entry.path.read_bytes())
            reports = [result.to_json(), *(item.import_report for item in kept)]
            if internal_errors(reports):
                problems.append(entry.name)
            if entry.kind == "credential":
                assert len(kept) == 1, entry.name
                assert kept[0].verified_on_import is (entry.verdict == "verified"), entry.name
    assert problems == []
