"""The optional C extension (``vc._speedups``, ADR 0024), or None.

Each of its functions has a pure-Python twin that stays the reference; callers pick the C one when
it is built. ``MICROCRED_PURE_PYTHON=1`` runs on the twins alone (to compare, or to rule it out).
"""

from __future__ import annotations

import os
from types import ModuleType

speedups: ModuleType | None
if os.environ.get("MICROCRED_PURE_PYTHON") == "1":
    speedups = None
else:
    try:
        from microcred.vc import _speedups as speedups
    except ImportError:  # built without a C compiler: the Python twins
        speedups = None
