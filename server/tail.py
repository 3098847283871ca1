"""``stenograph tail``: follow the finals of the transcripts topic as readable lines."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, TextIO

from aiokafka import AIOKafkaConsumer
from google.protobuf import json_format
from stenograph.v1.events_pb2 import TranscriptEvent

log = logging.getLogger(__name__)

#: How often a fetch returns empty-handed, so that a set stop event is seen promptly.
_POLL_MS = 200


def format_final(event: TranscriptEvent, *, with_meeting: bool) -> str:
    """``[mm:ss] participant: text``, prefixed with the meeting id when asked.

    mm:ss is the offset into the participant's stream; minutes go past 59 for long meetings.
    """
    seconds = int(event.start.seconds)
    name = event.participant.display_name or event.participant.id or event.stream_id
    line = f"[{seconds // 60:02d}:{seconds % 60:02d}] {name}: {event.text}"
    return f"{event.meeting_id} {line}" if with_meeting else line


def parse_event(value: bytes | None) -> TranscriptEvent:
    """A TranscriptEvent from a record value in the proto JSON mapping."""
    if value is None:
        raise ValueError("record has no value")
    # Newer producers may add fields: skip them rather than stop tailing.
    return json_format.Parse(value, TranscriptEvent(), ignore_unknown_fields=True)


async def tail(
    bootstrap: str,
    topic: str,
    meeting_id: str | None,
    from_beginning: bool,
    out: TextIO,
    stop: asyncio.Event | None = None,
) -> None:
    """Write each final on ``topic`` (of ``meeting_id``, or of all meetings) to ``out``.

    Runs until ``stop`` is set (or forever, until cancelled). Reads without a consumer
    group, so tailing commits no offsets and never takes partitions from a real consumer.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        client_id=f"stenograph-tail-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while stop is None or not stop.is_set():
            batches = await _fetch(consumer, stop)
            for records in batches.values():
                for record in records:
                    _print_record(record, meeting_id, out)
            out.flush()
    finally:
        await consumer.stop()


async def _fetch(consumer: Any, stop: asyncio.Event | None) -> dict[Any, list[Any]]:
    """The next records, or nothing once ``stop`` is set."""
    fetch = asyncio.ensure_future(consumer.getmany(timeout_ms=_POLL_MS))
    if stop is None:
        result: dict[Any, list[Any]] = await fetch
        return result
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([fetch, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not fetch.done():
        fetch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fetch
        return {}
    result = fetch.result()
    return result


def _print_record(record: Any, meeting_id: str | None, out: TextIO) -> None:
    # The key is the meeting id: filter before paying for the JSON parse.
    if meeting_id is not None and record.key is not None and record.key != meeting_id.encode():
        return
    try:
        event = parse_event(record.value)
    except (ValueError, json_format.ParseError) as exc:
        log.warning(
            "skipping record %s[%d]@%d that is not a TranscriptEvent: %s",
            record.topic,
            record.partition,
            record.offset,
            exc,
        )
        return
    if not event.is_final or (meeting_id is not None and event.meeting_id != meeting_id):
        return
    out.write(format_final(event, with_meeting=meeting_id is None) + "\n")
