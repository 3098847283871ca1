"""The one error a stream can end with, whichever transport carried it."""

from __future__ import annotations


class TranscriptionError(Exception):
    """A stream ended by the server (or the connection) with an error.

    Attributes:
        code: gRPC status name, e.g. "INVALID_ARGUMENT". WebSocket closes are mapped to the
            same names (see `wire.WS_CLOSE_CODES`), so callers handle one vocabulary.
        message: the server's explanation.
        ws_close_code: the WebSocket close code, when the stream used WebSocket.
    """

    def __init__(self, code: str, message: str, *, ws_close_code: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.ws_close_code = ws_close_code
