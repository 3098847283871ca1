"""How late the node's event loop runs: a timer's overshoot, as a Prometheus histogram.

Every stream of a node shares one event loop (gRPC and WebSocket I/O, each session's audio
handling, Kafka publishing, the summariser); only inference runs in worker threads. A loop
that wakes a timer late delays every stream's partials by as much, whatever the inference
workers' load, so this is where an operator sees a node whose own work, not its model, is
the limit (`stenograph_event_loop_lag_seconds`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from server import metrics

#: Often enough to catch a stall of a few hundred milliseconds, rarely enough to cost nothing.
PROBE_INTERVAL_S = 0.25


@contextlib.asynccontextmanager
async def measuring_loop_lag(interval_s: float = PROBE_INTERVAL_S) -> AsyncIterator[None]:
    """Observe the running loop's lag every `interval_s` until the block ends."""
    task = asyncio.create_task(_probe(interval_s), name="event-loop-lag")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _probe(interval_s: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(interval_s)
        metrics.EVENT_LOOP_LAG.observe(max(0.0, loop.time() - started - interval_s))
