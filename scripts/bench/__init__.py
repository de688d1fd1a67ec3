"""The benchmark suite: ``python -m scripts.bench all`` (or one subcommand; ``--help`` lists them).

Every figure is measured in the same run as the baseline it is compared with (memory bandwidth,
in-process engine, peers), on this machine, and written to ``bench-results/*.json`` and to this
suite's sections of ``docs/benchmarks.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# The suite drives the app's own backends in-process; they live under backend/.
if str(REPO_ROOT / "backend") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "backend"))
