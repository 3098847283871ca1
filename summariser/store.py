"""Where transcripts and notes are kept: SQLite on one machine, PostgreSQL in production.

Both get the same schema from the Alembic migrations in `summariser/migrations`, applied on
open. Writes are idempotent (a replayed event or notes version changes nothing), so a
consumer may store a batch again after a crash or a rebalance. A deleted meeting stays
deleted: events emitted before its deletion, replayed or read late, are not stored again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from google.protobuf import json_format
from sqlalchemy import (
    BigInteger,
    DateTime,
    Select,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from stenograph.v1 import notes_pb2 as npb

from summariser.offline_notes import kind_name
from summariser.schema import erased_meetings, meetings, notes, segments, streams, upgrade
from summariser.transcript import Segment, StoredFinal


def _when_erased(meeting_id: str) -> Select[tuple[dt.datetime]]:
    return select(erased_meetings.c.erased_at).where(erased_meetings.c.meeting_id == meeting_id)


#: How long a deleted meeting's id and deletion time are kept: while the transcripts and
#: meetings topics can still replay events from before the deletion (7 days,
#: `server/kafka_topics.py`), with a margin for topics configured longer. After that the id,
#: which may name a person or a project, goes too.
ERASED_RETENTION = dt.timedelta(days=14)


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite keeps no time zone, so every stored time is UTC without one."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class NotesSaved(Enum):
    STORED = "stored"
    ALREADY_STORED = "already stored"  # a replayed version
    MEETING_DELETED = "meeting deleted"  # deleted while these notes were being written


@dataclass(frozen=True, slots=True)
class MeetingSummary:
    meeting_id: str
    first_event_at: dt.datetime
    last_event_at: dt.datetime
    ended_at: dt.datetime | None


class NotesStore:
    """Async access to the store; `open()` applies migrations, `close()` disposes the pool."""

    def __init__(
        self,
        url: str,
        *,
        connect_args: dict[str, Any] | None = None,
        erased_retention: dt.timedelta = ERASED_RETENTION,
    ) -> None:
        self.url = url
        self.erased_retention = erased_retention
        self._engine: AsyncEngine = create_async_engine(url, connect_args=connect_args or {})

    async def open(self) -> NotesStore:
        async with self._engine.begin() as conn:
            await conn.run_sync(upgrade)
            await self._forget_old_deletions(conn, utcnow())
        return self

    async def _forget_old_deletions(self, conn: AsyncConnection, now: dt.datetime) -> None:
        expired = erased_meetings.c.erased_at < now - self.erased_retention
        await conn.execute(delete(erased_meetings).where(expired))

    async def close(self) -> None:
        await self._engine.dispose()

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """An INSERT with this database's ON CONFLICT clauses."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # -- writes (the consumer) -------------------------------------------------------------
    async def add_segments(
        self, meeting_id: str, finals: Sequence[StoredFinal]
    ) -> list[StoredFinal]:
        """Store finals; ones already stored are kept. Returns those not erased: finals
        emitted before the meeting was deleted are not stored again."""
        async with self._engine.begin() as conn:
            erased_at = await self._erased_at(conn, meeting_id)
            kept = [f for f in finals if erased_at is None or f.emitted_at > erased_at]
            if not kept:
                return []
            await self._touch(conn, meeting_id)
            values = [
                {
                    "meeting_id": meeting_id,
                    "segment_id": f.segment.segment_id,
                    "stream_id": f.stream_id,
                    "participant_id": f.segment.participant_id,
                    "display_name": f.segment.display_name,
                    "start_s": f.segment.start_s,
                    "end_s": f.segment.end_s,
                    "text": f.segment.text,
                    "spoken_at": f.segment.at_s,
                    "event_offset": f.event_offset,
                }
                for f in kept
            ]
            await conn.execute(self._insert(segments).values(values).on_conflict_do_nothing())
        return kept

    async def stream_event(
        self,
        meeting_id: str,
        stream_id: str,
        participant_id: str,
        name: str,
        *,
        ended: bool,
        emitted_at: dt.datetime,
        finals: int | None = None,
    ) -> bool:
        """Store a stream's start or end; False if the meeting was deleted after it."""
        async with self._engine.begin() as conn:
            erased_at = await self._erased_at(conn, meeting_id)
            if erased_at is not None and emitted_at <= erased_at:
                return False
            await self._touch(conn, meeting_id)
            row = {
                "meeting_id": meeting_id,
                "stream_id": stream_id,
                "participant_id": participant_id,
                "display_name": name,
                "ended": ended,
                "finals_expected": finals,
            }
            insert = self._insert(streams).values(row)
            if ended:  # an end is final; a late or replayed start must not reopen the stream
                insert = insert.on_conflict_do_update(
                    index_elements=["meeting_id", "stream_id"],
                    set_={"ended": True, "finals_expected": finals},
                )
            else:
                insert = insert.on_conflict_do_nothing()
            await conn.execute(insert)
        return True

    async def _erased_at(self, conn: AsyncConnection, meeting_id: str) -> dt.datetime | None:
        """When the meeting was last deleted, if ever.

        The meeting row is locked first (PostgreSQL; SQLite serialises writers): a deletion
        in progress holds it, so this waits for the deletion and then sees its time. Not FOR
        SHARE: the caller writes the row next, and two shared holders upgrading deadlock.
        """
        mine = meetings.c.meeting_id == meeting_id
        await conn.execute(select(meetings.c.meeting_id).where(mine).with_for_update())
        erased: dt.datetime | None = await conn.scalar(_when_erased(meeting_id))
        return erased

    async def _touch(self, conn: AsyncConnection, meeting_id: str) -> None:
        now = utcnow()
        await conn.execute(
            self._insert(meetings)
            .values(meeting_id=meeting_id, first_event_at=now, last_event_at=now)
            .on_conflict_do_update(index_elements=["meeting_id"], set_={"last_event_at": now})
        )

    async def save_notes(self, note: npb.MeetingNotes) -> NotesSaved:
        """Store a notes version, unless it is stored already or its meeting was deleted."""
        kind = kind_name(note.kind)
        body = json_format.MessageToJson(note, preserving_proto_field_name=True, indent=None)
        # One statement, so a deletion cannot fall between the check and the insert. FOR
        # SHARE (PostgreSQL; SQLite serialises writers anyway) waits for a deletion in
        # progress, which removes the meeting row first, and then finds no meeting.
        alive = (
            select(meetings.c.meeting_id)
            .where(meetings.c.meeting_id == note.meeting_id)
            .with_for_update(read=True)
            .exists()
        )
        row = select(
            literal(note.meeting_id, String),
            literal(kind, String),
            literal(note.version, BigInteger),
            literal(note.backend, String),
            literal(body, Text),
            literal(note.generated_at.ToDatetime(), DateTime()),
        ).where(alive)
        columns = ["meeting_id", "kind", "version", "backend", "body", "created_at"]
        async with self._engine.begin() as conn:
            result = await conn.execute(
                self._insert(notes).from_select(columns, row).on_conflict_do_nothing()
            )
            if result.rowcount:
                if note.kind == npb.MeetingNotes.KIND_FINAL:
                    await conn.execute(
                        meetings.update()
                        .where(meetings.c.meeting_id == note.meeting_id)
                        .values(ended_at=func.coalesce(meetings.c.ended_at, utcnow()))
                    )
                return NotesSaved.STORED
            alive_now = await conn.scalar(select(alive))
        return NotesSaved.ALREADY_STORED if alive_now else NotesSaved.MEETING_DELETED

    async def delete_meeting(self, meeting_id: str) -> bool:
        """Erase the meeting's transcript, notes and state; False if there was none.

        The time of deletion is kept: events emitted before it (a consumer replaying the
        transcripts topic, or one that lags) are not stored again. Later ones, with the same
        meeting id, start a new meeting.
        """
        async with self._engine.begin() as conn:
            # The meeting row first: its lock makes concurrent writers wait for this.
            result = await conn.execute(delete(meetings).where(meetings.c.meeting_id == meeting_id))
            if not result.rowcount:
                return False
            for table in (segments, streams, notes):
                await conn.execute(delete(table).where(table.c.meeting_id == meeting_id))
            now = utcnow()
            await conn.execute(
                self._insert(erased_meetings)
                .values(meeting_id=meeting_id, erased_at=now)
                .on_conflict_do_update(index_elements=["meeting_id"], set_={"erased_at": now})
            )
            await self._forget_old_deletions(conn, now)
        return True

    async def erased_at(self, meeting_id: str) -> dt.datetime | None:
        """When the meeting was last deleted, if ever."""
        async with self._engine.connect() as conn:
            erased: dt.datetime | None = await conn.scalar(_when_erased(meeting_id))
        return erased

    async def has_meeting(self, meeting_id: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(func.count()).where(meetings.c.meeting_id == meeting_id)
            )
        return bool(found)

    # -- reads -----------------------------------------------------------------------------
    async def segments(self, meeting_id: str, *, after: int | None = None) -> list[Segment]:
        """The meeting's stored finals, in the order they were said.

        With `after`, only those stored after that transcript offset: the ones a notes
        version of that version (the last offset it covered) has not seen.
        """
        query = select(segments).where(segments.c.meeting_id == meeting_id)
        if after is not None:
            query = query.where(segments.c.event_offset > after)
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                query.order_by(segments.c.spoken_at, segments.c.event_offset, segments.c.segment_id)
            )
            return [
                Segment(
                    r.segment_id,
                    r.participant_id,
                    r.display_name,
                    r.start_s,
                    r.end_s,
                    r.text,
                    spoken_at=r.spoken_at,
                )
                for r in rows
            ]

    async def last_offset(self, meeting_id: str) -> int | None:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(func.max(segments.c.event_offset)).where(segments.c.meeting_id == meeting_id)
            )
        return None if value is None else int(value)

    async def meeting_complete(self, meeting_id: str) -> bool:
        """Every stream of the meeting ended, and every final each one published is stored."""
        stored = (
            select(segments.c.stream_id, func.count().label("n"))
            .where(segments.c.meeting_id == meeting_id)
            .group_by(segments.c.stream_id)
            .subquery()
        )
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(streams.c.ended, streams.c.finals_expected, stored.c.n)
                    .select_from(
                        streams.outerjoin(stored, stored.c.stream_id == streams.c.stream_id)
                    )
                    .where(streams.c.meeting_id == meeting_id)
                )
            ).all()
        return bool(rows) and all(
            ended and (n or 0) >= (expected or 0) for ended, expected, n in rows
        )

    async def has_notes(self, meeting_id: str, kind: str, version: int) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(func.count()).where(
                    and_(
                        notes.c.meeting_id == meeting_id,
                        notes.c.kind == kind,
                        notes.c.version >= version,
                    )
                )
            )
        return bool(found)

    async def latest_notes(
        self, meeting_id: str, kind: str | None = None
    ) -> npb.MeetingNotes | None:
        """The newest notes version (final notes before rolling ones of the same version)."""
        query = select(notes.c.body).where(notes.c.meeting_id == meeting_id)
        if kind is not None:
            query = query.where(notes.c.kind == kind)
        query = query.order_by(notes.c.version.desc(), notes.c.kind).limit(1)
        async with self._engine.connect() as conn:
            body = await conn.scalar(query)
        return None if body is None else json_format.Parse(body, npb.MeetingNotes())

    async def meetings(self, limit: int = 100) -> list[MeetingSummary]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(meetings).order_by(meetings.c.last_event_at.desc()).limit(limit)
            )
            return [
                MeetingSummary(r.meeting_id, r.first_event_at, r.last_event_at, r.ended_at)
                for r in rows
            ]

    async def meetings_without_final(self, idle_since: dt.datetime) -> list[str]:
        """Meetings with no final notes whose last event is older than `idle_since`."""
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(meetings.c.meeting_id).where(
                    and_(meetings.c.ended_at.is_(None), meetings.c.last_event_at < idle_since)
                )
            )
            return [r.meeting_id for r in rows]
