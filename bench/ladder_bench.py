"""How many real-time streams a node serves well: Stenograph and WhisperLive, in one run.

    .venv/bin/python bench/ladder_bench.py                     # both systems, N = 1 2 4 8 12 16
    .venv/bin/python bench/ladder_bench.py --systems stenograph --streams 1 --streams 8

Both servers get the same model (the bundled tiny.en CTranslate2 folder), int8, 2 CPU
threads, on 127.0.0.1, one after the other (never at the same time). At each N, N workers
stream the shared speech set and a three-voice espeak-ng stand-up (`meeting_clip.py`) at real
time, one stream per file; the metrics are those of `stream_bench.py` (bench/README.md). A
system's ladder stops after a level whose p95 word lag exceeds `--stop-lag-s`.

Then, on Stenograph only: an upload (the stand-up sent in batch mode, as fast as the node
takes it, on an idle node) against offline faster-whisper on the same file; with
`--upload-beside N`, N live streams alone and then beside back-to-back uploads
(`upload_beside_live.py`); and an overload run (twice the headline N connect to a node with
admission control on).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import argparse
import asyncio
import datetime as dt
import json
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from concurrency_level import LevelResult, run_level_on
from level_summary import LAG_BAR_S, WER_BAR_PTS, headline, summarise_level
from meeting_clip import meeting_clip
from node_metrics import GaugeWatch, backlog_table, scheduler_counters, scheduler_delta
from node_process import RunningNode, start_node
from offline_baseline import OfflineRun, add_offline_decodes_option, run_offline
from overload_run import run_overload, run_upload
from report import dash, decodes_note, git_info, gpu_query, machine_info, wer_vs_offline
from speech_set import DEFAULT_FILES, Clip, load_clips, load_saved_clips
from stream_client import run_level, warm_up
from upload_beside_live import render_beside, run_beside_live

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DATA_DIR = BENCH_DIR.parent.parent / "shared" / "data" / "speech"
CHUNK_S, TAIL_S, GAP_S, KEEP_UP_S = 0.1, 1.5, 0.5, 3.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--systems", nargs="+", default=["stenograph", "whisperlive"])
    p.add_argument("--streams", type=int, action="append", help="repeatable; default 1 2 4 8 12 16")
    p.add_argument("--stop-lag-s", type=float, default=8.0)
    p.add_argument("--skip-upload", action="store_true")
    p.add_argument("--skip-overload", action="store_true")
    p.add_argument(
        "--upload-beside",
        type=int,
        action="append",
        metavar="N",
        help="repeatable: N live streams alone, then beside back-to-back uploads (Stenograph)",
    )
    p.add_argument("--overload-streams", type=int, help="default: twice Stenograph's headline N")
    p.add_argument("--node-setting", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--clips", type=Path, help="clips saved by engine_ladder.py --save-clips")
    p.add_argument("--per-worker", type=int, help="files per worker (default: all of them)")
    p.add_argument("--model", help="model folder for the node and offline (default: bundled)")
    p.add_argument("--device", default="cpu", help="node and offline: cpu or cuda")
    p.add_argument("--compute-type", help="default: the node's for the device; offline the same")
    add_offline_decodes_option(p)
    p.add_argument("--out", type=Path, help="output prefix (default bench/results/ladder_...)")
    p.add_argument("--note", default="")
    p.add_argument("--commit", default="", help="the commit, where the tree has no .git")
    args = p.parse_args(argv)
    args.streams = sorted(set(args.streams or [1, 2, 4, 8, 12, 16]))
    return args


async def ladder(
    system: str, start_level: Any, streams: Sequence[int], stop_lag_s: float
) -> list[LevelResult]:
    levels: list[LevelResult] = []
    for n in streams:
        print(f"{system}: N = {n} ...", file=sys.stderr, flush=True)
        level = await start_level(n)
        levels.append(level)
        lag = summarise_level(level, [])["word_lag_s"]["p95"]
        print(f"{system}: N = {n}: p95 word lag {lag} s", file=sys.stderr, flush=True)
        if lag is None or lag > stop_lag_s:
            break
        await asyncio.sleep(2.0)
    return levels


def stenograph_level(
    node: RunningNode, clips: Sequence[Clip], per_worker: int | None = None
) -> Callable[[int], Awaitable[LevelResult]]:
    """One level of N real-time streams on `node`, with the scheduler's counters over it."""

    async def level(n: int) -> LevelResult:
        before = await asyncio.to_thread(scheduler_counters, node)
        async with GaugeWatch(node) as behind:
            result = await run_level(
                node,
                clips,
                n=n,
                transport="grpc",
                chunk_s=CHUNK_S,
                tail_s=TAIL_S,
                gap_s=GAP_S,
                keep_up_s=KEEP_UP_S,
                per_worker=per_worker,
            )
        after = await asyncio.to_thread(scheduler_counters, node)
        stats = scheduler_delta(before, after) | behind.summary()
        result.settings["scheduler"] = json.dumps(stats)
        print(f"  scheduler: {result.settings['scheduler']}", file=sys.stderr, flush=True)
        return result

    return level


def summarise_stenograph(level: LevelResult, offline: Sequence[OfflineRun]) -> dict[str, Any]:
    return summarise_level(level, offline) | {"scheduler": json.loads(level.settings["scheduler"])}


async def stenograph_ladder(
    node: RunningNode,
    clips: Sequence[Clip],
    streams: Sequence[int],
    stop_lag_s: float,
    per_worker: int | None = None,
) -> list[LevelResult]:
    await warm_up(node, "grpc", clips[0])
    level = stenograph_level(node, clips, per_worker)
    return await ladder("stenograph", level, streams, stop_lag_s)


async def whisperlive_ladder(
    clips: Sequence[Clip], streams: Sequence[int], stop_lag_s: float, log_dir: Path
) -> list[LevelResult]:
    import whisperlive  # here: its module pins the node's packages, which a GPU run lacks

    python = whisperlive.ensure_venv()
    with whisperlive.start_whisperlive(
        log_dir, max_clients=max(streams) + 2, python=python
    ) as live:
        print(f"whisperlive ready (pid {live.pid})", file=sys.stderr, flush=True)
        await whisperlive.warm_up(live, clips[0])  # as Stenograph's node gets one

        async def stream_one(clip: Clip, worker: int, start_at: float | None, _: str) -> Any:
            t0 = time.monotonic() if start_at is None else max(start_at, time.monotonic())
            return await whisperlive.run_whisperlive_stream(
                live, clip, worker=worker, chunk_s=CHUNK_S, tail_s=TAIL_S, t0=t0
            )

        async def level(n: int) -> LevelResult:
            return await run_level_on(
                live.pid,
                stream_one,
                clips,
                n=n,
                gap_s=GAP_S,
                keep_up_s=KEEP_UP_S,
                settings={"endpointing_ms": "0"},
            )

        return await ladder("whisperlive", level, streams, stop_lag_s)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    clips = (
        load_saved_clips(args.clips)
        if args.clips
        else [*load_clips(DATA_DIR, DEFAULT_FILES), meeting_clip(BENCH_DIR / "out" / "meeting")]
    )
    on_gpu = args.device == "cuda"
    compute_type = args.compute_type or ("float16" if on_gpu else "int8")
    git = {"commit": args.commit, "describe": "given with --commit"} if args.commit else git_info()
    prefix: Path = args.out or RESULTS_DIR / (
        f"ladder_{started:%Y%m%d-%H%M%S}_{git['commit'][:7] or 'nogit'}"
    )
    prefix.parent.mkdir(parents=True, exist_ok=True)
    log_dir = Path(tempfile.mkdtemp(prefix="stenograph-ladder-"))
    print(f"logs: {log_dir}", file=sys.stderr)

    print("offline faster-whisper (beam 5, greedy) ...", file=sys.stderr, flush=True)
    offline: list[OfflineRun] = run_offline(
        clips,
        (5, 1),
        2,
        model_path=args.model,
        device=args.device,
        compute_type=compute_type,
        decodes=args.offline_decodes,
    )
    report: dict[str, Any] = {
        "meta": {
            "started_at": f"{started:%Y-%m-%d %H:%M:%S} UTC",
            "note": args.note,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "files": [c.name for c in clips],
            "speech_s": round(sum(c.duration_s for c in clips), 1),
            "per_worker": args.per_worker,
            "node_settings": dict(kv.split("=", 1) for kv in args.node_setting),
        },
        "machine": machine_info() | {"gpu": gpu_query("name,memory.total,driver_version")},
        "git": git,
        "offline": [
            {
                "beam_size": o.beam_size,
                **o.wer_fields(clips),
                "rtf": round(o.wall_s / o.audio_s, 4),
            }
            for o in offline
        ],
        "systems": {},
    }
    settings = {
        "max_streams": str(max(64, 2 * max(args.streams))),
        # The ladder loads the node on purpose; admission is measured by the overload run.
        "admission_control": "false",
        **({"model": args.model} if args.model else {}),
        **({"device": args.device} if args.device != "cpu" else {}),
        **({"compute_type": args.compute_type} if args.compute_type else {}),
        **dict(kv.split("=", 1) for kv in args.node_setting),
    }
    if "stenograph" in args.systems:
        with start_node(log_dir / "stenograph", **settings) as node:
            levels = asyncio.run(
                stenograph_ladder(node, clips, args.streams, args.stop_lag_s, args.per_worker)
            )
            if not args.skip_upload:
                print("stenograph: upload ...", file=sys.stderr, flush=True)
                report["upload"] = asyncio.run(run_upload(node, clips[-1]))
            for n in args.upload_beside or []:
                print(f"stenograph: {n} live, alone and beside uploads ...", file=sys.stderr)
                level = stenograph_level(node, clips, args.per_worker)
                beside = run_beside_live(node, level, summarise_stenograph, offline, clips[-1], n)
                report.setdefault("upload_beside_live", []).append(asyncio.run(beside))
        report["systems"]["stenograph"] = [summarise_stenograph(lv, offline) for lv in levels]
    if "whisperlive" in args.systems:
        levels = asyncio.run(
            whisperlive_ladder(clips, args.streams, args.stop_lag_s, log_dir / "whisperlive")
        )
        report["systems"]["whisperlive"] = [summarise_level(lv, offline) for lv in levels]
    report["headline"] = {name: headline(lv) for name, lv in report["systems"].items()}
    if "stenograph" in args.systems and not args.skip_overload:
        admitted_n = report["headline"]["stenograph"]["streams"] or 4
        attempts = args.overload_streams or 2 * admitted_n
        print(f"stenograph: overload, {attempts} streams ...", file=sys.stderr, flush=True)
        overload_settings = {k: v for k, v in settings.items() if k != "admission_control"}
        with start_node(log_dir / "overload", **overload_settings) as node:
            report["overload"] = asyncio.run(run_overload(node, clips[-1], attempts))

    json_path = prefix.with_suffix(".json")
    json_path.write_text(json.dumps(report, indent=1))
    markdown = render(report)
    prefix.with_suffix(".md").write_text(markdown)
    print(markdown)
    print(f"wrote {json_path}", file=sys.stderr)
    return 0


def by_file_table(systems: dict[str, list[dict[str, Any]]]) -> list[str]:
    """p95 word lag of each file's words: which file the overall p95 comes from."""
    files = list(
        dict.fromkeys(
            f
            for levels in systems.values()
            for lv in levels
            for f in lv["word_lag_s"].get("p95_by_file", {})
        )
    )
    if not files:
        return []
    lines = [
        "",
        "p95 word lag by file, s:",
        "",
        "| system | N | " + " | ".join(files) + " |",
        "|---|---|" + "---|" * len(files),
    ]
    for name, levels in systems.items():
        for lv in levels:
            by_file = lv["word_lag_s"].get("p95_by_file", {})
            cells = " | ".join(dash(by_file.get(f)) for f in files)
            lines.append(f"| {name} | {lv['streams']} | {cells} |")
    return lines


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# Stream ladder — {report['meta']['started_at']}",
        "",
        f"{report['meta']['note']}".strip(),
        "",
        f"- commit: `{report['git'].get('commit', '')[:7]} {report['git'].get('subject', '')}`",
        f"- machine: {m.get('cpu_model', '?')}, {m.get('nproc', '?')} CPUs, "
        f"{m.get('ram_gib', '?')} GiB" + (f"; GPU {', '.join(m['gpu'])}" if m.get("gpu") else ""),
        f"- files: {', '.join(report['meta']['files'])} "
        + (
            f"({report['meta']['per_worker']} per worker; worker k starts at file k)"
            if report["meta"].get("per_worker")
            else f"({report['meta']['speech_s']} s per worker)"
        ),
        "- offline faster-whisper on the same files: "
        + ", ".join(
            f"beam {o['beam_size']} WER {100 * o['wer']:.1f} %{decodes_note(o)}, RTF {o['rtf']:.3f}"
            for o in report["offline"]
        ),
        "",
        "| system | N | streams ok / kept up | first partial p50 / max s | word lag p50 / p95 s "
        "| finalisation p50 / p95 s | WER % | partial words revised | CPU s / audio s "
        "| peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, levels in report["systems"].items():
        for lv in levels:
            fp, lag, fin = lv["first_partial_s"], lv["word_lag_s"], lv["final_latency_s"]
            rev = lv["partial_revision"]["rate"]
            lines.append(
                f"| {name} | {lv['streams']} | {lv['stream_runs_ok']}/{lv['stream_runs']} / "
                f"{lv['kept_up']} | {dash(fp['p50'])} / {dash(fp['max'])} | {dash(lag['p50'])} / "
                f"{dash(lag['p95'])} | {dash(fin['p50'])} / {dash(fin['p95'])} | "
                f"{100 * lv['wer']['stream']:.1f} | "
                f"{dash(None if rev is None else 100 * rev, 1)} % | "
                f"{dash(lv['node_cpu_s_per_audio_s'], 3)} | {dash(lv['node_peak_rss_mib'], 0)} |"
            )
    lines += by_file_table(report["systems"])
    lines += backlog_table(report["systems"].get("stenograph", []))
    lines += ["", "## Headline", ""]
    heads = report["headline"]
    for name, h in heads.items():
        lines.append(
            f"- {name}: **{h['streams']}** streams with p95 word lag < {LAG_BAR_S:g} s and WER "
            f"within {WER_BAR_PTS:g} point of its N = 1 WER "
            f"({dash(h.get('wer_at_1', 0) * 100, 1)} %)"
        )
    if {"stenograph", "whisperlive"} <= heads.keys() and heads["whisperlive"]["streams"]:
        ratio = heads["stenograph"]["streams"] / heads["whisperlive"]["streams"]
        lines.append(f"- ratio: **{ratio:.1f}×**")
    for name, levels in report["systems"].items():
        if delta := wer_vs_offline(levels):
            lines.append(f"- {name}: {delta}")
    if "upload" in report:
        u = report["upload"]
        lines += [
            "",
            "## Upload on an idle node",
            "",
            f"{u['file']} ({u['audio_s']:.1f} s)"
            + (f", medians of {u['rounds']} alternate runs" if "rounds" in u else "")
            + f": Stenograph batch mode {u['stenograph_s']:.2f} s "
            f"({u['stenograph_speed']:.1f}× real time, WER {100 * u['stenograph_wer']:.1f} %); "
            f"offline faster-whisper beam 5 {u['offline_s']:.2f} s ({u['offline_speed']:.1f}×, "
            f"WER {100 * u['offline_wer']:.1f} %): ratio {u['ratio']:.2f}.",
        ]
    if beside := report.get("upload_beside_live"):
        lines += render_beside(beside, report.get("upload", {}).get("stenograph_speed"))
    if "overload" in report:
        o = report["overload"]
        lines += [
            "",
            "## Overload",
            "",
            f"{o['attempts']} real-time streams of the stand-up connected {o['stagger_s']} s apart "
            f"to a node with admission control on: {o['admitted']} admitted, {o['refused']} "
            f"refused ({', '.join(o['refusal_codes']) or 'none'}), {o['failed']} failed otherwise. "
            f"Admitted: word lag p50 / p95 {dash(o['word_lag_p50'])} / "
            f"{dash(o['word_lag_p95'])} s, "
            f"WER {dash(o['wer'] * 100 if o['wer'] is not None else None, 1)} %, kept up "
            f"{o['kept_up']}/{o['admitted']}. Node ready afterwards: {o['ready_after']}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
