"""`stenograph summariser`: a summariser on its own, one more member of the consumer group."""

from __future__ import annotations

import asyncio
import logging
import signal

from server.settings import Settings
from summariser.consumer import running_summariser
from summariser.store import NotesStore

log = logging.getLogger(__name__)


async def serve_summariser(settings: Settings) -> None:
    """Consume until SIGINT/SIGTERM. Kafka defaults to the broker `stenograph up` embeds."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bootstrap = settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.embedded_broker_port}"
    store = await NotesStore(settings.database_url).open()
    try:
        async with running_summariser(settings, bootstrap, store):
            print(
                f"summariser consuming from {bootstrap} as {settings.summariser_group}", flush=True
            )
            await stop.wait()
    finally:
        await store.close()
