"""What both transports' streams offer: send audio and commands, iterate responses."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from types import TracebackType

from stenograph.v1 import transcription_pb2 as pb


class TranscriptionStream(abc.ABC):
    """One open StreamingRecognize call.

    Send audio with `send_audio`, steer with `finalize`/`keep_alive`/`close_stream`, and
    iterate the stream for `StreamingRecognizeResponse` messages. Iteration ends after the
    closing summary; an error ends it with `TranscriptionError`.
    """

    @abc.abstractmethod
    async def send_audio(self, chunk: bytes) -> None:
        """Send audio; waits while the server applies back-pressure."""

    @abc.abstractmethod
    async def send_control(self, command: pb.Control.Command) -> None: ...

    async def finalize(self) -> None:
        """Ask for the open utterance as a final result now."""
        await self.send_control(pb.Control.COMMAND_FINALIZE)

    async def keep_alive(self) -> None:
        await self.send_control(pb.Control.COMMAND_KEEP_ALIVE)

    async def close_stream(self) -> None:
        """Flush everything; the server sends the finals, a summary, then ends the stream."""
        await self.send_control(pb.Control.COMMAND_CLOSE_STREAM)

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[pb.StreamingRecognizeResponse]: ...

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Drop the connection without a CloseStream (as a vanished client would)."""

    async def __aenter__(self) -> TranscriptionStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
