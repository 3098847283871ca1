"""Shared fixtures: a real `stenograph up` node (real broker, model, sockets) and real speech."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support_node import ROOT, RunningNode, free_port, start_node

__all__ = ["ROOT", "SPEECH", "TEST_NODE_SETTINGS", "RunningNode", "free_port", "start_node"]

SPEECH = ROOT.parent / "shared" / "data" / "speech"


#: Settings of the shared test node: short idle timeout and few slots so the limits are
#: reachable in tests; everything else is the default a user gets.
TEST_NODE_SETTINGS = {"idle_timeout_s": "3", "max_streams": "4", "log_json": "true"}


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
