"""Live WER in about a minute: each file through a `TranscriptionSession`, in stream time.

    .venv/bin/python bench/live_wer.py --set meetings --set meetings-b --set meetings-c
    .venv/bin/python bench/live_wer.py --set speech --offline

The session gets 100 ms of audio at a time, and the next only once the previous has been
through voice detection and every pass it started has finished: the passes hear exactly what
they would on a node with time to spare, without waiting for real time. That makes it a quick
check of what a change does to accuracy (a set of eight meetings in ~70 s on 2 cores, against
~7 min streamed at real time); latency and capacity still need `engine_ladder.py` or
`ladder_bench.py`. `--offline` also decodes each file whole with faster-whisper (beam 5),
and shows per file where the live text differs from offline's ("offline -> live").
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
from offline_baseline import run_offline  # noqa: E402
from report import git_info  # noqa: E402
from scoring import normalise, score_wer  # noqa: E402
from speech_set import RATE, Clip  # noqa: E402

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


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict[str, object] = {"git": git_info(), "sets": {}}
    for clip_set in args.set or ["meetings"]:
        clips = bench_clips(clip_set)
        started = time.perf_counter()
        texts = asyncio.run(live_texts(clips, args.workers))
        live = score_wer([c.reference for c in clips], [texts[c.name] for c in clips])
        line = (
            f"{clip_set}: live WER {100 * live.wer:.1f} % ({live.substitutions} S, "
            f"{live.deletions} D, {live.insertions} I of {live.ref_words} words, "
            f"{time.perf_counter() - started:.0f} s)"
        )
        entry: dict[str, object] = {"live_wer": live.wer, "live": texts}
        offline_texts: dict[str, str] = {}
        if args.offline:
            (offline,) = run_offline(
                clips, [5], args.workers, model_path=resolve_model("bundled")[0]
            )
            offline_texts = offline.texts
            entry |= {"offline_wer": offline.wer(clips), "offline": offline_texts}
            line += f"; offline beam 5 {100 * offline.wer(clips):.1f} %"
        print(line, flush=True)
        for c in clips:
            one = score_wer([c.reference], [texts[c.name]]).wer
            print(f"  {c.name:30s} {100 * one:5.1f} %", flush=True)
            if c.name in offline_texts:
                for change in differences(offline_texts[c.name], texts[c.name]):
                    print(f"      {change}", flush=True)
        report["sets"][clip_set] = entry  # type: ignore[index]
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
