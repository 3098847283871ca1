"""Asyncio client for `stenograph.v1.Transcription` over gRPC."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType

import grpc

from stenograph.client.errors import TranscriptionError
from stenograph.client.stream import TranscriptionStream
from stenograph.v1 import transcription_pb2 as pb
from stenograph.v1 import transcription_pb2_grpc as pb_grpc

DEFAULT_TARGET = "127.0.0.1:50051"


class GrpcTranscriptionStream(TranscriptionStream):
    def __init__(self, call: grpc.aio.StreamStreamCall) -> None:
        self._call = call
        self._writes_done = False

    async def _write(self, request: pb.StreamingRecognizeRequest) -> None:
        if self._call.done():
            # The server ended the call; writing now could only replace its status with the
            # client core's own INTERNAL. The status surfaces when the responses are read.
            return
        try:
            await self._call.write(request)
        except grpc.aio.AioRpcError as e:
            raise TranscriptionError(e.code().name, e.details() or "") from e
        except (grpc.aio.UsageError, asyncio.InvalidStateError):
            # The call already ended; its status surfaces when the responses are read.
            pass

    async def send_audio(self, chunk: bytes) -> None:
        await self._write(pb.StreamingRecognizeRequest(audio_content=chunk))

    async def send_control(self, command: pb.Control.Command) -> None:
        await self._write(pb.StreamingRecognizeRequest(control=pb.Control(command=command)))
        if command == pb.Control.COMMAND_CLOSE_STREAM and not self._writes_done:
            self._writes_done = True
            with contextlib.suppress(grpc.aio.UsageError):
                await self._call.done_writing()

    async def _responses(self) -> AsyncIterator[pb.StreamingRecognizeResponse]:
        try:
            async for response in self._call:
                yield response
        except grpc.aio.AioRpcError as e:
            raise TranscriptionError(e.code().name, e.details() or "") from e

    def __aiter__(self) -> AsyncIterator[pb.StreamingRecognizeResponse]:
        return self._responses()

    async def aclose(self) -> None:
        self._call.cancel()


class GrpcTranscriptionClient:
    """`async with GrpcTranscriptionClient(target) as c: async with c.stream(cfg) as s: …`"""

    def __init__(self, target: str = DEFAULT_TARGET, *, metadata: tuple[tuple[str, str], ...] = ()):
        self._target = target
        self._metadata = metadata
        self._channel: grpc.aio.Channel | None = None

    async def __aenter__(self) -> GrpcTranscriptionClient:
        self._channel = grpc.aio.insecure_channel(self._target)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._channel is not None:
            await self._channel.close()

    async def stream(self, config: pb.StreamingConfig) -> GrpcTranscriptionStream:
        """Open a stream and send its configuration."""
        if self._channel is None:
            raise RuntimeError("use the client as `async with GrpcTranscriptionClient(...)`")
        stub = pb_grpc.TranscriptionStub(self._channel)  # type: ignore[no-untyped-call]
        call = stub.StreamingRecognize(metadata=self._metadata)
        stream = GrpcTranscriptionStream(call)
        await stream._write(pb.StreamingRecognizeRequest(streaming_config=config))
        return stream
