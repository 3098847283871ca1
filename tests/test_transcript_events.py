"""How the summariser reads the time an event was emitted, which decides whether it belongs
to a meeting deleted since (docs/notes.md)."""

from __future__ import annotations

import datetime as dt

from aiokafka.structs import ConsumerRecord
from stenograph.v1.events_pb2 import MeetingEvent, TranscriptEvent

from server.transcript_publisher import encode_event
from summariser.events import emitted_at, parse_meeting_event, parse_transcript_event

APPENDED_AT = dt.datetime(2026, 11, 26, 21, 0, 5)


def record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    millis = round(APPENDED_AT.replace(tzinfo=dt.UTC).timestamp() * 1000)
    return ConsumerRecord("t", 0, 7, millis, 0, b"m", value, None, 1, len(value), [])


def test_an_event_is_dated_by_the_node_that_emitted_it() -> None:
    event = TranscriptEvent(meeting_id="m", stream_id="s", segment_id="1", is_final=True)
    event.emitted_at.FromDatetime(dt.datetime(2026, 11, 26, 21, 0, 1))
    read = record(encode_event(event))
    parsed = parse_transcript_event(read.value)
    assert emitted_at(parsed, read) == dt.datetime(2026, 11, 26, 21, 0, 1)


def test_an_event_from_a_producer_that_does_not_date_it_takes_its_record_time() -> None:
    event = MeetingEvent(meeting_id="m", stream_id="s", kind=MeetingEvent.KIND_STREAM_ENDED)
    read = record(encode_event(event))
    assert emitted_at(parse_meeting_event(read.value), read) == APPENDED_AT
