"""Uploads beside live streams: batch work must take only the capacity live streams leave.

The issue asks that uploads (and `stream --fast`) use a node's idle capacity without hurting
live streams' latency. For each N asked for, two levels of N live streams run on the same
node one after the other: one alone, one with uploads of a file (the stand-up, in batch
mode, as `upload_once` sends it) running one after another for as long as the level lasts.
What counts: the live streams' p95 word lag and WER both ways (the ratio of the p95s is the
cost of the uploads to live users), and how fast the uploads went beside them, in audio
seconds per wall second, against the same file uploaded to the idle node.

An upload still running when the live level ends is let finish (nothing is cancelled) and
counted apart: its time includes idle capacity after the level.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from concurrency_level import LevelResult
from node_process import RunningNode
from offline_baseline import OfflineRun
from overload_run import upload_once
from report import dash
from scoring import score_wer
from speech_set import Clip

LiveLevel = Callable[[int], Awaitable[LevelResult]]
Summarise = Callable[[LevelResult, Sequence[OfflineRun]], dict[str, Any]]


async def _uploads_until(
    stop: asyncio.Event, node: RunningNode, clip: Clip
) -> list[tuple[float, float, str]]:
    """Uploads of `clip`, one after another, until `stop`: (started, ended, text) each."""
    done: list[tuple[float, float, str]] = []
    while not stop.is_set():
        started = time.monotonic()
        _, text = await upload_once(node, clip)
        done.append((started, time.monotonic(), text))
    return done


async def run_beside_live(
    node: RunningNode,
    live_level: LiveLevel,
    summarise: Summarise,
    offline: Sequence[OfflineRun],
    upload_clip: Clip,
    streams: int,
) -> dict[str, Any]:
    """The same live level alone and with uploads beside it, on one node."""
    alone = summarise(await live_level(streams), offline)
    stop = asyncio.Event()
    uploads = asyncio.create_task(_uploads_until(stop, node, upload_clip))
    await asyncio.sleep(0)  # the first upload starts with the level, not after it
    beside = summarise(await live_level(streams), offline)
    level_ended = time.monotonic()
    stop.set()
    runs = await uploads
    within = [(s, e, t) for s, e, t in runs if e <= level_ended]
    seconds = [e - s for s, e, _ in within]
    audio_s = upload_clip.duration_s
    return {
        "streams": streams,
        "alone": _live(alone),
        "beside": _live(beside),
        "upload_file": upload_clip.name,
        "upload_audio_s": audio_s,
        "uploads_within_level": len(within),
        "uploads_after_level": len(runs) - len(within),
        "upload_s_median": statistics.median(seconds) if seconds else None,
        "upload_speed": audio_s / statistics.median(seconds) if seconds else None,
        "upload_wer": score_wer([upload_clip.reference] * len(within), [t for *_, t in within]).wer
        if within
        else None,
    }


def _live(level: dict[str, Any]) -> dict[str, Any]:
    return {
        "word_lag_p50": level["word_lag_s"]["p50"],
        "word_lag_p95": level["word_lag_s"]["p95"],
        "finalisation_p95": level["final_latency_s"]["p95"],
        "wer": level["wer"]["stream"],
        "kept_up": level["kept_up"],
        "stream_runs": level["stream_runs"],
        "scheduler": level.get("scheduler"),
    }


def render_beside(runs: Sequence[dict[str, Any]], idle_speed: float | None) -> list[str]:
    """Markdown lines for the ladder's report."""
    idle = f"; the same upload on the idle node: {idle_speed:.1f}× real time" if idle_speed else ""
    lines = [
        "",
        "## Uploads beside live streams",
        "",
        "Each N twice on one node: the live streams alone, then with uploads of "
        f"{runs[0]['upload_file']} ({runs[0]['upload_audio_s']:.1f} s) one after another for "
        f"the whole level{idle}.",
        "",
        "| N live | live p95 word lag alone / beside s | ratio | live WER alone / beside % "
        "| kept up alone / beside | uploads done in the level | upload × real time "
        "| upload WER % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        a, b = r["alone"], r["beside"]
        ratio = b["word_lag_p95"] / a["word_lag_p95"] if a["word_lag_p95"] else None
        lines.append(
            f"| {r['streams']} | {dash(a['word_lag_p95'])} / {dash(b['word_lag_p95'])} | "
            f"{dash(ratio)} | {100 * a['wer']:.1f} / {100 * b['wer']:.1f} | "
            f"{a['kept_up']}/{a['stream_runs']} / {b['kept_up']}/{b['stream_runs']} | "
            f"{r['uploads_within_level']} | {dash(r['upload_speed'], 1)} | "
            f"{dash(None if r['upload_wer'] is None else 100 * r['upload_wer'], 1)} |"
        )
    return lines
