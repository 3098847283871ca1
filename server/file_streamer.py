"""`stenograph stream FILE`: decode a recording client-side and stream it like a microphone."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal, TextIO

import av
import numpy as np
from stenograph.client import (
    GrpcTranscriptionClient,
    TranscriptionError,
    WebSocketTranscriptionClient,
    streaming_config,
)
from stenograph.client.stream import TranscriptionStream
from stenograph.client.wire import response_to_json
from stenograph.v1 import transcription_pb2 as pb

RATE = 16_000
CHUNK_S = 0.1


def decode_file(path: Path) -> bytes:
    """Any common audio file (WAV, FLAC, MP3, M4A, OGG…) as 16 kHz mono LINEAR16."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    parts: list[np.ndarray] = []
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError(f"no audio stream (format {container.format.name})")
        for frame in container.decode(audio=0):
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(parts).astype("<i2").tobytes() if parts else b""


async def _send(stream: TranscriptionStream, pcm: bytes, realtime: bool) -> None:
    step = int(RATE * CHUNK_S) * 2
    started = time.monotonic()
    for i, offset in enumerate(range(0, len(pcm), step)):
        if realtime:
            await asyncio.sleep(max(0.0, started + i * CHUNK_S - time.monotonic()))
        await stream.send_audio(pcm[offset : offset + step])
    await stream.close_stream()


def _clock(d: pb.SpeechRecognitionResult) -> str:
    seconds = int(d.start.ToTimedelta().total_seconds())
    return f"[{seconds // 60:02d}:{seconds % 60:02d}]"


class CaptionPrinter:
    """Renders responses: JSON lines, a live terminal line, or one line per final."""

    def __init__(self, out: TextIO, mode: Literal["json", "tty", "lines"]) -> None:
        self._out = out
        self._mode = mode
        self._open_width = 0

    def show(self, response: pb.StreamingRecognizeResponse) -> None:
        if self._mode == "json":
            print(json.dumps(response_to_json(response)), file=self._out, flush=True)
            return
        if response.WhichOneof("response") != "result":
            return
        r = response.result
        name = r.participant.display_name or r.participant.id
        line = f"{_clock(r)} {name}: {r.text}"
        if self._mode == "tty":
            # Redraw the open partial in place; a final overwrites it and moves on.
            pad = " " * max(0, self._open_width - len(line))
            self._out.write("\r" + line + pad + ("\n" if r.is_final else ""))
            self._out.flush()
            self._open_width = 0 if r.is_final else len(line)
        elif r.is_final and r.text:
            print(line, file=self._out, flush=True)


async def stream_file(
    path: Path,
    *,
    meeting: str,
    participant: str,
    transport: Literal["grpc", "ws"],
    server: str | None,
    fast: bool,
    as_json: bool,
    out: TextIO = sys.stdout,
) -> int:
    """Stream `path`; returns the process exit code."""
    try:
        pcm = await asyncio.to_thread(decode_file, path)
    except (OSError, ValueError, av.FFmpegError) as e:
        print(f"error: cannot decode {path}: {e}", file=sys.stderr)
        return 2
    config = streaming_config(meeting_id=meeting, participant_id=participant, batch=fast)
    mode: Literal["json", "tty", "lines"] = (
        "json" if as_json else ("tty" if out.isatty() else "lines")
    )
    printer = CaptionPrinter(out, mode)
    client = (
        GrpcTranscriptionClient(server or "127.0.0.1:50051")
        if transport == "grpc"
        else WebSocketTranscriptionClient(server or "ws://127.0.0.1:8000")
    )
    try:
        async with client, await client.stream(config) as stream:
            sender = asyncio.create_task(_send(stream, pcm, realtime=not fast))
            try:
                responses: AsyncIterator[pb.StreamingRecognizeResponse] = aiter(stream)
                async for response in responses:
                    printer.show(response)
            finally:
                if not sender.done():
                    sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
    except TranscriptionError as e:
        print(f"error: {e.code}: {e.message}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: cannot reach the server: {e}", file=sys.stderr)
        return 1
    return 0
