"""One client stream: audio paced at real time, and a timeline of everything the node sent."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from node_process import RunningNode
from speech_set import RATE, Clip
from stenograph.client import (
    GrpcTranscriptionClient,
    TranscriptionError,
    WebSocketTranscriptionClient,
    streaming_config,
)
from stenograph.client.stream import TranscriptionStream
from stenograph.v1 import transcription_pb2 as pb

Transport = Literal["grpc", "ws"]


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


def _seconds(d: Any) -> float:
    return float(d.seconds) + float(d.nanos) / 1e9


def _result(r: pb.SpeechRecognitionResult, arrival: float) -> ResultRec:
    return ResultRec(
        arrival=arrival,
        seq=r.seq,
        segment_id=r.segment_id,
        is_final=r.is_final,
        speech_final=r.speech_final,
        stability=r.stability,
        text=r.text,
        start_s=_seconds(r.start),
        end_s=_seconds(r.end),
        words=tuple(WordRec(w.word, _seconds(w.start), _seconds(w.end)) for w in r.words),
    )


StreamOpener = Callable[[pb.StreamingConfig], contextlib.AbstractAsyncContextManager[Any]]


def opener_for(transport: Transport, node: RunningNode) -> StreamOpener:
    @contextlib.asynccontextmanager
    async def open_stream(config: pb.StreamingConfig) -> AsyncIterator[TranscriptionStream]:
        if transport == "grpc":
            grpc_client = GrpcTranscriptionClient(node.grpc_target)
            async with grpc_client, await grpc_client.stream(config) as stream:
                yield stream
        else:
            ws_client = WebSocketTranscriptionClient(node.ws_url)
            async with ws_client, await ws_client.stream(config) as stream:
                yield stream

    return open_stream


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


async def _send(stream: TranscriptionStream, run: StreamRun, pcm: bytes, t0: float) -> None:
    async for first, end in paced(run, len(pcm) // 2, t0):
        await stream.send_audio(pcm[2 * first : 2 * end])
    await stream.close_stream()


async def _receive(stream: TranscriptionStream, run: StreamRun) -> None:
    async for response in stream:
        now = time.monotonic()
        kind = response.WhichOneof("response")
        if kind == "result":
            run.results.append(_result(response.result, now))
        elif kind == "speech_started":
            run.speech_started.append((now, _seconds(response.speech_started.timestamp)))
        elif kind == "warning":
            run.warnings.append(f"{response.warning.code}: {response.warning.message}")
        elif kind == "summary":
            s = response.summary
            run.summary_at = now
            run.summary = {
                "audio_received_s": _seconds(s.audio_received),
                "audio_processed_s": _seconds(s.audio_processed),
                "segments": s.segments,
                "finals": s.finals,
            }


async def run_stream(
    opener: StreamOpener,
    clip: Clip,
    *,
    worker: int,
    start_at: float | None,
    chunk_s: float,
    tail_s: float,
    meeting: str,
) -> StreamRun:
    run = StreamRun(clip, worker, chunk_s, tail_s)
    config = streaming_config(
        meeting_id=meeting,
        participant_id=f"bench-{worker}",
        word_timestamps=True,
        interim_results=True,
    )
    pcm = clip.pcm + bytes(round(tail_s * RATE) * 2)
    try:
        async with asyncio.timeout(clip.duration_s + tail_s + 120.0), opener(config) as stream:
            t0 = time.monotonic() if start_at is None else max(start_at, time.monotonic())
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_receive(stream, run))
                await _send(stream, run, pcm, t0)
    except* TranscriptionError as group:
        run.error = "; ".join(str(e) for e in group.exceptions)
    except* (TimeoutError, OSError) as group:
        run.error = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
    if run.error is None and run.summary is None:
        run.error = "stream ended without a summary"
    return run


#: Streams one clip and returns what it saw: (clip, worker, start_at, meeting id) -> run.
StreamOne = Callable[[Clip, int, float | None, str], Awaitable[StreamRun]]


def stenograph_streamer(opener: StreamOpener, *, chunk_s: float, tail_s: float) -> StreamOne:
    async def stream_one(
        clip: Clip, worker: int, start_at: float | None, meeting: str
    ) -> StreamRun:
        return await run_stream(
            opener,
            clip,
            worker=worker,
            start_at=start_at,
            chunk_s=chunk_s,
            tail_s=tail_s,
            meeting=meeting,
        )

    return stream_one


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


async def warm_up(node: RunningNode, transport: Transport, clip: Clip) -> None:
    """One batch-mode stream so the first measured pass does not pay for lazy setup."""
    config = streaming_config(
        meeting_id="bench-warmup", participant_id="warmup", batch=True, word_timestamps=True
    )
    async with opener_for(transport, node)(config) as stream:
        step = RATE // 10 * 2
        for offset in range(0, len(clip.pcm), step):
            await stream.send_audio(clip.pcm[offset : offset + step])
        await stream.close_stream()
        async for _ in stream:
            pass
