"""One overload, several admission settings: what each admits, and what the admitted get.

    .venv/bin/python bench/admission_ab.py --attempts 16 \\
        --variant busy-only admission_max_backlog_s=1000 --variant default

Each variant is a fresh node (`stenograph up`, embedded defaults, admission control on) with
its settings; `attempts` real-time streams of the stand-up connect 0.5 s apart, as in the
ladder's overload run (`overload_run.run_overload`), and each variant runs `--rounds` times,
alternating, so that both see the machine in the same state. `--node-setting` applies to
every variant (on a card: `model=...`, `device=cuda`; `--clips` takes the stand-up from the
clips `engine_ladder.py --save-clips` wrote, where espeak-ng is not installed). Prints and
writes a table: admitted, refused, the admitted streams' p50 / p95 word lag, WER, and how
many kept up.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

from meeting_clip import meeting_clip  # noqa: E402
from node_process import start_node  # noqa: E402
from overload_run import run_overload  # noqa: E402
from report import dash, git_info, machine_info  # noqa: E402
from speech_set import load_saved_clips  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--attempts", type=int, default=16)
    p.add_argument(
        "--variant",
        action="append",
        nargs="+",
        metavar=("NAME", "KEY=VALUE"),
        help="a name and the node settings that differ from the defaults (repeatable)",
    )
    p.add_argument("--render", type=Path, help="print the table of a JSON this wrote, and stop")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--node-setting", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--clips", type=Path, help="clips saved by engine_ladder.py --save-clips")
    p.add_argument("--out", type=Path, help="output prefix (default bench/results/admission_...)")
    return p.parse_args(argv)


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# Admission under overload — {report['started']}",
        "",
        f"- commit: `{report['git']['commit'][:7]}`; machine: {m['cpu_model']}, "
        f"{m['nproc']} CPUs, {m['ram_gib']} GiB",
        f"- {report['attempts']} real-time streams of the stand-up, 0.5 s apart, per run",
        "",
        "| variant | settings | admitted | refused | refused because | word lag p50 / p95 s "
        "| WER % | kept up |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        o = run["overload"]
        settings = ", ".join(f"{k}={v}" for k, v in run["settings"].items()) or "defaults"
        # "node cannot take another stream (predicted load 104% of the workers); ..."
        reasons = sorted({_reason(m) for m in o["refusal_messages"]})
        wer = f"{100 * o['wer']:.1f}" if o["wer"] is not None else "–"
        lines.append(
            f"| {run['variant']} | {settings} | {o['admitted']} | {o['refused']} | "
            f"{'; '.join(reasons) or '–'} | {dash(o['word_lag_p50'])} / "
            f"{dash(o['word_lag_p95'])} | {wer} | {o['kept_up']}/{o['admitted']} |"
        )
    return "\n".join(lines) + "\n"


def _reason(message: str) -> str:
    """The kind of a refusal, without its numbers."""
    found = re.search(r"\((.*?)\)", message)
    return " ".join(re.sub(r"[\d.]+(?:%| s\b)?", "", found.group(1) if found else message).split())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        print(render(json.loads(args.render.read_text())), end="")
        return 0
    if not args.variant:
        raise SystemExit("give at least one --variant")
    started = dt.datetime.now(dt.UTC)
    git = git_info()
    # The stand-up: generated here, or the last of the saved clips (as in ladder_bench.py).
    clip = (
        load_saved_clips(args.clips)[-1]
        if args.clips
        else meeting_clip(BENCH_DIR / "out" / "meeting")
    )
    common = dict(kv.split("=", 1) for kv in args.node_setting)
    log_dir = Path(tempfile.mkdtemp(prefix="stenograph-admission-"))
    report: dict[str, Any] = {
        "started": f"{started:%Y-%m-%d %H:%M:%S} UTC",
        "git": git,
        "machine": machine_info(),
        "attempts": args.attempts,
        "clip": clip.name,
        "node_settings": common,
        "runs": [],
    }
    for round_no in range(args.rounds):
        for name, *pairs in args.variant:
            settings = dict(kv.split("=", 1) for kv in pairs)
            print(f"{name} (round {round_no + 1}) ...", file=sys.stderr, flush=True)
            with start_node(log_dir / f"{name}-{round_no}", **common, **settings) as node:
                overload = asyncio.run(run_overload(node, clip, args.attempts))
            report["runs"].append({"variant": name, "settings": settings, "overload": overload})
            print(f"  {json.dumps(overload)}", file=sys.stderr, flush=True)
    prefix: Path = args.out or BENCH_DIR / "results" / (
        f"admission_{started:%Y%m%d-%H%M%S}_{git['commit'][:7]}"
    )
    prefix.with_suffix(".json").write_text(json.dumps(report, indent=1))
    markdown = render(report)
    prefix.with_suffix(".md").write_text(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
