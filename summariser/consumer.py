"""The summariser: a Kafka consumer group that turns transcript events into stored notes.

Members of the `stenograph-summariser` group share meetings by partition (the key is the
meeting id, so all of a meeting's events share a partition of each topic). A batch is
processed completely — segments stored, stream ends recorded, any notes it makes due written
and published — before its offsets are committed, so a crash or a rebalance replays it to
whoever owns the partition next, and replay changes nothing: segments are keyed by meeting
and segment id, notes by meeting, kind and version (the offset of the last event covered).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from opentelemetry import trace
from opentelemetry.context import Context
from prometheus_client import Counter
from stenograph.v1 import notes_pb2 as npb
from stenograph.v1.events_pb2 import MeetingEvent

from server.settings import Settings
from server.transcript_publisher import encode_event, record_headers
from summariser.events import (
    BadEvent,
    StreamClock,
    emitted_at,
    parse_meeting_event,
    parse_transcript_event,
    segment_of,
    trace_context,
)
from summariser.notes_backends import NotesBackends
from summariser.offline_notes import OfflineNotesWriter, kind_name
from summariser.store import NotesSaved, NotesStore, utcnow
from summariser.transcript import StoredFinal

log = logging.getLogger(__name__)

NOTES_WRITTEN: Final = Counter(
    "stenograph_notes_written", "Notes versions stored and published.", ["kind", "backend"]
)
DEAD_LETTERS: Final = Counter(
    "stenograph_transcript_dead_letters", "Events sent to the dead-letter topic.", ["topic"]
)


#: Pause before a failed batch is read again.
RETRY_PAUSE_S = 2.0


#: A notes span links to at most this many of the captions that fed it (besides its parent).
MAX_TRACE_LINKS = 32
tracer = trace.get_tracer("stenograph.summariser")


@dataclass
class _Meeting:
    writer: OfflineNotesWriter
    last_offset: int = -1
    #: The last notes written: Claude is asked to keep their items' ids.
    previous_notes: npb.MeetingNotes | None = None
    speech_since_rolling_s: float = 0.0
    last_event: float = field(default_factory=time.monotonic)
    #: When it was rebuilt from the store (naive UTC): a deletion after that makes it stale.
    loaded_at: dt.datetime = field(default_factory=utcnow)


class Summariser:
    """Consume, store, write notes, publish; `start()`, then `run()` until `stop()`."""

    def __init__(self, settings: Settings, bootstrap_servers: str, store: NotesStore) -> None:
        self._settings = settings
        self._bootstrap = bootstrap_servers
        self._store = store
        self._backends = NotesBackends.from_settings(settings)
        self._meetings: dict[str, _Meeting] = {}
        self._stream_clock = StreamClock()
        self._consumer: Any = None
        self._producer: Any = None
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        s = self._settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=f"{s.kafka_client_id}-summariser",
            acks="all",
            enable_idempotence=s.kafka_idempotence,
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=s.summariser_group,
            client_id=f"{s.kafka_client_id}-summariser",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self._consumer.subscribe(
            [s.transcripts_topic, s.meetings_topic], listener=_ForgetOnRebalance(self._meetings)
        )
        await self._consumer.start()

    async def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()
        await self._backends.close()

    async def run(self) -> None:
        """Process batches until stopped; offsets are committed after each batch is done."""
        while not self._stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=500)
            for tp, records in batches.items():
                try:
                    await self._process(tp.topic, records)
                except Exception:
                    # The store or the broker failed: read the batch again after a pause,
                    # uncommitted (processing it twice changes nothing).
                    log.exception("summariser batch failed; retrying", extra={"topic": tp.topic})
                    self._meetings.clear()
                    self._consumer.seek(tp, records[0].offset)
                    await asyncio.sleep(RETRY_PAUSE_S)
                    continue
                await self._consumer.commit({tp: records[-1].offset + 1})
            try:
                await self._finish_idle_meetings()
            except Exception:  # the store is down: the next round tries again
                log.exception("finishing idle meetings failed")

    async def _process(self, topic: str, records: list[Any]) -> None:
        s = self._settings
        if topic == s.transcripts_topic:
            await self._on_transcripts(records)
        elif topic == s.meetings_topic:
            for record in records:
                try:
                    event = parse_meeting_event(record.value)
                except BadEvent as e:
                    await self._dead_letter(record, str(e))
                    continue
                with tracer.start_as_current_span(
                    "stenograph.meeting_event",
                    context=trace_context(record),
                    attributes={"stenograph.meeting_id": event.meeting_id},
                ):
                    await self._on_meeting_event(event, emitted_at(event, record))

    async def _on_transcripts(self, records: Iterable[Any]) -> None:
        #: Each final with when its stream began (the day spoken dates resolve from).
        by_meeting: dict[str, list[tuple[StoredFinal, dt.datetime]]] = {}
        traces: dict[str, list[Context]] = {}
        for record in records:
            try:
                event = parse_transcript_event(record.value)
            except BadEvent as e:
                await self._dead_letter(record, str(e))
                continue
            emitted = emitted_at(event, record)
            started = self._stream_clock.started(event, emitted)
            final = StoredFinal(segment_of(event, started), event.stream_id, record.offset, emitted)
            by_meeting.setdefault(event.meeting_id, []).append((final, started))
            traces.setdefault(event.meeting_id, []).append(trace_context(record))
        for meeting_id, rows in by_meeting.items():
            # The trace goes on from the stream that sent the newest caption (the notes record
            # carries it on), linked to the streams of the other captions in the batch.
            *others, newest = traces[meeting_id]
            links = [
                trace.Link(span_context)
                for context in others[-MAX_TRACE_LINKS:]
                if (span_context := trace.get_current_span(context).get_span_context()).is_valid
            ]
            with tracer.start_as_current_span(
                "stenograph.summarise",
                context=newest,
                links=links,
                attributes={"stenograph.meeting_id": meeting_id, "stenograph.finals": len(rows)},
            ):
                await self._on_meeting_finals(meeting_id, rows)

    async def _on_meeting_finals(
        self, meeting_id: str, rows: list[tuple[StoredFinal, dt.datetime]]
    ) -> None:
        stored = await self._store.add_segments(meeting_id, [final for final, _ in rows])
        if not stored:  # emitted before the meeting was deleted
            self._meetings.pop(meeting_id, None)
            return
        # Spoken dates ("by Friday") resolve from the day the meeting's stream began.
        _, began = rows[0]
        meeting = await self._meeting(meeting_id, began.date())
        new = [f.segment for f in stored]
        meeting.writer.add(new)
        meeting.last_offset = max(meeting.last_offset, stored[-1].event_offset)
        meeting.speech_since_rolling_s += sum(max(0.0, s.end_s - s.start_s) for s in new)
        meeting.last_event = time.monotonic()
        if await self._finish_if_complete(meeting_id, meeting):
            return
        if meeting.speech_since_rolling_s >= self._settings.rolling_notes_speech_s:
            await self._write(meeting_id, meeting, npb.MeetingNotes.KIND_ROLLING)

    async def _on_meeting_event(self, event: MeetingEvent, at: dt.datetime) -> None:
        if event.kind == MeetingEvent.KIND_NOTES_REQUESTED:
            await self._on_notes_requested(event, at)
            return
        ended = event.kind == MeetingEvent.KIND_STREAM_ENDED
        stored = await self._store.stream_event(
            event.meeting_id,
            event.stream_id,
            event.participant.id or event.stream_id,
            event.participant.display_name,
            ended=ended,
            emitted_at=at,
            finals=event.finals if ended else None,
        )
        if not stored:  # the meeting was deleted after this event
            self._meetings.pop(event.meeting_id, None)
        elif ended:
            meeting = await self._meeting(event.meeting_id, at.date())
            await self._finish_if_complete(event.meeting_id, meeting)

    async def _on_notes_requested(self, event: MeetingEvent, at: dt.datetime) -> None:
        """Rolling notes now, without waiting for more speech (a finished meeting has its final)."""
        if await self._store.last_offset(event.meeting_id) is None:
            return  # nothing said yet: nothing to write
        if await self._store.has_notes(event.meeting_id, "final", 0):
            return
        meeting = await self._meeting(event.meeting_id, at.date())
        await self._write(event.meeting_id, meeting, npb.MeetingNotes.KIND_ROLLING)

    async def _finish_if_complete(self, meeting_id: str, meeting: _Meeting) -> bool:
        """Write the final notes once the last participant left and all finals are stored.

        The meetings and transcripts topics are read independently, so a stream's end can
        arrive before its last finals; its end event says how many finals to wait for.
        """
        if not await self._store.meeting_complete(meeting_id):
            return False
        if not await self._store.has_notes(meeting_id, "final", max(0, meeting.last_offset)):
            await self._write_final(meeting_id, meeting)
        self._meetings.pop(meeting_id, None)
        return True

    async def _meeting(self, meeting_id: str, day: dt.date) -> _Meeting:
        """The meeting's writer; after a restart or rebalance, rebuilt from the store."""
        meeting = self._meetings.get(meeting_id)
        if meeting is not None:
            erased_at = await self._store.erased_at(meeting_id)
            if erased_at is not None and erased_at >= meeting.loaded_at:
                # Deleted while it went on (its later finals are a new meeting): nothing
                # held of the deleted part may reach the new notes.
                meeting = None
        if meeting is None:
            writer = OfflineNotesWriter(meeting_id, day)
            writer.add(await self._store.segments(meeting_id))
            offset = await self._store.last_offset(meeting_id)
            meeting = _Meeting(writer, -1 if offset is None else offset)
            if self._backends.anthropic is not None:
                meeting.previous_notes = await self._store.latest_notes(meeting_id)
            self._meetings[meeting_id] = meeting
        return meeting

    async def _write_final(self, meeting_id: str, meeting: _Meeting) -> None:
        """Final notes: one pass over the whole stored transcript, in the order it was said.

        Rolling notes read finals as they arrive, which for streams sent faster than real
        time is not the order they were spoken in; ids come from the sentences, so they carry.
        """
        writer = OfflineNotesWriter(meeting_id, meeting.writer.meeting_day)
        writer.add(await self._store.segments(meeting_id))
        meeting.writer = writer
        await self._write(meeting_id, meeting, npb.MeetingNotes.KIND_FINAL)

    async def _write(self, meeting_id: str, meeting: _Meeting, kind: int) -> None:
        notes = await self._backends.notes(
            meeting.writer,
            kind=kind,
            version=max(0, meeting.last_offset),
            segments=lambda: self._store.segments(meeting_id),
            segments_after=lambda offset: self._store.segments(meeting_id, after=offset),
            previous=meeting.previous_notes,
        )
        meeting.previous_notes = notes
        meeting.speech_since_rolling_s = 0.0
        saved = await self._store.save_notes(notes)
        if saved is NotesSaved.MEETING_DELETED or not await self._publish(meeting_id, notes):
            self._meetings.pop(meeting_id, None)
            log.info(
                "meeting deleted while its notes were written", extra={"meeting_id": meeting_id}
            )
            return
        NOTES_WRITTEN.labels(kind_name(kind), notes.backend).inc()
        log.info(
            "notes written",
            extra={
                "meeting_id": meeting_id,
                "kind": kind_name(kind),
                "version": notes.version,
                "replayed": saved is NotesSaved.ALREADY_STORED,
                "decisions": len(notes.decisions),
                "action_items": len(notes.action_items),
            },
        )

    async def _publish(self, meeting_id: str, notes: npb.MeetingNotes) -> bool:
        """Publish stored notes; False if the meeting was deleted meanwhile."""
        topic, key = self._settings.notes_topic, meeting_id.encode()
        await self._producer.send_and_wait(
            topic,
            key=key,
            value=encode_event(notes),
            headers=record_headers("stenograph.v1.MeetingNotes"),
        )
        if await self._store.has_meeting(meeting_id):
            return True
        # Deleted after these notes were stored: the deletion's tombstone may have gone out
        # before them, so the notes topic needs another one after them.
        await self._producer.send_and_wait(topic, key=key, value=None)
        return False

    async def _finish_idle_meetings(self) -> None:
        idle_after = self._settings.meeting_idle_timeout_s
        now = time.monotonic()
        for meeting_id, meeting in list(self._meetings.items()):
            if now - meeting.last_event >= idle_after:
                await self._write_final(meeting_id, meeting)
                self._meetings.pop(meeting_id, None)

    async def _dead_letter(self, record: Any, reason: str) -> None:
        DEAD_LETTERS.labels(record.topic).inc()
        log.warning(
            "malformed event sent to the dead-letter topic",
            extra={"topic": record.topic, "offset": record.offset, "reason": reason},
        )
        source = json.dumps(
            {"topic": record.topic, "partition": record.partition, "offset": record.offset}
        )
        await self._producer.send_and_wait(
            self._settings.transcripts_dlq_topic,
            key=record.key,
            value=record.value,
            headers=[("reason", reason.encode()), ("source", source.encode())],
        )


class _ForgetOnRebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Drop cached writers when partitions move: the next event rebuilds them from the store."""

    def __init__(self, meetings: dict[str, _Meeting]) -> None:
        self._meetings = meetings

    async def on_partitions_revoked(self, revoked: object) -> None:
        self._meetings.clear()

    async def on_partitions_assigned(self, assigned: object) -> None:
        self._meetings.clear()


@contextlib.asynccontextmanager
async def running_summariser(
    settings: Settings, bootstrap_servers: str, store: NotesStore
) -> AsyncIterator[Summariser]:
    """A started summariser consuming in the background; stopped and closed on exit."""
    summariser = Summariser(settings, bootstrap_servers, store)
    await summariser.start()
    task = asyncio.create_task(summariser.run(), name="summariser")
    try:
        yield summariser
    finally:
        await summariser.stop()
        try:
            await asyncio.wait_for(task, timeout=10.0)
        finally:
            await summariser.close()
