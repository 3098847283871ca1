"""Records of the transcripts and meetings topics as typed events, or why they are not.

A record that can never be processed raises `BadEvent`; the consumer sends it to the
dead-letter topic with the reason instead of stalling its partition.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from google.protobuf import json_format
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry.context import Context
from opentelemetry.propagate import extract
from stenograph.v1.events_pb2 import MeetingEvent, TranscriptEvent

from summariser.transcript import Segment


def trace_context(record: Any) -> Context:
    """The trace a record belongs to, from its W3C `traceparent` header (the caption's stream)."""
    carrier = {
        name: value.decode(errors="replace") for name, value in record.headers or () if value
    }
    return extract(carrier)


class BadEvent(ValueError):
    """An event that can never be processed; it goes to the dead-letter topic."""


def parse_transcript_event(value: bytes | None) -> TranscriptEvent:
    try:
        event = json_format.Parse(value or b"", TranscriptEvent(), ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError) as e:
        raise BadEvent(f"not a TranscriptEvent in its JSON mapping: {e}") from e
    if not event.meeting_id or not event.segment_id or not event.stream_id:
        raise BadEvent("meeting_id, stream_id and segment_id are required")
    if not event.is_final:
        raise BadEvent("only finals belong on the transcripts topic")
    return event


def parse_meeting_event(value: bytes | None) -> MeetingEvent:
    try:
        event = json_format.Parse(value or b"", MeetingEvent(), ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError) as e:
        raise BadEvent(f"not a MeetingEvent in its JSON mapping: {e}") from e
    if not event.meeting_id:
        raise BadEvent("meeting_id is required")
    if not event.stream_id and event.kind != MeetingEvent.KIND_NOTES_REQUESTED:
        raise BadEvent("stream_id is required")
    return event


def emitted_at(event: TranscriptEvent | MeetingEvent, record: Any) -> dt.datetime:
    """When the event was emitted (naive UTC): its own time, else its record's."""
    if event.HasField("emitted_at"):
        return event.emitted_at.ToDatetime()
    return dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC).replace(tzinfo=None)


def stream_started(event: TranscriptEvent) -> Timestamp:
    """When the caption's stream began (its emission time, from a node that does not say)."""
    return event.stream_started_at if event.HasField("stream_started_at") else event.emitted_at


def segment_of(event: TranscriptEvent) -> Segment:
    started = stream_started(event)
    start_s = event.start.ToTimedelta().total_seconds()
    return Segment(
        segment_id=event.segment_id,
        participant_id=event.participant.id or event.stream_id,
        display_name=event.participant.display_name or event.participant.id,
        start_s=start_s,
        end_s=event.end.ToTimedelta().total_seconds(),
        text=event.text,
        spoken_at=started.ToDatetime(dt.UTC).timestamp() + start_s,
    )


def day_of(event: TranscriptEvent, emitted: dt.datetime) -> dt.date:
    """The meeting's day, which spoken dates ("by Friday") resolve from: its stream's start,
    else when the caption was emitted (`emitted_at`: its own time, or its record's). An event
    from a producer that sets neither timestamp would otherwise date the meeting 1970-01-01."""
    if event.HasField("stream_started_at"):
        return event.stream_started_at.ToDatetime().date()
    return emitted.date()
