"""The demo contract, checked from outside: `microcred demo` writes credentials and a manifest;
the running application serves did:web documents and status lists over HTTP on loopback; each
credential verifies as the manifest says in microcred, Digital Bazaar's stack and the DCC's."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from microcred.vc.fetch import SafeFetcher, WebResolver
from microcred.vc.policy import Policy
from microcred.vc.status_list import BitstringStatusChecker
from microcred.vc.verify import verify
from tests.node_harness import Harness

EXPECTED_CODE = {
    "valid": None,
    "revoked": ("status", "status.revoked"),
    "suspended": ("status", "status.suspended"),
    "expired": ("validity", "validity.expired"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_demo(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MICROCRED_ENV": "test",
        "MICROCRED_DATA_DIR": str(tmp_path / "data"),
        "MICROCRED_DATABASE_URL": database_url,
        "MICROCRED_BASE_URL": base_url,
    }
    cli = [sys.executable, "-m", "microcred.cli"]
    out = tmp_path / "demo"
    subprocess.run(
        [*cli, "demo", "--out", str(out), "--base-url", base_url],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base_url}/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start: " + (tmp_path / "server.log").read_text())
        yield base_url, out
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def test_demo_credentials_verify_as_the_manifest_says(served_demo):
    base_url, out = served_demo
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base_url"] == base_url
    entries = manifest["credentials"]
    expectations = [e["expect"] for e in entries]
    assert expectations.count("valid") >= 3
    assert {"revoked", "suspended", "expired"} <= set(expectations)
    credentials = [json.loads((out / e["file"]).read_text()) for e in entries]
    titles = {
        c["credentialSubject"]["achievement"]["name"]
        for c, e in zip(credentials, entries, strict=True)
        if e["expect"] == "valid"
    }
    assert len(titles) >= 3  # three different definitions

    # one macro-credential awarded through a pathway, naming its components' digests, and one
    # awarded through recognition of prior learning
    from microcred.services.rpl import is_rpl
    from microcred.vc.digest import check_related

    kinds = {e.get("kind") for e in entries}
    assert {"macro", "rpl"} <= kinds
    [macro] = [e for e in entries if e.get("kind") == "macro"]
    assert len(macro["components"]) == 2
    macro_document = json.loads((out / macro["file"]).read_text())
    component_bytes = [(out / f).read_bytes() for f in macro["components"]]
    component_ids = [json.loads(b)["id"] for b in component_bytes]
    assert check_related(macro_document, component_bytes) == component_ids
    [recognised] = [e for e in entries if e.get("kind") == "rpl"]
    assert is_rpl(json.loads((out / recognised["file"]).read_text()))

    # the demo rotates its key half-way: both keys' credentials are in the set
    methods = {c["proof"][0]["verificationMethod"].split("#")[1] for c in credentials}
    assert methods == {"key-1", "key-2"}

    # site/ holds every document the credentials reference, at its URL path
    host = base_url.split("://")[1]
    for credential in credentials:
        did = credential["issuer"]["id"]
        assert (out / "site" / "/".join(did.split(":")[3:]) / "did.json").exists()
        statuses = credential["credentialStatus"]  # one object, or a list where suspendable
        for entry in statuses if isinstance(statuses, list) else [statuses]:
            path = entry["statusListCredential"].split(host, 1)[1].lstrip("/")
            assert (
                json.loads((out / "site" / path).read_text())["id"] == entry["statusListCredential"]
            )

    # microcred, resolving through the running server
    fetcher = SafeFetcher({host}, ttl=0)
    base = Policy(resolver=WebResolver(fetcher))
    policy = Policy(resolver=base.resolver, status_checker=BitstringStatusChecker(fetcher, base))
    for entry, credential in zip(entries, credentials, strict=True):
        report = verify(credential, policy)
        expected = EXPECTED_CODE[entry["expect"]]
        if expected is None:
            assert report.verified, (entry, report.to_json())
        else:
            assert not report.verified
            assert report.step(expected[0]).code == expected[1], (entry, report.to_json())
            assert report.step("proof").code == "proof.ok"

    # the command line, through its safe fetcher, with the development host allowed
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "microcred.cli",
            "verify",
            "--json",
            "--allow-host",
            host,
            *[str(out / e["file"]) for e in entries],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # the batch exits with its most serious verdict: the demo has revoked, suspended and expired
    # credentials and nothing invalid, so "revoked" (3)
    assert cli.returncode == 3, cli.stderr
    lines = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [x["verified"] for x in lines] == [e["expect"] == "valid" for e in entries]
    refused = subprocess.run(
        [sys.executable, "-m", "microcred.cli", "verify", "--json", str(out / entries[0]["file"])],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    proof = next(s for s in json.loads(refused.stdout)["steps"] if s["step"] == "proof")
    assert proof["code"] == "did.unresolvable"  # plain http to loopback needs --allow-host

    # baked badges and certificates carry the credential byte for byte
    from microcred.render.certificate import attached_credential
    from microcred.vc import baking

    extracted = []
    for entry in entries:
        original = (out / entry["file"]).read_text("utf-8")
        assert baking.extract((out / entry["png"]).read_bytes()) == original
        assert baking.extract((out / entry["svg"]).read_bytes()) == original
        assert attached_credential((out / entry["pdf"]).read_bytes()) == original
        extracted.append(json.loads(baking.extract((out / entry["png"]).read_bytes())))

    # the learner's comprehensive record (CLR 2.0): signed by the platform's did:web, holding
    # the learner's verified credentials exactly as issued, the macro's components associated
    [record_entry] = manifest["records"]
    assert record_entry["kind"] == "clr"
    record = json.loads((out / record_entry["file"]).read_text())
    inside = record["credentialSubject"]["verifiableCredential"]
    assert macro["file"] in record_entry["credentials"]
    assert [json.loads((out / f).read_text()) for f in record_entry["credentials"]] == inside
    macro_achievement = macro_document["credentialSubject"]["achievement"]["id"]
    assert sorted(a["sourceId"] for a in record["credentialSubject"]["association"]) == sorted(
        json.loads(b)["credentialSubject"]["achievement"]["id"] for b in component_bytes
    )
    assert {a["targetId"] for a in record["credentialSubject"]["association"]} == {
        macro_achievement
    }
    record_report = verify(record, policy)
    assert record_report.verified, record_report.to_json()
    assert record_report.step("components").code == "clr.ok"

    # third-party verifiers, over the same HTTP
    harness = Harness()
    for stack in ("digitalbazaar", "dcc"):
        [theirs] = harness.verify(stack, [record], http_hosts=[host])
        assert theirs["verified"], (stack, theirs)
    from_png = harness.verify("digitalbazaar", extracted, http_hosts=[host])
    assert [r["verified"] for r in from_png] == [e["expect"] == "valid" for e in entries]
    db = harness.verify("digitalbazaar", credentials, http_hosts=[host])
    dcc = harness.verify("dcc", credentials, http_hosts=[host])
    for entry, ours_db, ours_dcc in zip(entries, db, dcc, strict=True):
        expect = entry["expect"]
        assert ours_db["verified"] is (expect == "valid"), (entry, ours_db)
        assert ours_dcc["verified"] is (expect == "valid"), (entry, ours_dcc)
        if expect in ("revoked", "suspended"):
            purpose = "revocation" if expect == "revoked" else "suspension"
            assert {"purpose": purpose, "set": True, "verified": True} in ours_db["statuses"], (
                ours_db
            )
        if expect == "expired":
            assert "validuntil" in ours_db["error"].lower(), ours_db
            assert {"id": "expiration", "valid": False} in [
                {"id": e["id"], "valid": e["valid"]} for e in ours_dcc["log"]
            ], ours_dcc
