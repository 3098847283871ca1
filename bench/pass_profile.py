"""Where one Whisper pass's time goes, piece by piece, on this machine's CPU or a GPU.

    .venv/bin/python bench/pass_profile.py                            # CPU, bundled tiny.en
    python3 bench/pass_profile.py --clips clips.npz --model DIR --device cuda \\
        --compute-type float16 --threads 1 --threads 4 --threads 8      # a GPU (bench/gpu)

For each window length and batch size it times the pieces of `streaming.batch_pass`: mel
features, the encoder, the decoder (beam 5 as a final, greedy as a partial), the word
alignment, and the whole final pass. Then K threads run whole final passes of one window at
once, as the scheduler's workers share a device: whether K passes in flight finish K times
as many passes per second says whether the device or the host limits a node.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from engine_ladder import bench_clips  # noqa: E402
from report import git_info, gpu_query, machine_info  # noqa: E402
from speech_set import RATE, load_saved_clips  # noqa: E402

from streaming import load_whisper  # noqa: E402
from streaming.batch_pass import (  # noqa: E402
    PassRequest,
    add_word_times,
    decode_batch,
    encode,
    generate,
    window_features,
)
from streaming.recognizer import BUNDLED_MODEL, WhisperRecognizer  # noqa: E402

PIECES = ("features", "encode", "generate_beam5", "generate_greedy", "align", "final_pass")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clips", type=Path, help="clips saved by engine_ladder.py --save-clips")
    p.add_argument("--model", default=BUNDLED_MODEL)
    p.add_argument("--device", default="cpu")
    p.add_argument("--compute-type", default="int8")
    p.add_argument("--seconds", type=float, action="append", help="window lengths (3 10 20)")
    p.add_argument("--batch", type=int, action="append", help="batch sizes (1 8)")
    p.add_argument("--threads", type=int, action="append", help="passes in flight (1 2)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, help="write the JSON here too")
    p.add_argument("--commit", default="", help="the commit, where the tree has no .git")
    return p.parse_args(argv)


def speech(args: argparse.Namespace) -> np.ndarray:
    clips = load_saved_clips(args.clips) if args.clips else bench_clips()
    return np.concatenate([c.float32() for c in clips])


def windows(audio: np.ndarray, seconds: float, count: int) -> list[PassRequest]:
    """`count` different windows of speech (spread over the set), no prompt."""
    size = round(seconds * RATE)
    starts = np.linspace(0, audio.size - size, count + 2)[1:-1].astype(int)
    return [PassRequest(audio[s : s + size], ()) for s in starts]


def median_s(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: first calls allocate
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def profile_pieces(
    recognizer: WhisperRecognizer, requests: list[PassRequest], repeats: int
) -> dict[str, float]:
    model = recognizer.model
    tokenizer, suppressed = recognizer.tokenizer("en")
    features = window_features(model, requests, True)
    encoded = encode(model, features)

    def decoder(beam_size: int) -> list[Any]:
        return generate(
            model, tokenizer, requests, encoded, beam_size=beam_size, suppress_tokens=suppressed
        )

    results = decoder(5)

    def align() -> None:
        segments = [
            [{"seek": 0, "start": 0.0, "end": r.audio_s, "tokens": list(res.sequences_ids[0])}]
            for r, res in zip(requests, results, strict=True)
        ]
        add_word_times(model, tokenizer, requests, encoded, segments)

    calls: dict[str, Callable[[], object]] = {
        "features": lambda: window_features(model, requests, True),
        "encode": lambda: encode(model, features),
        "generate_beam5": lambda: decoder(5),
        "generate_greedy": lambda: decoder(1),
        "align": align,
        "final_pass": lambda: decode_batch(
            model, tokenizer, requests, beam_size=5, suppress_tokens=suppressed, final=True
        ),
    }
    return {name: round(median_s(calls[name], repeats), 4) for name in PIECES}


def passes_in_flight(
    recognizer: WhisperRecognizer, request: PassRequest, threads: int, seconds: float = 4.0
) -> dict[str, float]:
    """`threads` workers each running whole final passes of `request` for `seconds`."""
    tokenizer, suppressed = recognizer.tokenizer("en")
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < deadline:
            decode_batch(
                recognizer.model,
                tokenizer,
                [request],
                beam_size=5,
                suppress_tokens=suppressed,
                final=True,
            )
            done[i] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    return {
        "threads": threads,
        "passes_per_s": round(sum(done) / wall, 2),
        "mean_pass_s": round(threads * wall / max(sum(done), 1), 4),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    threads = args.threads or [1, 2]
    recognizer = load_whisper(
        args.model,
        device=args.device,
        compute_type=args.compute_type,
        workers=max(threads),
        cpu_threads=1,
    )
    audio = speech(args)
    pieces = []
    for seconds in args.seconds or [3.0, 10.0, 20.0]:
        for batch in args.batch or [1, 8]:
            timing = profile_pieces(recognizer, windows(audio, seconds, batch), args.repeats)
            pieces.append({"seconds": seconds, "batch": batch, **timing})
            print(json.dumps(pieces[-1]), file=sys.stderr, flush=True)
    one = windows(audio, 10.0, 1)[0]
    in_flight = [passes_in_flight(recognizer, one, k) for k in threads]
    report = {
        "machine": machine_info(),
        "git": {"commit": args.commit} if args.commit else git_info(),
        "gpu": gpu_query("name,memory.total,driver_version"),
        "engine": {"device": args.device, "compute_type": args.compute_type, "cpu_threads": 1},
        "pieces_s": pieces,
        "final_passes_in_flight_10s": in_flight,
    }
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    print(render(report))
    return 0


def render(report: dict[str, Any]) -> str:
    m, e = report["machine"], report["engine"]
    lines = [
        f"# One pass, piece by piece — {e['device']} ({e['compute_type']}), 1 CPU thread a call",
        "",
        f"- machine: {m['cpu_model']}, {m['nproc']} CPUs"
        + (f"; GPU {', '.join(report['gpu'])}" if report["gpu"] else ""),
        f"- commit: `{report['git'].get('commit', '')[:7]}`",
        "",
        "| window s | batch | " + " | ".join(f"{p} ms" for p in PIECES) + " |",
        "|---|---|" + "---|" * len(PIECES),
    ]
    for row in report["pieces_s"]:
        cells = " | ".join(f"{1000 * row[p]:.1f}" for p in PIECES)
        lines.append(f"| {row['seconds']:g} | {row['batch']} | {cells} |")
    lines += ["", "| final passes in flight (10 s, batch 1) | passes / s | mean pass s |"]
    lines.append("|---|---|---|")
    for row in report["final_passes_in_flight_10s"]:
        lines.append(f"| {row['threads']} | {row['passes_per_s']} | {row['mean_pass_s']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
