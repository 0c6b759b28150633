"""Runs the Node.js interop harness (Digital Bazaar and DCC code from the npm registry).

``make test`` installs ``tests/interop/node_modules`` with ``npm ci`` from the committed lock file;
a missing install is a failure, not a skip, so CI cannot pass without the third-party check.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.node_harness import Harness

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session")
def harness() -> Harness:
    return Harness()
