"""Records of the transcripts and meetings topics as typed events, or why they are not.

A record that can never be processed raises `BadEvent`; the consumer sends it to the
dead-letter topic with the reason instead of stalling its partition.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from typing import Any

from google.protobuf import json_format
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


class StreamClock:
    """When each stream began (naive UTC), so captions are ordered as they were said.

    A caption's `start` is an offset into its stream; `stream_started_at` anchors it. For a
    producer that does not set it, the first caption seen of a stream anchors the rest: it
    was emitted (`emitted`: the event's own time, or its record's) about when its segment
    ended. Estimated once per stream, not per caption: a producer that writes a recorded
    meeting's captions in one burst would otherwise have them dated in reverse order of
    length. Without an estimate an untimed producer's captions were dated from the epoch:
    "by Friday" resolved from 1970, and a participant who joined late came first.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._estimated: OrderedDict[str, dt.datetime] = OrderedDict()

    def started(self, event: TranscriptEvent, emitted: dt.datetime) -> dt.datetime:
        if event.HasField("stream_started_at"):
            return event.stream_started_at.ToDatetime()
        key = f"{event.meeting_id}/{event.stream_id}"
        known = self._estimated.get(key)
        if known is None:
            known = self._estimated[key] = emitted - event.end.ToTimedelta()
            if len(self._estimated) > self._capacity:
                self._estimated.popitem(last=False)
        else:
            self._estimated.move_to_end(key)
        return known


def segment_of(event: TranscriptEvent, stream_started: dt.datetime) -> Segment:
    """The caption as a transcript segment, said at `stream_started` plus its offset."""
    start_s = event.start.ToTimedelta().total_seconds()
    return Segment(
        segment_id=event.segment_id,
        participant_id=event.participant.id or event.stream_id,
        display_name=event.participant.display_name or event.participant.id,
        start_s=start_s,
        end_s=event.end.ToTimedelta().total_seconds(),
        text=event.text,
        spoken_at=stream_started.replace(tzinfo=dt.UTC).timestamp() + start_s,
    )
