"""The engine alone: N real-time streams through one inference scheduler, in this process.

    .venv/bin/python bench/engine_ladder.py --streams 1 --streams 4      # this machine's CPU
    .venv/bin/python bench/engine_ladder.py --save-clips bench/out/clips.npz
    python3 bench/engine_ladder.py --clips clips.npz --model DIR --device cuda \\
        --compute-type float16 --workers 2 --max-batch 32 --per-worker 1 \\
        --streams 7 --streams 28 --streams 56 --streams 112                 # a GPU machine

Each stream is a `TranscriptionSession` fed at real time from this process (100 ms chunks)
and scored as `ladder_bench.py` scores a gRPC stream (bench/README.md): no gRPC, WebSocket or
Kafka, so the numbers are the engine's capacity on the device. It exists for machines where
the node's whole stack cannot be installed: the GPU machine lent by `device` has no package
registry, so it gets the engine's packages, the model and the clips (`--save-clips`) carried
in (bench/gpu/README.md). `--per-worker 1` streams one file per worker, so a level lasts as
long as the longest file; with N a multiple of the 7 files, every level hears the same mix.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from concurrency_level import LevelResult, run_level_on  # noqa: E402
from level_summary import (  # noqa: E402
    LAG_BAR_S,
    WER_BAR_PTS,
    headline,
    per_file,
    stream_detail,
    summarise_level,
)
from offline_baseline import OfflineRun, add_offline_decodes_option, run_offline  # noqa: E402
from report import (  # noqa: E402
    dash,
    decodes_note,
    git_info,
    gpu_query,
    machine_info,
    wer_vs_offline,
)
from speech_set import RATE, Clip, load_saved_clips, save_clips  # noqa: E402
from stream_run import ResultRec, StreamRun, WordRec, paced  # noqa: E402

from streaming import (  # noqa: E402
    EngineWarning,
    InferenceScheduler,
    SegmentUpdate,
    SessionOptions,
    SileroVoiceDetector,
    SpeechStarted,
    StreamSummary,
    TranscriptionSession,
    load_whisper,
)
from streaming.load import Priority  # noqa: E402
from streaming.recognizer import BUNDLED_MODEL, PARTIAL_BEAM_SIZE, resolve_model  # noqa: E402
from streaming.scheduler import BatchRun  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
CHUNK_S, TAIL_S, GAP_S, KEEP_UP_S = 0.1, 1.5, 0.5, 3.0
CLIP_SETS = ("speech", "meetings", "meetings-b", "meetings-c")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clips", type=Path, help="clips saved by --save-clips (default: decode here)")
    p.add_argument("--save-clips", type=Path, help="write the clips to this file and stop")
    p.add_argument(
        "--set",
        choices=CLIP_SETS,
        default="speech",
        help="speech: the shared speech set and the stand-up (the ladder's files); "
        "meetings: eight scripted meetings (meeting_clip.py); meetings-b, meetings-c: "
        "the same in other voices",
    )
    p.add_argument("--model", default=BUNDLED_MODEL, help="model folder (default: bundled)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cpu-threads", type=int, default=1)
    p.add_argument("--max-batch", type=int, default=8)
    p.add_argument(
        "--partial-beam", type=int, default=PARTIAL_BEAM_SIZE, help="partial passes' beam"
    )
    p.add_argument("--streams", type=int, action="append", help="repeatable; default 1 2 4 8")
    p.add_argument("--per-worker", type=int, help="files per worker (default: all of them)")
    p.add_argument("--stop-lag-s", type=float, default=8.0)
    p.add_argument("--offline-beams", type=int, nargs="*", default=[5])
    add_offline_decodes_option(p)
    p.add_argument("--out", type=Path, help="output prefix (default bench/results/engine_...)")
    p.add_argument("--commit", default="", help="the commit, where the tree has no .git")
    p.add_argument("--note", default="")
    p.add_argument("--raw", action="store_true", help="keep every stream's results in the JSON")
    args = p.parse_args(argv)
    args.streams = sorted(set(args.streams or [1, 2, 4, 8]))
    return args


def bench_clips(clip_set: str = "speech") -> list[Clip]:
    """The files, decoded here (needs the node's packages, espeak-ng and sox)."""
    from ladder_bench import DATA_DIR
    from meeting_clip import meeting_clip, meeting_set
    from speech_set import DEFAULT_FILES, load_clips

    meetings = BENCH_DIR / "out" / "meeting"
    if clip_set.startswith("meetings"):
        return meeting_set(meetings, clip_set.removeprefix("meetings").lstrip("-") or "a")
    return [*load_clips(DATA_DIR, DEFAULT_FILES), meeting_clip(meetings)]


@dataclass(slots=True)
class PriorityTotals:
    batches: int = 0
    seconds: float = 0.0
    wait_s: float = 0.0
    redos: int = 0
    sizes: Counter[int] = field(default_factory=Counter)
    greedy: int = 0  # partial passes decoded greedily because partials queued


class BatchLog:
    """The scheduler's observer: what every batch held and cost, by priority."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, PriorityTotals] = {}

    def __call__(self, run: BatchRun) -> None:
        with self._lock:
            t = self._totals.setdefault(run.priority.name.lower(), PriorityTotals())
            t.batches += 1
            t.seconds += run.seconds
            t.wait_s += sum(run.waits)
            t.redos += run.redone
            t.sizes[run.size] += 1
            t.greedy += run.size if run.greedy else 0

    def snapshot(self) -> dict[str, PriorityTotals]:
        with self._lock:
            return {
                k: PriorityTotals(
                    t.batches, t.seconds, t.wait_s, t.redos, Counter(t.sizes), t.greedy
                )
                for k, t in self._totals.items()
            }


def greedy_delta(before: dict[str, PriorityTotals], after: dict[str, PriorityTotals]) -> int:
    """Partial passes decoded greedily between two snapshots."""
    name = Priority.LIVE_PARTIAL.name.lower()
    return after.get(name, PriorityTotals()).greedy - before.get(name, PriorityTotals()).greedy


def batch_delta(
    before: dict[str, PriorityTotals], after: dict[str, PriorityTotals]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, a in after.items():
        b = before.get(name, PriorityTotals())
        batches = a.batches - b.batches
        sizes = a.sizes - b.sizes
        items = sum(size * n for size, n in sizes.items())
        if batches:
            out[name] = {
                "batches": batches,
                "mean_batch": round(items / batches, 2),
                "max_batch": max(sizes),
                "mean_wait_s": round((a.wait_s - b.wait_s) / items, 3),
                "mean_batch_s": round((a.seconds - b.seconds) / batches, 3),
                "busy_s": round(a.seconds - b.seconds, 1),
                "padded_redos": a.redos - b.redos,
            }
    return out


@dataclass(slots=True)
class Engine:
    scheduler: InferenceScheduler
    vad: SileroVoiceDetector
    batches: BatchLog
    options: SessionOptions

    async def stream(self, clip: Clip, worker: int, start_at: float | None, name: str) -> StreamRun:
        """One stream of `clip` at real time, as `stream_client.run_stream` sends it."""
        run = StreamRun(clip, worker, CHUNK_S, TAIL_S)
        pcm = np.concatenate([clip.float32(), np.zeros(round(TAIL_S * RATE), np.float32)])
        session = TranscriptionSession(self.scheduler, self.vad, self.options)

        async def send() -> None:
            t0 = time.monotonic() if start_at is None else max(start_at, time.monotonic())
            async for first, end in paced(run, pcm.size, t0):
                await session.push_audio(pcm[first:end])
            await session.close()

        try:
            async with asyncio.timeout(clip.duration_s + TAIL_S + 120.0), asyncio.TaskGroup() as tg:
                tg.create_task(session.run())
                tg.create_task(receive(session, run))
                await send()
        except* Exception as group:  # a failed stream is reported in the table, not raised
            run.error = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
        if run.error is None and run.summary is None:
            run.error = "stream ended without a summary"
        return run


async def receive(session: TranscriptionSession, run: StreamRun) -> None:
    async for event in session.events():
        now = time.monotonic()
        if isinstance(event, SegmentUpdate):
            run.results.append(
                ResultRec(
                    arrival=now,
                    seq=event.seq,
                    segment_id=event.segment_id,
                    is_final=event.is_final,
                    speech_final=event.speech_final,
                    stability=event.stability,
                    text=event.text,
                    start_s=event.start_s,
                    end_s=event.end_s,
                    words=tuple(WordRec(w.text, w.start_s, w.end_s) for w in event.words),
                )
            )
        elif isinstance(event, SpeechStarted):
            run.speech_started.append((now, event.timestamp_s))
        elif isinstance(event, EngineWarning):
            run.warnings.append(f"{event.code}: {event.message}")
        elif isinstance(event, StreamSummary):
            run.summary_at = now
            run.summary = {
                "audio_received_s": event.audio_received_s,
                "audio_processed_s": event.audio_processed_s,
                "segments": event.segments,
                "finals": event.finals,
            }


async def warm_up(engine: Engine, clip: Clip) -> None:
    """A final and a partial pass, so the first measured pass pays for no lazy setup."""
    audio = clip.float32()[: 5 * RATE]
    for final in (True, False):
        await engine.scheduler.recognize(audio, offset_s=0.0, final=final)


async def ladder(
    engine: Engine,
    clips: Sequence[Clip],
    args: argparse.Namespace,
    offline: Sequence[OfflineRun],
    report: dict[str, Any],
    json_path: Path,
) -> None:
    await warm_up(engine, clips[0])
    settings = {"endpointing_ms": str(engine.options.silence_ms)}
    for n in args.streams:
        print(f"engine: N = {n} ...", file=sys.stderr, flush=True)
        before = engine.batches.snapshot()
        level: LevelResult = await run_level_on(
            os.getpid(),
            engine.stream,
            clips,
            n=n,
            gap_s=GAP_S,
            keep_up_s=KEEP_UP_S,
            settings=settings,
            per_worker=args.per_worker,
        )
        gpu_memory = await asyncio.to_thread(gpu_query, "memory.used")
        after = engine.batches.snapshot()
        summary = summarise_level(level, offline) | {
            "scheduler": batch_delta(before, after)
            | {"greedy_partials": greedy_delta(before, after)},
            "gpu_memory_used_mib": next(iter(gpu_memory), None),
            "per_file": per_file(level, offline),  # texts and WER per file, for diagnosis
        }
        if args.raw:
            pairs = zip(level.runs, level.metrics, strict=True)
            summary["streams_detail"] = [stream_detail(r, m, raw=True) for r, m in pairs]
        report["levels"].append(summary)
        await asyncio.to_thread(write_json, json_path, report)  # each level kept as it ends
        lag = summary["word_lag_s"]["p95"]
        print(
            f"engine: N = {n}: p95 word lag {lag} s, WER {summary['wer']['stream']}, "
            f"scheduler {json.dumps(summary['scheduler'])}",
            file=sys.stderr,
            flush=True,
        )
        if lag is None or lag > args.stop_lag_s:
            break
        await asyncio.sleep(2.0)


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=1))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.save_clips:
        save_clips(args.save_clips, bench_clips(args.set))
        print(f"wrote {args.save_clips}", file=sys.stderr)
        return 0
    started = dt.datetime.now(dt.UTC)
    clips = load_saved_clips(args.clips) if args.clips else bench_clips(args.set)
    # A tree copied to another machine may carry a stale .git: --commit says what runs.
    git = {"commit": args.commit, "describe": "given with --commit"} if args.commit else git_info()
    commit = git["commit"]
    prefix: Path = args.out or BENCH_DIR / "results" / (
        f"engine_{started:%Y%m%d-%H%M%S}_{commit[:7] or 'nogit'}_{args.device}"
    )
    prefix.parent.mkdir(parents=True, exist_ok=True)
    model_path, model_label = resolve_model(args.model)
    offline: list[OfflineRun] = []
    if args.offline_beams:
        print("offline faster-whisper ...", file=sys.stderr, flush=True)
        offline = run_offline(
            clips,
            args.offline_beams,
            args.cpu_threads * args.workers,
            model_path=model_path,
            device=args.device,
            compute_type=args.compute_type,
            decodes=args.offline_decodes,
        )
    batches = BatchLog()
    recognizer = load_whisper(
        args.model,
        device=args.device,
        compute_type=args.compute_type,
        workers=args.workers,
        cpu_threads=args.cpu_threads,
        partial_beam_size=args.partial_beam,
    )
    scheduler = InferenceScheduler(
        recognizer, workers=args.workers, max_batch=args.max_batch, observer=batches
    )
    calibrated_cost = scheduler.calibrate()
    engine = Engine(scheduler, SileroVoiceDetector(), batches, SessionOptions(stream_id="bench"))
    gpu = gpu_query("name,memory.total,driver_version")
    report: dict[str, Any] = {
        "meta": {
            "started_at": f"{started:%Y-%m-%d %H:%M:%S} UTC",
            "note": args.note,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "files": [c.name for c in clips],
            "model": model_label,
            "engine": {
                k: getattr(args, k)
                for k in (
                    "device",
                    "compute_type",
                    "workers",
                    "cpu_threads",
                    "max_batch",
                    "per_worker",
                )
            },
            "calibrated_stream_cost": round(calibrated_cost, 4),
            "gpu": dict(zip(("name", "memory_mib", "driver"), gpu, strict=False)) or None,
        },
        "machine": machine_info(),
        "git": git,
        "offline": [
            {
                "beam_size": o.beam_size,
                **o.wer_fields(clips),
                "speed": round(o.audio_s / o.wall_s, 1),
            }
            for o in offline
        ],
        "levels": [],
    }
    json_path = prefix.with_suffix(".json")
    try:
        asyncio.run(ladder(engine, clips, args, offline, report, json_path))
    finally:
        scheduler.close()
    report["headline"] = headline(report["levels"])
    write_json(json_path, report)
    markdown = render(report)
    prefix.with_suffix(".md").write_text(markdown)
    print(markdown)
    print(f"wrote {json_path}", file=sys.stderr)
    return 0


def render(report: dict[str, Any]) -> str:
    meta, m, e = report["meta"], report["machine"], report["meta"]["engine"]
    gpu = meta["gpu"]
    lines = [
        f"# Engine ladder — {meta['started_at']}",
        "",
        meta["note"].strip(),
        "",
        f"- commit: `{report['git']['commit'][:7]}`",
        f"- machine: {m.get('cpu_model', '?')}, {m.get('nproc', '?')} CPUs, "
        f"{m.get('ram_gib', '?')} GiB"
        + (f"; GPU {gpu['name']} ({gpu['memory_mib']} MiB, driver {gpu['driver']})" if gpu else ""),
        f"- engine: {meta['model']} on {e['device']} ({e['compute_type']}), {e['workers']} "
        f"workers × {e['cpu_threads']} CPU threads, batches of up to {e['max_batch']}; "
        f"calibrated cost of a new stream {meta['calibrated_stream_cost']}",
        f"- files: {', '.join(meta['files'])}; "
        + (f"{e['per_worker']} per worker" if e["per_worker"] else "all of them per worker"),
        "- offline faster-whisper, same model and device: "
        + (
            ", ".join(
                f"beam {o['beam_size']} WER {100 * o['wer']:.1f} %{decodes_note(o)}, "
                f"{o['speed']}× real time"
                for o in report["offline"]
            )
            or "not run"
        ),
        "",
        "| N | streams ok / kept up | first partial p50 / max s | word lag p50 / p95 s "
        f"| words > {LAG_BAR_S:g} s late | finalisation p50 / p95 s | WER % "
        "| partial words revised | CPU s / audio s "
        "| mean batch (final / partial) | GPU MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for lv in report["levels"]:
        fp, lag, fin = lv["first_partial_s"], lv["word_lag_s"], lv["final_latency_s"]
        rev, sched = lv["partial_revision"]["rate"], lv["scheduler"]
        batch = " / ".join(
            dash(sched.get(p, {}).get("mean_batch"), 1) for p in ("live_final", "live_partial")
        )
        lines.append(
            f"| {lv['streams']} | {lv['stream_runs_ok']}/{lv['stream_runs']} / {lv['kept_up']} "
            f"| {dash(fp['p50'])} / {dash(fp['max'])} | {dash(lag['p50'])} / {dash(lag['p95'])} "
            f"| {late_share(lag)} | {dash(fin['p50'])} / {dash(fin['p95'])} "
            f"| {100 * lv['wer']['stream']:.1f} "
            f"| {dash(None if rev is None else 100 * rev, 1)} % "
            f"| {dash(lv['node_cpu_s_per_audio_s'], 3)} | {batch} "
            f"| {lv['gpu_memory_used_mib'] or '–'} |"
        )
    h = report["headline"]
    lines += [
        "",
        f"Headline: **{h['streams']}** streams with p95 word lag < {LAG_BAR_S:g} s and WER within "
        f"{WER_BAR_PTS:g} point of the first level's ({dash(100 * h.get('wer_at_1', 0), 1)} %).",
    ]
    if delta := wer_vs_offline(report["levels"]):
        lines += ["", delta + "."]
    return "\n".join(lines) + "\n"


def late_share(lag: dict[str, Any]) -> str:
    """Words shown over the bar late, as a share of all (absent in older results)."""
    if "over_bar" not in lag or not lag["n"]:
        return "–"
    return f"{100 * lag['over_bar'] / lag['n']:.1f} %"


if __name__ == "__main__":
    sys.exit(main())
