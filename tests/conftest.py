"""Shared fixtures: a real `stenograph up` node (real broker, model, sockets) and real speech."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support_node import ROOT, RunningNode, free_port, start_node

__all__ = ["ROOT", "SPEECH", "TEST_NODE_SETTINGS", "RunningNode", "free_port", "start_node"]

SPEECH = ROOT.parent / "shared" / "data" / "speech"


#: Settings of the shared test node: short idle timeout and few slots so the limits are
#: reachable in tests, and no admission from measured load: tests open up to 4 real-time
#: streams at once, right after earlier tests' load, and on a slow machine the node would
#: (rightly) refuse some. Admission has its own node in test_error_table.py and unit tests in
#: test_inference_scheduler.py. Everything else is the default a user gets.
TEST_NODE_SETTINGS = {
    "idle_timeout_s": "3",
    "max_streams": "4",
    "log_json": "true",
    "admission_control": "false",
}


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One real node for the whole session: embedded broker, bundled tiny.en, both servers."""
    with start_node(tmp_path_factory.mktemp("node"), **TEST_NODE_SETTINGS) as running:
        yield running


@pytest.fixture(scope="session")
def speech() -> Path:
    """The shared real-speech set (../shared/data/speech); its absence is an error, not a skip."""
    if not (SPEECH / "MANIFEST.tsv").is_file():
        raise FileNotFoundError(f"real speech data not found at {SPEECH}")
    return SPEECH
