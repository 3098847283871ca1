"""Shared fixtures: a real `stenograph up` node (real broker, model, sockets) and real speech."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT.parent / "shared" / "data" / "speech"
NODE_START_TIMEOUT_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class RunningNode:
    grpc_target: str
    ws_url: str
    http_url: str
    kafka_bootstrap: str
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_ready(node: RunningNode, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"stenograph up exited with {process.returncode}:\n{node.log_text()}"
            )
        try:
            with urllib.request.urlopen(f"{node.http_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"node not ready within {NODE_START_TIMEOUT_S} s:\n{node.log_text()}")


@contextlib.contextmanager
def start_node(tmp_dir: Path, **settings: str) -> Iterator[RunningNode]:
    """Run `stenograph up` as a subprocess on free ports until the generator is closed."""
    grpc_port, http_port, broker_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "STENOGRAPH_GRPC_PORT": str(grpc_port),
        "STENOGRAPH_HTTP_PORT": str(http_port),
        "STENOGRAPH_EMBEDDED_BROKER_PORT": str(broker_port),
        "STENOGRAPH_CONFIG": str(tmp_dir / "absent.toml"),
        "STENOGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_dir / 'stenograph.db'}",
        # The offline notes writer, whatever ANTHROPIC_API_KEY the machine has.
        "STENOGRAPH_NOTES_BACKEND": "offline",
        **{f"STENOGRAPH_{k.upper()}": v for k, v in settings.items()},
    }
    log_path = tmp_dir / "node.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "up"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        node = RunningNode(
            grpc_target=f"127.0.0.1:{grpc_port}",
            ws_url=f"ws://127.0.0.1:{http_port}",
            http_url=f"http://127.0.0.1:{http_port}",
            kafka_bootstrap=f"127.0.0.1:{broker_port}",
            log_path=log_path,
            env=env,
            process=process,
        )
        try:
            _wait_ready(node, process)
            yield node
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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
