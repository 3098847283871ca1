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
        self._first: pb.StreamingRecognizeResponse | None = None

    async def accepted(self) -> None:
        """Wait for the server's first message: Metadata when it takes the stream, else the
        status it refused it with (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, …).

        Audio is only sent after this. A write racing the server's refusal would fail, and
        grpcio's asyncio client then reports its own INTERNAL "Internal error from Core"
        instead of the server's status (grpc/grpc#36066).
        """
        response = await self._read()
        if response is None:
            raise TranscriptionError("UNKNOWN", "the server ended the stream without a word")
        self._first = response

    async def _read(self) -> pb.StreamingRecognizeResponse | None:
        try:
            response = await self._call.read()
        except grpc.aio.AioRpcError as e:
            raise TranscriptionError(e.code().name, e.details() or "") from e
        return None if response is grpc.aio.EOF else response

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
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while (response := await self._read()) is not None:
            yield response

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
        """Open a stream, send its configuration, and wait until the server accepts it.

        A refused stream (bad configuration, node full) raises `TranscriptionError` here.
        """
        if self._channel is None:
            raise RuntimeError("use the client as `async with GrpcTranscriptionClient(...)`")
        stub = pb_grpc.TranscriptionStub(self._channel)  # type: ignore[no-untyped-call]
        call = stub.StreamingRecognize(metadata=self._metadata)
        stream = GrpcTranscriptionStream(call)
        try:
            await stream._write(pb.StreamingRecognizeRequest(streaming_config=config))
            await stream.accepted()
        except BaseException:
            call.cancel()
            raise
        return stream
