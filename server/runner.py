"""`stenograph up`: the embedded broker (unless Kafka is configured), the model, both servers,
and a summariser with its notes store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Generator
from dataclasses import dataclass

import uvicorn

from server.broker import EmbeddedBroker
from server.grpc_app import GRPC_MAX_MESSAGE_BYTES, start_grpc_server
from server.http_app import build_http_app
from server.loop_lag import measuring_loop_lag
from server.node import Node
from server.settings import Settings
from server.telemetry import configure_tracing
from server.transcript_publisher import TranscriptPublisher
from summariser.consumer import running_summariser
from summariser.store import NotesStore

log = logging.getLogger(__name__)

#: Time in-flight streams get to finish when the node is asked to stop.
SHUTDOWN_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class Listening:
    grpc: str
    http: str
    kafka: str
    embedded_broker: bool


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The runner owns SIGINT/SIGTERM so it can stop everything it started, in order.
        yield


async def _start_http(
    node: Node, store: NotesStore, settings: Settings
) -> tuple[_Uvicorn, asyncio.Task[None], int]:
    config = uvicorn.Config(
        build_http_app(node, store),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        lifespan="off",
        ws_max_size=GRPC_MAX_MESSAGE_BYTES,
        ws_ping_interval=20.0,
    )
    server = _Uvicorn(config)
    task = asyncio.create_task(server.serve(), name="http-server")
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start
            raise OSError(
                f"HTTP server stopped at start on {settings.http_host}:{settings.http_port}"
            )
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run a node until `stop` is set or SIGINT/SIGTERM arrives; stop all it started."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    configure_tracing(settings.tracing_exporter)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(measuring_loop_lag())
        bootstrap = settings.kafka_bootstrap_servers
        embedded = not bootstrap
        if embedded:
            broker = await stack.enter_async_context(EmbeddedBroker(settings.embedded_broker_port))
            bootstrap = broker.bootstrap_servers
        publisher = TranscriptPublisher(settings, bootstrap)
        await publisher.start()
        stack.push_async_callback(publisher.stop)

        store = await NotesStore(settings.database_url).open()
        stack.push_async_callback(store.close)
        if settings.summariser:
            await stack.enter_async_context(running_summariser(settings, bootstrap, store))

        node = await asyncio.to_thread(Node.load, settings, publisher)
        stack.callback(node.close)

        grpc_server, grpc_port = await start_grpc_server(
            node, settings.grpc_host, settings.grpc_port, store
        )
        stack.push_async_callback(grpc_server.stop, SHUTDOWN_GRACE_S)
        http_server, http_task, http_port = await _start_http(node, store, settings)

        async def stop_http() -> None:
            http_server.should_exit = True
            await http_task

        stack.push_async_callback(stop_http)
        where = Listening(
            grpc=f"{settings.grpc_host}:{grpc_port}",
            http=f"http://{settings.http_host}:{http_port}",
            kafka=bootstrap,
            embedded_broker=embedded,
        )
        _announce(where)
        await stop.wait()
        log.info("stopping: draining streams, then the publisher and the broker")
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)


def _announce(where: Listening) -> None:
    broker = "embedded Tansu broker" if where.embedded_broker else "Kafka"
    lines = [
        f"gRPC        {where.grpc}  (stenograph.v1.Transcription, Notes, health, reflection)",
        f"WebSocket   {where.http.replace('http', 'ws', 1)}/v1/stream",
        f"HTTP        {where.http}/healthz  /readyz  /metrics  /v1/meetings",
        f"{broker:<11} {where.kafka}",
        "stenograph is ready; Ctrl-C stops everything it started",
    ]
    print("\n".join(lines), flush=True)
