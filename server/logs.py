"""Structured logs: JSON lines carrying the meeting, stream and participant of the record."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

_meeting: ContextVar[str | None] = ContextVar("meeting_id", default=None)
_stream: ContextVar[str | None] = ContextVar("stream_id", default=None)
_participant: ContextVar[str | None] = ContextVar("participant_id", default=None)


@contextlib.contextmanager
def stream_context(meeting_id: str, stream_id: str, participant_id: str) -> Iterator[None]:
    """Every record logged inside (in this task and tasks it starts) names the stream."""
    tokens = (
        _meeting.set(meeting_id),
        _stream.set(stream_id),
        _participant.set(participant_id),
    )
    try:
        yield
    finally:
        _participant.reset(tokens[2])
        _stream.reset(tokens[1])
        _meeting.reset(tokens[0])


class StreamContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for var in (_meeting, _stream, _participant):
            value = var.get()
            if value is not None and not hasattr(record, var.name):
                setattr(record, var.name, value)
        return True


def configure_logging(level: str, json_lines: bool) -> None:
    """Entry points only: one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(StreamContextFilter())
    if json_lines:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"levelname": "level", "asctime": "time", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka logs every reconnect attempt at ERROR; our publisher reports broker trouble.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # faster-whisper logs every call at INFO; a node makes several per second per stream.
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
