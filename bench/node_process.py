"""The node under test: `stenograph up` as a subprocess, and its CPU and memory from /proc."""

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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

#: The repository root, the node's working directory.
ROOT = Path(__file__).resolve().parent.parent
NODE_START_TIMEOUT_S = 180.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class RunningNode:
    pid: int
    grpc_target: str
    ws_url: str
    http_url: str
    kafka_bootstrap: str
    log_path: Path
    settings: dict[str, str]


def _wait_ready(node: RunningNode, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = node.log_path.read_text(errors="replace")
            raise RuntimeError(f"stenograph up exited with {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{node.http_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"node not ready within {NODE_START_TIMEOUT_S:g} s; see {node.log_path}")


@contextlib.contextmanager
def start_node(log_dir: Path, settings: Mapping[str, str]) -> Iterator[RunningNode]:
    """`stenograph up` as a subprocess on free ports (embedded broker) until the block ends."""
    grpc_port, http_port, broker_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "STENOGRAPH_GRPC_PORT": str(grpc_port),
        "STENOGRAPH_HTTP_PORT": str(http_port),
        "STENOGRAPH_EMBEDDED_BROKER_PORT": str(broker_port),
        # No stenograph.toml from the working directory: the defaults plus `settings`.
        "STENOGRAPH_CONFIG": str(log_dir / "absent.toml"),
        "STENOGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{log_dir / 'stenograph.db'}",
        # The offline notes writer, whatever ANTHROPIC_API_KEY the machine has.
        "STENOGRAPH_NOTES_BACKEND": "offline",
        **{f"STENOGRAPH_{k.upper()}": v for k, v in settings.items()},
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "node.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "up"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        node = RunningNode(
            pid=process.pid,
            grpc_target=f"127.0.0.1:{grpc_port}",
            ws_url=f"ws://127.0.0.1:{http_port}",
            http_url=f"http://127.0.0.1:{http_port}",
            kafka_bootstrap=f"127.0.0.1:{broker_port}",
            log_path=log_path,
            settings=dict(settings),
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


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads included (children are not)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: `5` into clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
