"""One level of load: N concurrent workers streaming every file, with the server's CPU and RSS."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from proc_stats import cpu_seconds, proc_status_kib, reset_peak_rss
from scoring import StreamMetrics, stream_metrics
from speech_set import Clip
from stream_run import StreamOne, StreamRun, run_worker


@dataclass(slots=True)
class LevelResult:
    streams: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float | None
    peak_rss_reset: bool
    runs: list[StreamRun]
    metrics: list[StreamMetrics]
    settings: dict[str, str]


async def run_level_on(
    pid: int,
    stream_one: StreamOne,
    clips: Sequence[Clip],
    *,
    n: int,
    gap_s: float,
    keep_up_s: float,
    settings: dict[str, str],
    per_worker: int | None = None,
) -> LevelResult:
    """N workers, each streaming every clip once (or its first `per_worker` clips) through
    `stream_one`, measured at `pid`. Worker k starts at clip k, so the files are spread."""
    reset = reset_peak_rss(pid)
    cpu0, wall0 = cpu_seconds(pid), time.monotonic()
    shared_start = time.monotonic() + 1.0
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(
                run_worker(
                    stream_one,
                    [clips[(k + i) % len(clips)] for i in range(per_worker or len(clips))],
                    worker=k,
                    shared_start=shared_start,
                    gap_s=gap_s,
                )
            )
            for k in range(n)
        ]
    cpu_s, wall_s = cpu_seconds(pid) - cpu0, time.monotonic() - wall0
    hwm = proc_status_kib(pid, "VmHWM")
    runs = [run for t in tasks for run in t.result()]
    return LevelResult(
        streams=n,
        wall_s=wall_s,
        cpu_s=cpu_s,
        peak_rss_mib=None if hwm is None else hwm / 1024,
        peak_rss_reset=reset,
        runs=runs,
        metrics=[stream_metrics(r, keep_up_s) for r in runs],
        settings=dict(settings),
    )
