"""A real node for tests and benchmarks: `stenograph up` as a subprocess on free ports.

Embedded broker, bundled tiny.en, both servers, a SQLite store in the given folder, the
offline notes writer, and no stenograph.toml: the defaults plus the settings passed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from server.broker import free_port

__all__ = ["ROOT", "RunningNode", "free_port", "start_node"]

ROOT = Path(__file__).resolve().parent.parent
NODE_START_TIMEOUT_S = 180.0


@dataclass(frozen=True, slots=True)
class RunningNode:
    grpc_target: str
    ws_url: str
    http_url: str
    kafka_bootstrap: str
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    #: The settings passed (without the STENOGRAPH_ prefix), as a benchmark reports them.
    settings: dict[str, str]

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str) -> float:
        """An unlabelled sample from the node's /metrics now (blocking)."""
        with urllib.request.urlopen(f"{self.http_url}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(f"{name} "):
                    return float(line.split()[1])
        raise AssertionError(f"{name} not in /metrics")


def _wait_ready(node: RunningNode) -> None:
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(
                f"stenograph up exited with {node.process.returncode}:\n{node.log_text()}"
            )
        try:
            with urllib.request.urlopen(f"{node.http_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"node not ready within {NODE_START_TIMEOUT_S:g} s:\n{node.log_text()}")


@contextlib.contextmanager
def start_node(folder: Path, **settings: str) -> Iterator[RunningNode]:
    """Run the node until the block ends (SIGINT, as Ctrl-C would); its log is folder/node.log."""
    grpc_port, http_port, broker_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "STENOGRAPH_GRPC_PORT": str(grpc_port),
        "STENOGRAPH_HTTP_PORT": str(http_port),
        "STENOGRAPH_EMBEDDED_BROKER_PORT": str(broker_port),
        "STENOGRAPH_CONFIG": str(folder / "absent.toml"),
        "STENOGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'stenograph.db'}",
        # The offline notes writer, whatever ANTHROPIC_API_KEY the machine has.
        "STENOGRAPH_NOTES_BACKEND": "offline",
        **{f"STENOGRAPH_{k.upper()}": v for k, v in settings.items()},
    }
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "node.log"
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
            settings=dict(settings),
        )
        try:
            _wait_ready(node)
            yield node
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
