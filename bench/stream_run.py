"""What one benchmark stream saw, whatever it streamed to: records, real-time pacing, workers.

Kept free of any client or server import so that the in-process engine ladder
(`engine_ladder.py`) runs where only the engine is installed (a GPU machine).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from speech_set import RATE, Clip


@dataclass(frozen=True, slots=True)
class WordRec:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class ResultRec:
    arrival: float  # time.monotonic() when the client got it
    seq: int
    segment_id: str
    is_final: bool
    speech_final: bool
    stability: float
    text: str
    start_s: float
    end_s: float
    words: tuple[WordRec, ...]


@dataclass(slots=True)
class StreamRun:
    clip: Clip
    worker: int
    chunk_s: float
    tail_s: float
    results: list[ResultRec] = field(default_factory=list)
    scheduled_at: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    speech_started: list[tuple[float, float]] = field(default_factory=list)  # (arrival, at_s)
    warnings: list[str] = field(default_factory=list)
    close_sent_at: float | None = None
    summary_at: float | None = None
    summary: dict[str, float] | None = None
    error: str | None = None
    audio_sent_s: float = 0.0

    def send_time(self, offset_s: float) -> float:
        """Wall time at which the chunk completing the audio up to `offset_s` was sent."""
        index = math.ceil(offset_s / self.chunk_s - 1e-9) - 1
        return self.sent_at[min(max(index, 0), len(self.sent_at) - 1)]

    @property
    def finals(self) -> list[ResultRec]:
        return [r for r in self.results if r.is_final]

    @property
    def final_text(self) -> str:
        return " ".join(r.text for r in self.finals if r.text)


async def paced(run: StreamRun, samples: int, t0: float) -> AsyncIterator[tuple[int, int]]:
    """(first, end) sample of chunk i (audio [i·c, (i+1)·c)) at t0 + (i+1)·c, as a microphone
    delivers it; records when each was due and sent. Chunks go out on schedule even if
    results lag; only back-pressure from the server can delay them."""
    step = round(RATE * run.chunk_s)
    for i, first in enumerate(range(0, samples, step)):
        due = t0 + (i + 1) * run.chunk_s
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        run.scheduled_at.append(due)
        run.sent_at.append(time.monotonic())
        end = min(first + step, samples)
        yield first, end
        run.audio_sent_s += (end - first) / RATE
    run.close_sent_at = time.monotonic()


#: Streams one clip and returns what it saw: (clip, worker, start_at, meeting id) -> run.
StreamOne = Callable[[Clip, int, float | None, str], Awaitable[StreamRun]]


async def run_worker(
    stream_one: StreamOne,
    clips: Sequence[Clip],
    *,
    worker: int,
    shared_start: float,
    gap_s: float,
) -> list[StreamRun]:
    """Stream `clips` one after another (one stream each), the first from `shared_start`."""
    runs = []
    for i, clip in enumerate(clips):
        if i:
            await asyncio.sleep(gap_s)
        start_at = shared_start if i == 0 else None
        runs.append(await stream_one(clip, worker, start_at, f"bench-{worker}-{i}"))
    return runs
