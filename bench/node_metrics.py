"""What a Stenograph node's /metrics say about a benchmark level: the scheduler's batches,
waits and busy time per priority, the live streams' backlog after their passes, the event
loop's lag (cumulative counters, compared before and after), and the admission's reading of
how far behind the streams run (a gauge, sampled through the level)."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from node_process import RunningNode
from prometheus_client.parser import text_string_to_metric_families
from report import dash

from streaming.load import ADMIT_BACKLOG_S

LOOP_LAG = "stenograph_event_loop_lag_seconds"
LOOP_LATE_S = 0.1  # a histogram bucket's bound
BACKLOG = "stenograph_stream_backlog_seconds"
INFERENCE = "stenograph_inference_"
#: Cumulative samples by (metric name without `INFERENCE`, priority); the loop's under "".
Counters = dict[tuple[str, str], float]


def scheduler_counters(node: RunningNode) -> Counters:
    """The node's inference histograms' _sum and _count and its counters, by priority, its
    event loop lag's _sum, _count and probes at most `LOOP_LATE_S` late, and its live streams'
    backlog histogram (cumulative)."""
    with urllib.request.urlopen(f"{node.http_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    counters: Counters = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if name.startswith(INFERENCE) and name.endswith(("_sum", "_count", "_total")):
                counters[name.removeprefix(INFERENCE), labels.get("priority", "")] = sample.value
            elif name in (f"{LOOP_LAG}_sum", f"{LOOP_LAG}_count"):
                counters[name, ""] = sample.value
            elif name == f"{LOOP_LAG}_bucket" and float(labels["le"]) == LOOP_LATE_S:
                counters["loop_on_time", ""] = sample.value
            elif name in (f"{BACKLOG}_sum", f"{BACKLOG}_count"):
                counters[name, ""] = sample.value
            elif name == f"{BACKLOG}_bucket" and labels["le"] != "+Inf":
                counters[name, str(float(labels["le"]))] = sample.value
    return counters


def scheduler_delta(before: Counters, after: Counters) -> dict[str, Any]:
    """During one level: per priority, batches, mean batch size, mean wait and batch time;
    the live streams' backlog after their passes; the event loop's lag."""
    out: dict[str, Any] = {}

    def d(name: str, priority: str = "") -> float:
        return after.get((name, priority), 0.0) - before.get((name, priority), 0.0)

    for priority in ("live_final", "live_partial", "bulk_final", "bulk_partial"):
        batches = d("batch_size_count", priority)
        if batches:
            out[priority] = {
                "batches": int(batches),
                "mean_batch": round(d("batch_size_sum", priority) / batches, 2),
                "mean_wait_s": round(
                    d("queue_wait_seconds_sum", priority) / d("queue_wait_seconds_count", priority),
                    3,
                ),
                "mean_batch_s": round(d("batch_seconds_sum", priority) / batches, 3),
                "busy_s": round(d("batch_seconds_sum", priority), 1),
                "padded_redos": int(d("padded_redos_total", priority)),
            }
    if samples := d(f"{BACKLOG}_count"):
        # Share of live streams' returns from a pass that found more than each bucket's
        # bound of audio waiting, and the smallest bound that 95 % stayed under.
        bounds = sorted(float(le) for name, le in after if name == f"{BACKLOG}_bucket")
        under = {b: d(f"{BACKLOG}_bucket", str(b)) for b in bounds}
        out["backlog"] = {
            "samples": int(samples),
            "mean_s": round(d(f"{BACKLOG}_sum") / samples, 3),
            "p95_under_s": next((b for b in bounds if under[b] >= 0.95 * samples), None),
            "over_1s": round(1 - under.get(1.0, samples) / samples, 4),
            "over_2s": round(1 - under.get(2.0, samples) / samples, 4),
        }
    if probes := d(f"{LOOP_LAG}_count"):
        out["event_loop"] = {
            "probes": int(probes),
            "mean_lag_s": round(d(f"{LOOP_LAG}_sum") / probes, 4),
            f"late_over_{LOOP_LATE_S}s": int(probes - d("loop_on_time")),
        }
    return out


BEHIND = "stenograph_live_streams_behind_seconds"


class GaugeWatch:
    """Reads the admission's backlog gauge (`BEHIND`) every `every_s` while a level runs:
    for how much of the level the backlog guard would have refused a new live stream."""

    def __init__(self, node: RunningNode, every_s: float = 1.0) -> None:
        self._node = node
        self._every_s = every_s
        #: Where the node's guard refuses: its own setting, else the default.
        self.limit_s = float(node.settings.get("admission_max_backlog_s", ADMIT_BACKLOG_S))
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.readings: list[float] = []

    async def __aenter__(self) -> GaugeWatch:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _watch(self) -> None:
        while not self._stop.is_set():
            self.readings.append(await asyncio.to_thread(self._node.metric, BEHIND))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._every_s)

    def summary(self) -> dict[str, Any]:
        if not self.readings:
            return {}
        over = sum(r > self.limit_s for r in self.readings) / len(self.readings)
        return {
            "behind": {
                "readings": len(self.readings),
                "p50_s": round(statistics.median(self.readings), 2),
                "max_s": round(max(self.readings), 2),
                "over_limit": round(over, 3),
                "limit_s": self.limit_s,
            }
        }


def backlog_table(levels: Sequence[dict[str, Any]]) -> list[str]:
    """Stenograph's live streams' backlog after their passes, per level (the p95 is a
    histogram bucket's bound), and the admission's reading of it through the level."""
    rows = [
        (lv["streams"], lv["scheduler"]) for lv in levels if lv.get("scheduler", {}).get("backlog")
    ]
    if not rows:
        return []
    limit_s = next(
        (s["behind"].get("limit_s", ADMIT_BACKLOG_S) for _, s in rows if "behind" in s),
        ADMIT_BACKLOG_S,
    )
    lines = [
        "",
        "Audio a live stream found waiting when it came back from a pass (its backlog), and "
        "the admission's reading of it (`stenograph_live_streams_behind_seconds`, read every "
        "second: the p95 over 10 s of the stream a tenth from the top, at least the second; "
        f"refuses over {limit_s:g} s):",
        "",
        "| N | mean s | p95 at most s | over 1 s | over 2 s | reading p50 / max s | "
        f"time over {limit_s:g} s |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, stats in rows:
        b, behind = stats["backlog"], stats.get("behind")
        reading = f"{behind['p50_s']:.2f} / {behind['max_s']:.2f}" if behind else "–"
        over = f"{100 * behind['over_limit']:.0f} %" if behind else "–"
        lines.append(
            f"| {n} | {b['mean_s']:.2f} | {dash(b['p95_under_s'])} | "
            f"{100 * b['over_1s']:.1f} % | {100 * b['over_2s']:.1f} % | {reading} | {over} |"
        )
    return lines
