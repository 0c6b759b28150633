"""Wallet page latency for a learner holding 50, 200 and 1,000 credentials (issue 13).

Each size gets a fresh SQLite database: a provider issues N credentials to one learner through
the bulk path (distinct references), the learner signs up and claims them, then ``GET /wallet``
is timed in-process (no network): the first view (it claims and verifies every credential), then
``--views`` warm views (p50 and p95). The counts on the page cover every credential; one page
of 50 is shown in full.

    python bench/wallet.py [--sizes 50 200 1000] [--views 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from tests.platform.conftest import make_org, make_settings, publish_definition  # noqa: E402
from tests.platform.test_wallet import _signup  # noqa: E402

from microcred.services import bulk, jobs  # noqa: E402
from microcred.services.app import App  # noqa: E402
from microcred.web.app import create_app, settle_memory  # noqa: E402


def measure(size: int, views: int) -> tuple[float, float, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-wallet-"))
    app = App.start(make_settings(f"sqlite:///{folder}/wallet.db", folder))
    try:
        org = make_org(app, "acme")
        row = publish_definition(app, org)
        lines = ["name,email,reference"] + [
            f"Niamh O'Brien,niamh@example.org,ref-{i}" for i in range(size)
        ]
        data = ("\n".join(lines) + "\n").encode()
        bulk.upload_as(app, org.staff["issuer"], row.id, data, "cohort.csv")
        jobs.drain(app)
        web = create_app(app)
        settle_memory()  # as a server process does once its application is built
        with TestClient(web, base_url="http://testserver") as client:
            timed: list[float] = []
            real_get = client.get

            def get(url: str, **options: object) -> object:  # times _signup's own view
                start = time.perf_counter()
                answer = real_get(url, **options)  # type: ignore[arg-type]
                if url == "/wallet":
                    timed.append(time.perf_counter() - start)
                return answer

            client.get = get  # type: ignore[method-assign]
            _signup(client, app)  # signs up and confirms: its view claims and verifies them all
            client.get = real_get  # type: ignore[method-assign]
            first = timed[-1]
            page = client.get("/wallet")
            if f'data-total="{size}" data-passing="{size}"' not in page.text:
                raise SystemExit(f"the wallet does not show {size} verified credentials")
            times = []
            for _ in range(views):
                start = time.perf_counter()
                client.get("/wallet")
                times.append(time.perf_counter() - start)
        times.sort()
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        return first, statistics.median(times), p95
    finally:
        app.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--views", type=int, default=40)
    args = parser.parse_args()
    print(f"{'credentials':>12} {'first view ms':>14} {'warm p50 ms':>12} {'warm p95 ms':>12}")
    for size in args.sizes:
        first, p50, p95 = measure(size, args.views)
        print(f"{size:12} {first * 1000:14.0f} {p50 * 1000:12.0f} {p95 * 1000:12.0f}")


if __name__ == "__main__":
    main()
