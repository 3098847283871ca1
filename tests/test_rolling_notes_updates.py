"""Claude updates rolling notes from what is new, never re-reading the whole meeting.

Against the local server that speaks the Messages API: what the SDK sent is read back from
the recorded request bodies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
import pytest_asyncio
from fake_messages_api import FakeMessagesAPI, fake_messages_api, tool_use
from stenograph.v1 import notes_pb2 as npb

from summariser.anthropic_notes import AnthropicNotesWriter
from summariser.notes_backends import NotesBackends
from summariser.offline_notes import OfflineNotesWriter
from summariser.transcript import Segment

MEETING_DAY = dt.date(2026, 2, 18)
FINAL = npb.MeetingNotes.KIND_FINAL
ROLLING = npb.MeetingNotes.KIND_ROLLING
PEOPLE = {"alice": "Alice Park", "bob": "Bob Stone", "carol": "Carol Diaz"}
SCRIPT = [
    ("alice", "Let's move the launch to March 3rd."),
    ("alice", "Bob, can you send the revised budget by Friday?"),
    # The first rolling version covers the two lines above (offsets 0 and 1).
    ("alice", "Actually, Carol will take the budget, not Bob."),
    ("carol", "What is the budget for the after party?"),
]
#: (transcript offset, segment): the offset is the segment's index.
STORED = [
    (i, Segment(f"{who}-{i}", who, PEOPLE[who], 5.0 * i, 5.0 * i + 4, text))
    for i, (who, text) in enumerate(SCRIPT)
]


class Transcript:
    """The meeting's stored segments, as the store hands them out; it records what is asked."""

    def __init__(self, up_to: int) -> None:
        self.up_to = up_to
        self.asked_after: list[int] = []

    async def all(self) -> Sequence[Segment]:
        return [s for offset, s in STORED if offset <= self.up_to]

    async def after(self, offset: int) -> Sequence[Segment]:
        self.asked_after.append(offset)
        return [s for o, s in STORED if offset < o <= self.up_to]


def launch(item_id: str = "") -> dict[str, Any]:
    return {
        "id": item_id,
        "text": "Launch on March 3rd",
        "status": "agreed",
        "segment_ids": ["alice-0"],
    }


def budget(
    item_id: str = "", owner: str = "Bob", cited: Sequence[str] = ("alice-1",)
) -> dict[str, Any]:
    return {
        "id": item_id,
        "task": "Send the revised budget",
        "owner_as_spoken": owner,
        "due_as_spoken": "by Friday",
        "status": "open",
        "segment_ids": list(cited),
    }


def notes_draft(**items: Any) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "topics": [],
        "decisions": [],
        "action_items": [],
        "open_questions": [],
    }
    return {"title": "Launch plan", "summary": "The launch moves.", **empty, **items}


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with fake_messages_api() as server:
        yield server


@pytest_asyncio.fixture
async def backends(api: FakeMessagesAPI) -> AsyncIterator[NotesBackends]:
    writer = AnthropicNotesWriter.connect(
        api_key="test-key", base_url=api.base_url, timeout_s=5.0, max_retries=0
    )
    chosen = NotesBackends(writer)
    yield chosen
    await chosen.close()


def offline(up_to: int) -> OfflineNotesWriter:
    writer = OfflineNotesWriter("m-launch", MEETING_DAY)
    writer.add([s for offset, s in STORED if offset <= up_to])
    return writer


async def notes_of(
    backends: NotesBackends,
    transcript: Transcript,
    kind: int,
    previous: npb.MeetingNotes | None,
) -> npb.MeetingNotes:
    return await backends.notes(
        offline(transcript.up_to),
        kind=kind,
        version=transcript.up_to,
        segments=transcript.all,
        segments_after=transcript.after,
        previous=previous,
    )


def prompt_texts(request: dict[str, Any]) -> list[str]:
    return [block["text"] for block in request["messages"][0]["content"]]


async def test_a_later_rolling_version_is_the_previous_notes_updated_from_the_new_lines(
    api: FakeMessagesAPI, backends: NotesBackends
) -> None:
    api.reply(tool_use(notes_draft(decisions=[launch()], action_items=[budget()])))
    first = await notes_of(backends, Transcript(up_to=1), ROLLING, previous=None)
    (decision,), (action,) = first.decisions, first.action_items
    assert action.owner_as_spoken == "Bob"
    api.reply(
        tool_use(
            notes_draft(
                decisions=[launch(decision.id)],
                action_items=[budget(action.id, owner="Carol", cited=["alice-1", "alice-2"])],
                open_questions=[
                    {"id": "", "text": "The after-party budget?", "segment_ids": ["carol-3"]}
                ],
            )
        )
    )
    transcript = Transcript(up_to=3)

    second = await notes_of(backends, transcript, ROLLING, previous=first)

    assert transcript.asked_after == [1], "the segments after the offset the first notes cover"
    shown, new_lines, _ = prompt_texts(api.requests[1])
    assert shown.startswith("Previous notes:")
    assert action.id in shown and '"segment_ids":["alice-1"]' in shown
    assert new_lines.splitlines() == [
        "New transcript lines:",
        f"[alice-2] Alice Park (00:10): {SCRIPT[2][1]}",
        f"[carol-3] Carol Diaz (00:15): {SCRIPT[3][1]}",
    ]
    asked = "\n".join(prompt_texts(api.requests[1]))
    assert SCRIPT[0][1] not in asked and SCRIPT[1][1] not in asked, "no re-read of the meeting"
    assert "only the transcript lines said since" in api.requests[1]["system"]
    # The updated item keeps its id and its earlier citation, which the prompt did not hold.
    assert second.decisions[0].id == decision.id
    (updated,) = second.action_items
    assert updated.id == action.id
    assert updated.owner_participant_id == "carol"
    assert [c.segment_id for c in updated.citations] == ["alice-1", "alice-2"]
    assert updated.citations[0].quote == SCRIPT[1][1]
    (question,) = second.open_questions
    assert [c.segment_id for c in question.citations] == ["carol-3"]
    assert question.id.startswith("q-") and question.id not in {decision.id, action.id}


async def test_final_notes_after_rolling_ones_read_the_whole_transcript(
    api: FakeMessagesAPI, backends: NotesBackends
) -> None:
    api.reply(tool_use(notes_draft(decisions=[launch()])))
    rolling = await notes_of(backends, Transcript(up_to=1), ROLLING, previous=None)
    api.reply(tool_use(notes_draft(decisions=[launch(rolling.decisions[0].id)])))
    transcript = Transcript(up_to=3)

    final = await notes_of(backends, transcript, FINAL, previous=rolling)

    assert transcript.asked_after == []
    whole = prompt_texts(api.requests[1])[0]
    assert whole.startswith("Transcript:\n")
    assert all(text in whole for _, text in SCRIPT)
    assert final.decisions[0].id == rolling.decisions[0].id


async def test_rolling_notes_after_offline_ones_read_the_whole_transcript(
    api: FakeMessagesAPI, backends: NotesBackends
) -> None:
    # The offline writer wrote the last version (Claude was down): Claude starts afresh.
    previous = offline(1).notes(ROLLING, version=1)
    api.reply(tool_use(notes_draft(decisions=[launch()])))
    transcript = Transcript(up_to=3)

    await notes_of(backends, transcript, ROLLING, previous=previous)

    assert transcript.asked_after == []
    assert all(text in prompt_texts(api.requests[0])[0] for _, text in SCRIPT)


async def test_new_lines_over_the_token_budget_are_summarised_with_the_whole_meeting(
    api: FakeMessagesAPI,
) -> None:
    writer = AnthropicNotesWriter.connect(
        api_key="test-key", base_url=api.base_url, max_retries=0, token_budget=10_000
    )
    api.reply(tool_use(notes_draft(decisions=[launch()])))
    first = await notes_of(NotesBackends(writer), Transcript(up_to=1), ROLLING, previous=None)
    # The whole transcript (72 tokens) fits; the previous notes and the new lines do not.
    writer.token_budget = 80
    api.reply(tool_use(notes_draft(decisions=[launch()])))

    await notes_of(NotesBackends(writer), Transcript(up_to=3), ROLLING, previous=first)

    assert len(api.requests) == 2
    assert all(text in prompt_texts(api.requests[1])[0] for _, text in SCRIPT)
    await writer.close()
