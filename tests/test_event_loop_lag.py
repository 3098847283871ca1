"""The node's event loop lag: what every stream waits for when the loop itself is busy.

* A callback that holds the loop shows as one late probe in `stenograph_event_loop_lag_seconds`.
* A running node exposes the histogram on /metrics, with timers on time while it rests.
"""

from __future__ import annotations

import asyncio
import time

import httpx
from conftest import RunningNode
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from server.loop_lag import measuring_loop_lag


def lag_probes(*, over_s: float) -> tuple[float, float]:
    """This process's probes so far: all of them, and those later than `over_s`."""
    count = REGISTRY.get_sample_value("stenograph_event_loop_lag_seconds_count") or 0.0
    within = REGISTRY.get_sample_value(
        "stenograph_event_loop_lag_seconds_bucket", {"le": str(over_s)}
    )
    return count, count - (within or 0.0)


async def test_a_callback_that_holds_the_loop_shows_as_a_late_probe() -> None:
    count0, late0 = lag_probes(over_s=0.1)
    async with measuring_loop_lag(interval_s=0.05):
        await asyncio.sleep(0.12)  # probes on time
        time.sleep(0.3)  # noqa: ASYNC251 - the point: a callback that blocks the loop
        await asyncio.sleep(0.12)
    count, late = lag_probes(over_s=0.1)
    assert count - count0 >= 3
    assert late - late0 == 1, "exactly the probe the stall delayed"


def test_a_resting_node_reports_its_loop_lag_on_metrics(node: RunningNode) -> None:
    text = httpx.get(f"{node.http_url}/metrics", timeout=10.0).text
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        if family.name == "stenograph_event_loop_lag_seconds"
        for s in family.samples
        if not s.name.endswith("_bucket")
    }
    count, total = (
        samples["stenograph_event_loop_lag_seconds_count"],
        samples["stenograph_event_loop_lag_seconds_sum"],
    )
    assert count >= 1, "the probe runs from the node's start"
    assert total / count < 0.1, "a node at rest wakes its timers on time"
