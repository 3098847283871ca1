"""The node under test: `stenograph up`, started as tests/support_node.py starts it."""

from __future__ import annotations

import sys
from pathlib import Path

# The node is started as the tests start it (tests/support_node.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support_node import ROOT, RunningNode, free_port, start_node  # noqa: E402

__all__ = ["ROOT", "RunningNode", "free_port", "start_node"]
