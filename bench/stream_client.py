"""One client stream to a Stenograph node over gRPC or WebSocket, and a level of them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal

from concurrency_level import LevelResult, run_level_on
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
from stream_run import ResultRec, StreamOne, StreamRun, WordRec, paced

Transport = Literal["grpc", "ws"]


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


async def run_level(
    node: RunningNode,
    clips: Sequence[Clip],
    *,
    n: int,
    transport: Transport,
    chunk_s: float,
    tail_s: float,
    gap_s: float,
    keep_up_s: float,
    per_worker: int | None = None,
) -> LevelResult:
    """N workers streaming every clip (or their first `per_worker`) to a Stenograph node
    (worker k starts at clip k)."""
    streamer = stenograph_streamer(opener_for(transport, node), chunk_s=chunk_s, tail_s=tail_s)
    return await run_level_on(
        node.pid,
        streamer,
        clips,
        n=n,
        gap_s=gap_s,
        keep_up_s=keep_up_s,
        settings=node.settings,
        per_worker=per_worker,
    )
