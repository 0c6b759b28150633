"""Runs the Node.js interop harness (Digital Bazaar and DCC code from the npm registry).

``make test`` installs ``tests/interop/node_modules`` with ``npm ci`` from the committed lock file;
a missing install is a failure, not a skip, so CI cannot pass without the third-party check.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent / "interop"
HARNESS = HERE / "harness.mjs"


class Harness:
    def run(
        self,
        tasks: list[dict[str, Any]],
        http_hosts: list[str] | None = None,
        host_map: dict[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Run ``tasks`` in one Node process. ``host_map`` serves https://HOST/PATH from
        BASE/PATH (a loopback server), for documents published under other names."""
        node = shutil.which("node")
        if node is None:
            pytest.fail("Node.js is not installed; the interop tests need it")
        if not (HERE / "node_modules" / "@digitalbazaar" / "vc").is_dir():
            pytest.fail("tests/interop/node_modules is missing: run `make test` (it runs npm ci)")
        completed = subprocess.run(
            [node, str(HARNESS)],
            input=json.dumps(
                {"tasks": tasks, "httpHosts": http_hosts or [], "hostMap": host_map or {}}
            ),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if completed.returncode != 0:
            pytest.fail(f"interop harness failed:\n{completed.stderr[-4000:]}")
        results: list[dict[str, Any]] = json.loads(completed.stdout)["results"]
        assert len(results) == len(tasks)
        return results

    def verify(
        self,
        verifier: str,
        credentials: list[dict[str, Any]],
        http_hosts: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        return self.run(
            [{"op": "verify", "verifier": verifier, "credential": c} for c in credentials],
            http_hosts,
        )

    def sign(
        self,
        suite: str,
        credential: dict[str, Any],
        seed: bytes,
        created: str,
        did: str | None = None,
        key_id: str | None = None,
        http_hosts: list[str] | None = None,
    ) -> dict[str, Any]:
        task: dict[str, Any] = {
            "op": "sign",
            "suite": suite,
            "credential": credential,
            "seedHex": seed.hex(),
            "created": created,
        }
        if did:
            task.update(did=did, keyId=key_id)
        [result] = self.run([task], http_hosts)
        if "signed" not in result:
            pytest.fail(f"the Digital Bazaar stack could not sign: {result.get('error')}")
        signed: dict[str, Any] = result["signed"]
        return signed
