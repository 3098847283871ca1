"""Live WER in about a minute: each file through a `TranscriptionSession`, in stream time.

    .venv/bin/python bench/live_wer.py --set meetings --set meetings-b --set meetings-c
    .venv/bin/python bench/live_wer.py --set speech --offline

The session gets 100 ms of audio at a time, and the next only once the previous has been
through voice detection and every pass it started has finished: the passes hear exactly what
they would on a node with time to spare, without waiting for real time. That makes it a quick
check of what a change does to accuracy (a set of eight meetings in ~70 s on 2 cores, against
~7 min streamed at real time); latency and capacity still need `engine_ladder.py` or
`ladder_bench.py`. `--offline` also decodes each file whole with faster-whisper (beam 5),
shows per file where the live text differs from offline's ("offline -> live"), and ends with
live minus offline over every set run, with its 95 % interval (`wer_interval.py`).

    .venv/bin/python bench/live_wer.py --set meetings --set speech --offline --dither 3

`--dither K` decodes every file K times both ways: as it is, then with K - 1 seeded noises of
one least significant bit added (`speech_set.dithered`). It shows how far each system's WER
moves on a change that is no change, and the interval then compares the means. `--lead S`
(repeatable) adds a decode of the files with S s of silence first: where a recording starts
decides where offline's 30 s windows fall, which moves offline's WER by more than the noise.
The pooled difference is then given again for the recordings of people and for the espeak-ng
speech (the scripted meetings and the stand-up) apart.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import difflib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402

import numpy as np  # noqa: E402
from engine_ladder import CLIP_SETS, bench_clips  # noqa: E402
from offline_baseline import load_offline_model, run_offline  # noqa: E402
from report import git_info  # noqa: E402
from scoring import WerScore, normalise, score_wer  # noqa: E402
from speech_set import RATE, Clip, perturbed  # noqa: E402
from wer_interval import wer_delta  # noqa: E402

from streaming import (  # noqa: E402
    InferenceScheduler,
    SegmentUpdate,
    SessionOptions,
    SileroVoiceDetector,
    TranscriptionSession,
    load_whisper,
)
from streaming.recognizer import BUNDLED_MODEL, resolve_model  # noqa: E402

CHUNK = round(0.1 * RATE)
TAIL_S = 1.5


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--set", action="append", choices=CLIP_SETS, help="repeatable (meetings)")
    p.add_argument("--offline", action="store_true", help="offline faster-whisper, beam 5, too")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--dither", type=int, default=1, metavar="K", help="decode each file K times (1)"
    )
    p.add_argument(
        "--lead",
        type=float,
        action="append",
        default=[],
        metavar="S",
        help="repeatable: one more decode of the files with S s of silence first",
    )
    p.add_argument("--out", type=Path, help="write texts and WERs as JSON here")
    return p.parse_args(argv)


async def settled(session: TranscriptionSession, scheduler: InferenceScheduler) -> None:
    """Until the session has heard all it was sent and no pass is queued or running."""
    while True:
        await asyncio.sleep(0.001)
        if session.audio_processed_s >= session.audio_received_s and scheduler.idle:
            await asyncio.sleep(0.001)  # a pass's result may start the next one
            if scheduler.idle:
                return


async def transcribe(clip: Clip, scheduler: InferenceScheduler, vad: SileroVoiceDetector) -> str:
    session = TranscriptionSession(scheduler, vad, SessionOptions(stream_id=clip.name))
    pcm = np.concatenate([clip.float32(), np.zeros(round(TAIL_S * RATE), np.float32)])
    finals: list[str] = []

    async def receive() -> None:
        async for event in session.events():
            if isinstance(event, SegmentUpdate) and event.is_final:
                finals.append(event.text)

    async def send() -> None:
        for start in range(0, pcm.size, CHUNK):
            await session.push_audio(pcm[start : start + CHUNK])
            await settled(session, scheduler)
        await session.close()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(session.run())
        tg.create_task(receive())
        await send()
    return " ".join(finals)


def differences(offline: str, live: str) -> list[str]:
    """Where the live text differs from offline's, scored words only: "offline -> live"."""
    a, b = normalise(offline).split(), normalise(live).split()
    return [
        f"{' '.join(a[i1:i2]) or '-'} -> {' '.join(b[j1:j2]) or '-'}"
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
        if tag != "equal"
    ]


async def live_texts(clips: Sequence[Clip], workers: int) -> dict[str, str]:
    recognizer = load_whisper(
        BUNDLED_MODEL, device="cpu", compute_type="int8", workers=workers, cpu_threads=1
    )
    scheduler = InferenceScheduler(recognizer, workers=workers)
    try:
        return {c.name: await transcribe(c, scheduler, SileroVoiceDetector()) for c in clips}
    finally:
        scheduler.close()


def errors(score: WerScore) -> int:
    return score.substitutions + score.deletions + score.insertions


def describe(label: str, clips: Sequence[Clip], decodes: Sequence[dict[str, str]]) -> str:
    """A WER line: errors by kind, or each decode's error count when there are several."""
    scores = [score_wer([c.reference for c in clips], [d[c.name] for c in clips]) for d in decodes]
    first = scores[0]
    if len(scores) == 1:
        return (
            f"{label} WER {100 * first.wer:.1f} % ({first.substitutions} S, {first.deletions} D, "
            f"{first.insertions} I of {first.ref_words} words)"
        )
    mean = sum(s.wer for s in scores) / len(scores)
    each = " / ".join(str(errors(s)) for s in scores)
    return f"{label} WER {100 * mean:.1f} % (errors {each} of {first.ref_words} words)"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict[str, object] = {
        "git": git_info(),
        "dither": args.dither,
        "leads_s": args.lead,
        "sets": {},
    }
    offline_model = (
        load_offline_model(args.workers, model_path=resolve_model("bundled")[0])
        if args.offline
        else None
    )
    pooled: list[tuple[Clip, list[str], list[str]]] = []
    for clip_set in args.set or ["meetings"]:
        clips = bench_clips(clip_set)
        variants = [clips, *perturbed(clips, args.dither, args.lead)]
        started = time.perf_counter()
        live = [asyncio.run(live_texts(v, args.workers)) for v in variants]
        line = f"{clip_set}: {describe('live', clips, live)}, {time.perf_counter() - started:.0f} s"
        entry: dict[str, object] = {
            "live_wer": score_wer(
                [c.reference for c in clips], [live[0][c.name] for c in clips]
            ).wer,
            "live": live[0],
            "live_decodes": live,
        }
        offline: list[dict[str, str]] = []
        if offline_model is not None:
            # `perturbed` as in `variants`: both systems hear the same audio, decode by decode.
            (run,) = run_offline(
                clips,
                [5],
                args.workers,
                model=offline_model,
                decodes=args.dither,
                leads_s=args.lead,
            )
            offline = list(run.decodes)
            entry |= {
                "offline_wer": score_wer(
                    [c.reference for c in clips], [offline[0][c.name] for c in clips]
                ).wer,
                "offline": offline[0],
                "offline_decodes": offline,
            }
            line += f"; offline beam 5 {describe('', clips, offline).strip()}"
            pooled += [(c, [d[c.name] for d in live], [d[c.name] for d in offline]) for c in clips]
        print(line, flush=True)
        for c in clips:
            one = score_wer([c.reference] * len(live), [d[c.name] for d in live]).wer
            print(f"  {c.name:30s} {100 * one:5.1f} %", flush=True)
            if offline:
                for change in differences(offline[0][c.name], live[0][c.name]):
                    print(f"      {change}", flush=True)
        report["sets"][clip_set] = entry  # type: ignore[index]
    if pooled:
        report["pooled"] = summarise_pooled(pooled)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return 0


def summarise_pooled(pooled: Sequence[tuple[Clip, list[str], list[str]]]) -> dict[str, object]:
    """Live against offline over every file run, then over the recordings of people and the
    espeak-ng speech apart: WER of each decode, and the difference."""
    summary = pooled_difference("all sets", pooled)
    kinds = {"recorded": [p for p in pooled if not p[0].synthetic]}
    kinds["synthetic"] = [p for p in pooled if p[0].synthetic]
    if all(kinds.values()):
        summary["by_kind"] = {kind: pooled_difference(kind, rows) for kind, rows in kinds.items()}
    return summary


def pooled_difference(
    label: str, pooled: Sequence[tuple[Clip, list[str], list[str]]]
) -> dict[str, object]:
    refs = [c.reference for c, _, _ in pooled]
    decodes = len(pooled[0][1])
    live = [score_wer(refs, [t[k] for _, t, _ in pooled]) for k in range(decodes)]
    offline = [score_wer(refs, [t[k] for _, _, t in pooled]) for k in range(decodes)]
    delta = wer_delta(refs, [t for _, t, _ in pooled], [t for _, _, t in pooled])
    words = live[0].ref_words
    print(
        f"{label} ({words} words, {delta.sentences} sentences): live errors "
        f"{' / '.join(str(errors(s)) for s in live)}, offline "
        f"{' / '.join(str(errors(s)) for s in offline)}; live minus offline "
        f"{delta.points:+.2f} points (95 % interval {delta.low:+.2f} to {delta.high:+.2f})",
        flush=True,
    )
    return {
        "ref_words": words,
        "live_errors": [errors(s) for s in live],
        "offline_errors": [errors(s) for s in offline],
        "delta_pts": delta.points,
        "delta_pts_ci95": [delta.low, delta.high],
        "sentences": delta.sentences,
    }


if __name__ == "__main__":
    raise SystemExit(main())
