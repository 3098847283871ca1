"""The notes store behaves the same on SQLite (embedded default) and PostgreSQL (production).

PostgreSQL is the real server on 127.0.0.1:5432 (database `test`); each run works in a schema
of its own, dropped afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from stenograph.v1 import notes_pb2 as npb

from summariser.offline_notes import OfflineNotesWriter
from summariser.store import NotesSaved, NotesStore, utcnow
from summariser.transcript import Segment, StoredFinal

POSTGRES = os.environ.get("STENOGRAPH_TEST_POSTGRES", "postgres@127.0.0.1:5432/test")


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NotesStore]:
    if request.param == "sqlite":
        opened = await NotesStore(f"sqlite+aiosqlite:///{tmp_path / 'notes.db'}").open()
        yield opened
        await opened.close()
        return
    schema = f"stenograph_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"postgresql://{POSTGRES}")
    await admin.execute(f"CREATE SCHEMA {schema}")
    try:
        opened = await NotesStore(
            f"postgresql+asyncpg://{POSTGRES}",
            connect_args={"server_settings": {"search_path": schema}},
        ).open()
        yield opened
        await opened.close()
    finally:
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


def segment(n: int, who: str = "alice") -> Segment:
    text = "Bob, can you send the budget by Friday?"
    return Segment(f"{who}-{n}", who, who.title(), 2.0 * n, 2.0 * n + 1.5, text, spoken_at=1e9 + n)


def final_event(
    s: Segment, stream_id: str, offset: int, emitted_at: dt.datetime | None = None
) -> StoredFinal:
    return StoredFinal(s, stream_id, offset, emitted_at or utcnow())


async def test_migrations_apply_once(store: NotesStore) -> None:
    await store.open()  # a second node starting on the same store
    assert await store.segments("nothing") == []


async def test_replayed_segments_are_stored_once_in_spoken_order(store: NotesStore) -> None:
    rows = [final_event(segment(2), "s-a", 11), final_event(segment(1), "s-a", 10)]
    await store.add_segments("m", rows)
    await store.add_segments("m", rows)  # a redelivered batch
    stored = await store.segments("m")
    assert [s.segment_id for s in stored] == ["alice-1", "alice-2"]
    assert stored[0] == segment(1)
    assert await store.last_offset("m") == 11


async def test_a_meeting_is_complete_when_every_stream_ended_and_its_finals_arrived(
    store: NotesStore,
) -> None:
    await store.stream_event("m", "s-a", "alice", "Alice", ended=False, emitted_at=utcnow())
    await store.stream_event("m", "s-b", "bob", "Bob", ended=False, emitted_at=utcnow())
    await store.add_segments("m", [final_event(segment(1), "s-a", 1)])
    await store.stream_event(
        "m", "s-a", "alice", "Alice", ended=True, finals=2, emitted_at=utcnow()
    )
    await store.stream_event("m", "s-b", "bob", "Bob", ended=True, finals=0, emitted_at=utcnow())
    assert not await store.meeting_complete("m"), "one of Alice's finals is still on its way"
    await store.add_segments("m", [final_event(segment(2), "s-a", 3)])
    assert await store.meeting_complete("m")
    await store.stream_event(
        "m", "s-b", "bob", "Bob", ended=False, emitted_at=utcnow()
    )  # a late, replayed start
    assert await store.meeting_complete("m"), "an ended stream stays ended"


async def test_notes_versions_are_stored_once_and_the_newest_is_served(store: NotesStore) -> None:
    writer = OfflineNotesWriter("m", dt.date(2026, 2, 18))
    writer.add([segment(1)])
    rolling = writer.notes(npb.MeetingNotes.KIND_ROLLING, version=1)
    final = writer.notes(npb.MeetingNotes.KIND_FINAL, version=1)
    await store.add_segments("m", [final_event(segment(1), "s-a", 1)])
    assert await store.save_notes(rolling) is NotesSaved.STORED
    replayed = await store.save_notes(rolling)
    assert replayed is NotesSaved.ALREADY_STORED, "a replayed version is not stored twice"
    assert await store.latest_notes("m") == rolling
    assert await store.save_notes(final) is NotesSaved.STORED
    assert await store.latest_notes("m") == final, "final notes win over rolling ones"
    assert await store.latest_notes("m", "rolling") == rolling
    assert await store.has_notes("m", "final", 1)
    (meeting,) = await store.meetings()
    assert meeting.meeting_id == "m" and meeting.ended_at is not None


async def test_delete_erases_everything_held_about_a_meeting(store: NotesStore) -> None:
    writer = OfflineNotesWriter("m", dt.date(2026, 2, 18))
    writer.add([segment(1)])
    await store.add_segments("m", [final_event(segment(1), "s-a", 1)])
    await store.add_segments("other", [final_event(segment(1, "bob"), "s-b", 1)])
    await store.stream_event(
        "m", "s-a", "alice", "Alice", ended=True, finals=1, emitted_at=utcnow()
    )
    await store.save_notes(writer.notes(npb.MeetingNotes.KIND_FINAL, version=1))
    assert await store.delete_meeting("m")
    assert await store.segments("m") == []
    assert await store.latest_notes("m") is None
    assert not await store.meeting_complete("m")
    assert [m.meeting_id for m in await store.meetings()] == ["other"]
    assert not await store.delete_meeting("m")


async def test_a_deleted_meetings_id_is_forgotten_once_the_topics_no_longer_hold_its_events(
    store: NotesStore,
) -> None:
    # The deletion time guards against replays only while Kafka keeps the events from before
    # it; after `erased_retention` the meeting id itself is erased too, at the next deletion
    # or start.
    store.erased_retention = dt.timedelta(0)
    for meeting_id in ("old", "new"):
        said = final_event(segment(1), "s-a", 1, utcnow() - dt.timedelta(seconds=1))
        await store.add_segments(meeting_id, [said])
    assert await store.delete_meeting("old")
    assert await store.erased_at("old") is not None
    assert await store.delete_meeting("new")
    assert await store.erased_at("old") is None
    assert await store.erased_at("new") is not None
    await store.close()
    await store.open()
    assert await store.erased_at("new") is None


async def test_notes_written_for_a_meeting_deleted_meanwhile_are_not_stored(
    store: NotesStore,
) -> None:
    writer = OfflineNotesWriter("m", dt.date(2026, 2, 18))
    writer.add([segment(1)])
    await store.add_segments("m", [final_event(segment(1), "s-a", 1)])
    rolling = writer.notes(npb.MeetingNotes.KIND_ROLLING, version=1)
    assert await store.save_notes(rolling) is NotesSaved.STORED
    assert await store.save_notes(rolling) is NotesSaved.ALREADY_STORED
    assert await store.delete_meeting("m")
    final = writer.notes(npb.MeetingNotes.KIND_FINAL, version=1)
    assert await store.save_notes(final) is NotesSaved.MEETING_DELETED
    assert await store.latest_notes("m") is None
    assert not await store.has_meeting("m")
    assert await store.meetings() == []


async def test_a_deleted_meeting_stays_deleted_when_its_events_are_read_again(
    store: NotesStore,
) -> None:
    said_before = utcnow() - dt.timedelta(seconds=1)
    await store.add_segments("m", [final_event(segment(1), "s-a", 1, said_before)])
    await store.stream_event(
        "m", "s-a", "alice", "Alice", ended=True, finals=1, emitted_at=said_before
    )
    assert await store.delete_meeting("m")
    # A consumer replaying the transcripts and meetings topics, or one that lagged behind,
    # reads the deleted meeting's events again: they stay deleted.
    replayed = [
        final_event(segment(1), "s-a", 1, said_before),
        final_event(segment(2), "s-a", 2, said_before),
    ]
    assert await store.add_segments("m", replayed) == []
    assert not await store.stream_event(
        "m", "s-a", "alice", "Alice", ended=True, finals=2, emitted_at=said_before
    )
    assert not await store.has_meeting("m")
    assert await store.segments("m") == []
    assert await store.meetings() == []
    # The same meeting id, used again after the deletion, is a new meeting.
    later = final_event(segment(3), "s-a", 3, utcnow() + dt.timedelta(seconds=1))
    assert await store.add_segments("m", [*replayed, later]) == [later]
    assert [s.segment_id for s in await store.segments("m")] == ["alice-3"]


async def test_segments_after_an_offset_are_those_a_notes_version_has_not_seen(
    store: NotesStore,
) -> None:
    rows = [
        final_event(segment(1), "s-a", 10),
        final_event(segment(3, "bob"), "s-b", 12),
        final_event(segment(2), "s-a", 13),
    ]
    await store.add_segments("m", rows)
    await store.add_segments("other", [final_event(segment(4), "s-c", 14)])
    after = await store.segments("m", after=10)
    assert [s.segment_id for s in after] == ["alice-2", "bob-3"], "in the order they were said"
    assert await store.segments("m", after=13) == []
    assert len(await store.segments("m", after=-1)) == 3
