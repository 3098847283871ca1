"""A live stream's inbox: the audio and commands waiting for its session, bounded, and how far
the session runs behind what it was sent."""

from __future__ import annotations

import asyncio
from enum import Enum

from streaming.audio import SAMPLE_RATE, Pcm

#: Audio is queued in pieces of at most this length, whatever the size of the decoded chunk
#: (a large PCM frame, or a whole Opus recording decoded at once): a piece spanning an
#: utterance end and the next onset would leak the next words into the previous final, and
#: one longer than the window could not be appended at all.
MAX_CHUNK_S = 0.1


class Command(Enum):
    FINALIZE = "finalize"
    CLOSE = "close"


class StreamInbox:
    """Pieces of audio and commands in arrival order; `put_audio` waits while it is full, which
    is the transport's back-pressure."""

    def __init__(self, max_pieces: int) -> None:
        self._queue: asyncio.Queue[Pcm | Command] = asyncio.Queue(max_pieces)
        self._received_samples = 0
        self._processed_samples = 0

    async def put_audio(self, pcm: Pcm) -> None:
        if pcm.size:
            self._received_samples += pcm.size
            step = round(MAX_CHUNK_S * SAMPLE_RATE)
            for start in range(0, pcm.size, step):
                await self._queue.put(pcm[start : start + step])

    async def put_command(self, command: Command) -> None:
        await self._queue.put(command)

    async def get(self) -> Pcm | Command:
        return await self._queue.get()

    def get_nowait(self) -> Pcm | Command:
        return self._queue.get_nowait()

    def empty(self) -> bool:
        return self._queue.empty()

    def processed(self, pcm: Pcm) -> None:
        """`pcm`, taken from the inbox, went through voice detection."""
        self._processed_samples += pcm.size

    @property
    def received_s(self) -> float:
        return self._received_samples / SAMPLE_RATE

    @property
    def processed_s(self) -> float:
        return self._processed_samples / SAMPLE_RATE

    @property
    def backlog_s(self) -> float:
        """Audio received and not yet through voice detection: how far this stream's
        captions run behind what was said, before any pass."""
        return max(0.0, self.received_s - self.processed_s)
