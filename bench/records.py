"""A comprehensive learner record (CLR 2.0) of 250 credentials: built, and verified cold (issue 13).

A fresh SQLite database: a provider publishes ``--definitions`` definitions and issues
``--credentials`` credentials among them to one learner through the bulk path; the learner signs
up and claims them. Then, timed:

- build: ``records.build`` as the wallet's download runs it (each credential verified, the
  ``ClrCredential`` assembled and signed by the platform), in this warm process;
- verify, cold: a new Python process that has imported microcred but verified nothing (no
  templates, no kept results, no memo) verifies the record with the platform's policy;
- verify, warm: the same again in that process.

The record's size is printed beside the verifier's limit.

    python bench/records.py [--credentials 250] [--definitions 5]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.platform.conftest import DEFINITION, make_org, make_settings, publish_definition  # noqa: E402

from microcred.db.session import transaction  # noqa: E402
from microcred.services import bulk, jobs, records, wallet  # noqa: E402
from microcred.services.app import App  # noqa: E402
from microcred.vc.jsonsafe import DEFAULT_MAX_BYTES  # noqa: E402

EMAIL = "niamh@example.org"
VERIFY = """
import json, sys, time
from pathlib import Path
from microcred.config import load_settings
from microcred.services.app import App
from microcred.services.verification import platform_policy, verify_document
app = App.start(load_settings(), run_migrations=False)
text = Path(sys.argv[1]).read_text()
times, verdicts = [], []
for _ in range(2):
    start = time.perf_counter()
    result = verify_document(text, platform_policy(app))
    times.append(time.perf_counter() - start)
    verdicts.append(result.report.verdict.value)
print(json.dumps({"times": times, "verdicts": verdicts}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=250)
    parser.add_argument("--definitions", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-records-"))
    settings = make_settings(f"sqlite:///{folder}/records.db", folder)
    app = App.start(settings)
    org = make_org(app, "acme")
    rows = [
        publish_definition(app, org, {**DEFINITION, "title": f"Module {n + 1}"})
        for n in range(args.definitions)
    ]
    per = -(-args.credentials // len(rows))
    issued = 0
    for row in rows:
        count = min(per, args.credentials - issued)
        lines = ["name,email,reference"] + [
            f"Niamh O'Brien,{EMAIL},{row.id}-{i}" for i in range(count)
        ]
        data = ("\n".join(lines) + "\n").encode()
        bulk.upload_as(app, org.staff["issuer"], row.id, data, "cohort.csv")
        issued += count
    jobs.drain(app)
    with transaction(app.sessions) as session:
        account = wallet.sign_up(app, session, "Niamh O'Brien", EMAIL, "learner password 1")
        account.email_verified_at = app.now()
        wallet.claim(app, session, account)

    start = time.perf_counter()
    record = records.build_for_email(app, EMAIL, None)
    built = time.perf_counter() - start
    if record is None or record.included != args.credentials:
        raise SystemExit(f"not every credential went in: {record and record.left_out}")
    data = record.to_bytes()
    path = folder / "record.json"
    path.write_bytes(data)

    env = {
        "MICROCRED_DATABASE_URL": settings.database_url,
        "MICROCRED_DATA_DIR": str(folder),
        "MICROCRED_BASE_URL": settings.base_url,
        "MICROCRED_ENV": "test",
        "MICROCRED_KEK": base64.b64encode(settings.kek).decode(),
        "MICROCRED_SECRET_KEY": settings.secret_key,
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", VERIFY, str(path)],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if v},
        check=True,
        cwd=ROOT,
    )
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    cold, warm = answer["times"]
    print(f"record of {record.included} credentials from {len(rows)} definitions")
    limit = DEFAULT_MAX_BYTES / 2**20
    print(f"  size: {len(data) / 2**20:.2f} MiB (verifiers read up to {limit:.0f} MiB)")
    print(f"  build (verify each, assemble, sign): {built:.2f} s")
    print(
        f"  verify, cold process: {cold:.2f} s; warm: {warm:.2f} s; verdicts {answer['verdicts']}"
    )
    app.engine.dispose()


if __name__ == "__main__":
    main()
