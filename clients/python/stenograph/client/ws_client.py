"""Asyncio client for `GET /v1/stream` (WebSocket); yields the same messages as gRPC."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from types import TracebackType
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from stenograph.client.errors import TranscriptionError
from stenograph.client.stream import TranscriptionStream
from stenograph.client.wire import (
    STATUS_BY_WS_CLOSE,
    config_to_query,
    control_to_json,
    response_from_json,
)
from stenograph.v1 import transcription_pb2 as pb

DEFAULT_URL = "ws://127.0.0.1:8000"


def _closed_error(e: ConnectionClosed, last_error: pb.StreamError | None) -> TranscriptionError:
    close = e.rcvd
    code = close.code if close is not None else 1006
    reason = close.reason if close is not None else "connection lost without a close frame"
    status = STATUS_BY_WS_CLOSE.get(code, "UNAVAILABLE" if code == 1006 else "UNKNOWN")
    message = last_error.message if last_error is not None else reason
    return TranscriptionError(status, message, ws_close_code=code)


class WebSocketTranscriptionStream(TranscriptionStream):
    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._last_error: pb.StreamError | None = None

    async def _send(self, frame: bytes | str) -> None:
        # If the server ended the stream, the reason surfaces when responses are read.
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(frame)

    async def send_audio(self, chunk: bytes) -> None:
        await self._send(chunk)

    async def send_control(self, command: pb.Control.Command) -> None:
        await self._send(json.dumps(control_to_json(command)))

    async def _responses(self) -> AsyncIterator[pb.StreamingRecognizeResponse]:
        while True:
            try:
                frame = await self._ws.recv()
            except ConnectionClosed as e:
                if e.rcvd is not None and e.rcvd.code == 1000:
                    return
                raise _closed_error(e, self._last_error) from e
            if isinstance(frame, bytes):
                raise TranscriptionError("INTERNAL", "server sent a binary frame")
            response = response_from_json(json.loads(frame))
            if response.WhichOneof("response") == "error":
                self._last_error = response.error
            yield response

    def __aiter__(self) -> AsyncIterator[pb.StreamingRecognizeResponse]:
        return self._responses()

    async def aclose(self) -> None:
        # Abort rather than close politely: aclose() models a client that vanished.
        self._ws.transport.abort()


class WebSocketTranscriptionClient:
    """`async with WebSocketTranscriptionClient(url) as c: async with c.stream(cfg) as s: …`"""

    def __init__(self, url: str = DEFAULT_URL, *, headers: dict[str, str] | None = None) -> None:
        self._url = url.rstrip("/")
        self._headers = headers or {}

    async def __aenter__(self) -> WebSocketTranscriptionClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def stream(self, config: pb.StreamingConfig) -> WebSocketTranscriptionStream:
        """Open `/v1/stream` with `config` as query parameters."""
        url = f"{self._url}/v1/stream?{urlencode(config_to_query(config))}"
        ws = await connect(url, additional_headers=self._headers, max_size=2**22)
        return WebSocketTranscriptionStream(ws)
