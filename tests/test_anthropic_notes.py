"""Notes by Claude, against a local server that speaks the Messages API from a script.

The SDK is the real one, over real HTTP: its retries, timeouts and parsing are what run.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from fake_messages_api import (
    FakeMessagesAPI,
    error,
    fake_messages_api,
    overloaded,
    rate_limited,
    text_only,
    tool_use,
)
from prometheus_client import REGISTRY
from pydantic import SecretStr
from stenograph.v1 import notes_pb2 as npb

from server.settings import Settings
from summariser.anthropic_notes import AnthropicNotesWriter, NotesBackendError
from summariser.claude_prompts import SYSTEM_PROMPT
from summariser.notes_backends import CircuitBreaker, NotesBackends
from summariser.offline_notes import OfflineNotesWriter
from summariser.transcript import Segment

MEETING_DAY = dt.date(2026, 2, 18)  # a Wednesday
FINAL = npb.MeetingNotes.KIND_FINAL
ROLLING = npb.MeetingNotes.KIND_ROLLING
PEOPLE = {"alice": "Alice Park", "bob": "Bob Stone", "carol": "Carol Diaz"}
SCRIPT = [
    ("alice", "Let's move the launch to March 3rd."),
    ("carol", "Let's switch the vendor to Acme Cloud."),
    ("bob", "No, let's not switch the vendor, the contract costs 48,000 dollars."),
    ("alice", "Bob, can you send the revised budget by Friday?"),
    ("alice", "Actually, Carol will take that, not Bob."),
    ("carol", "What is the budget for the after party?"),
]
SEGMENTS = [
    Segment(f"{who}-{i}", who, PEOPLE[who], 5.0 * i, 5.0 * i + 4, text)
    for i, (who, text) in enumerate(SCRIPT)
]


def draft(**changes: Any) -> dict[str, Any]:
    """What a good model answers for SCRIPT, with `changes` applied."""
    notes: dict[str, Any] = {
        "title": "Launch plan",
        "summary": "The launch moves to March 3rd; the vendor stays.",
        "topics": [{"id": "", "title": "Launch", "segment_ids": ["alice-0", "bob-2"]}],
        "decisions": [
            {
                "id": "",
                "text": "Launch on March 3rd",
                "status": "agreed",
                "segment_ids": ["alice-0"],
            },
            {
                "id": "",
                "text": "Switch the vendor to Acme Cloud",
                "status": "rejected",
                "segment_ids": ["carol-1", "bob-2"],
            },
        ],
        "action_items": [
            {
                "id": "",
                "task": "Send the revised budget",
                "owner_as_spoken": "Carol",
                "due_as_spoken": "by Friday",
                "status": "open",
                "segment_ids": ["alice-3", "alice-4"],
            }
        ],
        "open_questions": [
            {
                "id": "",
                "text": "What is the budget for the after party?",
                "segment_ids": ["carol-5"],
            }
        ],
    }
    return {**notes, **changes}


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def api() -> Iterator[FakeMessagesAPI]:
    with fake_messages_api() as server:
        yield server


def connect(api: FakeMessagesAPI, **options: Any) -> AnthropicNotesWriter:
    settings: dict[str, Any] = {"timeout_s": 5.0, "max_retries": 2} | options
    return AnthropicNotesWriter.connect(api_key="test-key", base_url=api.base_url, **settings)


@pytest_asyncio.fixture
async def writer(api: FakeMessagesAPI) -> AsyncIterator[AnthropicNotesWriter]:
    connected = connect(api)
    yield connected
    await connected.close()


async def write(
    writer: AnthropicNotesWriter,
    kind: int = FINAL,
    previous: npb.MeetingNotes | None = None,
    segments: list[Segment] = SEGMENTS,
) -> npb.MeetingNotes:
    return await writer.notes(
        meeting_id="m-launch",
        meeting_day=MEETING_DAY,
        segments=segments,
        kind=kind,
        version=6,
        previous=previous,
    )


async def test_the_tool_call_becomes_notes_citing_what_was_said(
    api: FakeMessagesAPI, writer: AnthropicNotesWriter
) -> None:
    labels = {"model": "claude-sonnet-4-6", "kind": "final"}
    input_before = metric("stenograph_notes_llm_tokens_total", **labels, type="input")
    cached_before = metric("stenograph_notes_llm_tokens_total", **labels, type="cache_read")
    api.reply(tool_use(draft(), input_tokens=1500, output_tokens=320, cache_read_tokens=900))

    notes = await write(writer)

    assert notes.backend == "anthropic:claude-sonnet-4-6"
    assert (notes.meeting_id, notes.kind, notes.version) == ("m-launch", FINAL, 6)
    assert notes.title == "Launch plan"
    assert [p.participant_id for p in notes.participants] == ["alice", "carol", "bob"]
    launch, vendor = notes.decisions
    assert launch.status == npb.Decision.STATUS_AGREED
    assert vendor.status == npb.Decision.STATUS_REJECTED
    assert [c.segment_id for c in vendor.citations] == ["carol-1", "bob-2"]
    cited = vendor.citations[1]
    assert cited.participant_id == "bob"
    assert cited.start.ToTimedelta() == dt.timedelta(seconds=10)
    assert cited.end.ToTimedelta() == dt.timedelta(seconds=14)
    assert cited.quote == SCRIPT[2][1]
    (budget,) = notes.action_items
    assert (budget.owner_as_spoken, budget.owner_participant_id) == ("Carol", "carol")
    assert (budget.due_as_spoken, budget.due_date) == ("by Friday", "2026-02-20")
    assert budget.status == npb.ActionItem.STATUS_OPEN
    (question,) = notes.open_questions
    assert question.asked_by_participant_id == "carol"
    (topic,) = notes.topics
    assert topic.end.ToTimedelta() == dt.timedelta(seconds=14)
    assert (
        metric("stenograph_notes_llm_tokens_total", **labels, type="input") == input_before + 1500
    )
    assert (
        metric("stenograph_notes_llm_tokens_total", **labels, type="cache_read")
        == cached_before + 900
    )

    (request,) = api.requests
    assert request["model"] == "claude-sonnet-4-6"
    assert request["tool_choice"] == {"type": "tool", "name": "record_meeting_notes"}
    assert [t["name"] for t in request["tools"]] == ["record_meeting_notes"]
    assert request["system"] == SYSTEM_PROMPT
    transcript = request["messages"][0]["content"][0]
    assert transcript["cache_control"] == {"type": "ephemeral"}
    assert "[alice-0] Alice Park (00:00): Let's move the launch to March 3rd." in transcript["text"]
    assert "[bob-2] Bob Stone (00:10): No, let's not switch" in transcript["text"]
    sent = api.request_headers[0]
    assert "test-key" in (
        sent.get("x-api-key"),
        sent.get("authorization", "").removeprefix("Bearer "),
    )


async def test_rolling_notes_keep_the_ids_of_the_previous_notes(
    api: FakeMessagesAPI, writer: AnthropicNotesWriter
) -> None:
    api.reply(tool_use(draft()))
    first = await write(writer, ROLLING)
    launch_id = first.decisions[0].id
    kept = draft()
    kept["decisions"][0]["id"] = launch_id
    kept["decisions"][1]["id"] = "d-not-in-the-previous-notes"
    api.reply(tool_use(kept))

    second = await write(writer, ROLLING, previous=first)

    assert first.backend == "anthropic:claude-haiku-4-5"
    assert second.decisions[0].id == launch_id
    # An id the previous notes never had is replaced by one from what was said: stable too.
    assert second.decisions[1].id == first.decisions[1].id
    shown = api.requests[1]["messages"][0]["content"][1]["text"]
    assert shown.startswith("Previous notes:") and launch_id in shown


async def test_a_rate_limited_call_is_retried_by_the_sdk(
    api: FakeMessagesAPI, writer: AnthropicNotesWriter
) -> None:
    api.reply(rate_limited(), tool_use(draft()))

    notes = await write(writer)

    assert len(api.requests) == 2
    assert len(notes.decisions) == 2


async def test_an_overloaded_api_is_retried_by_the_sdk(
    api: FakeMessagesAPI, writer: AnthropicNotesWriter
) -> None:
    api.reply(overloaded(), tool_use(draft()))

    notes = await write(writer)

    assert len(api.requests) == 2
    assert notes.backend.startswith("anthropic:")


async def test_retries_run_out_into_a_backend_error(api: FakeMessagesAPI) -> None:
    writer = connect(api, max_retries=1)
    api.reply(overloaded(), overloaded(), tool_use(draft()))

    with pytest.raises(NotesBackendError):
        await write(writer)

    assert len(api.requests) == 2
    await writer.close()


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(tool_use({k: v for k, v in draft().items() if k != "summary"}), id="missing"),
        pytest.param(
            tool_use(draft(decisions=[{"text": "X", "status": "maybe", "segment_ids": ["bob-2"]}])),
            id="bad-status",
        ),
        pytest.param(tool_use(draft(action_items="none")), id="wrong-type"),
        pytest.param(tool_use(draft(), name="some_other_tool"), id="other-tool"),
        pytest.param(text_only("Here are your notes: ..."), id="no-tool-use"),
    ],
)
async def test_malformed_notes_are_rejected(
    api: FakeMessagesAPI, writer: AnthropicNotesWriter, answer: Any
) -> None:
    labels = {"model": "claude-sonnet-4-6", "kind": "final", "outcome": "malformed"}
    before = metric("stenograph_notes_llm_calls_total", **labels)
    api.reply(answer)

    with pytest.raises(NotesBackendError):
        await write(writer)

    assert metric("stenograph_notes_llm_calls_total", **labels) == before + 1


async def test_only_segments_of_the_transcript_can_be_cited(
    api: FakeMessagesAPI, writer: AnthropicNotesWriter
) -> None:
    dropped_before = metric("stenograph_notes_draft_dropped_total", what="item")
    answer = draft()
    answer["decisions"][0]["segment_ids"] = ["alice-0", "zed-99"]
    answer["action_items"][0]["segment_ids"] = ["made-up-1", "made-up-2"]
    api.reply(tool_use(answer))

    notes = await write(writer)

    assert [c.segment_id for c in notes.decisions[0].citations] == ["alice-0"]
    assert notes.action_items == []  # nothing it cites was said
    assert metric("stenograph_notes_draft_dropped_total", what="item") == dropped_before + 1


async def test_a_call_slower_than_the_timeout_is_an_error(api: FakeMessagesAPI) -> None:
    writer = connect(api, timeout_s=0.3, max_retries=0)
    api.reply(tool_use(draft(), delay_s=2.0))

    started = time.monotonic()
    with pytest.raises(NotesBackendError, match="timed out"):
        await write(writer)

    assert time.monotonic() - started < 1.5
    await writer.close()


async def test_a_long_meeting_is_summarised_in_parts_then_merged(api: FakeMessagesAPI) -> None:
    writer = connect(api, token_budget=45)  # two transcript lines a part: three parts
    part = draft(topics=[], decisions=[], open_questions=[], action_items=[])
    api.reply(tool_use(part), tool_use(part), tool_use(part), tool_use(draft()))

    notes = await write(writer)

    assert len(api.requests) == 4
    maps, reduce = api.requests[:3], api.requests[3]
    parts_text = sorted(r["messages"][0]["content"][0]["text"] for r in maps)
    assert [t.splitlines()[0] for t in parts_text] == [
        f"Transcript (part {i} of 3):" for i in (1, 2, 3)
    ]
    assert all(r["messages"][0]["content"][0]["cache_control"] for r in maps)
    assert "Merge them into the notes of the whole meeting" in reduce["system"]
    assert reduce["messages"][0]["content"][0]["text"].startswith("Notes of the 3 parts")
    # The merged notes still cite segments, from every part of the meeting.
    assert [d.citations[0].segment_id for d in notes.decisions] == ["alice-0", "carol-1"]
    assert notes.open_questions[0].citations[0].segment_id == "carol-5"
    await writer.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def offline_writer() -> OfflineNotesWriter:
    writer = OfflineNotesWriter("m-launch", MEETING_DAY)
    writer.add(SEGMENTS)
    return writer


async def test_after_repeated_failures_the_offline_writer_takes_over_for_a_while(
    api: FakeMessagesAPI,
) -> None:
    clock = Clock()
    backends = NotesBackends(
        connect(api, max_retries=0),
        CircuitBreaker(failure_threshold=2, cool_down_s=60, clock=clock),
    )
    fallbacks_before = metric("stenograph_notes_fallbacks_total", kind="rolling", reason="error")
    paused_before = metric(
        "stenograph_notes_fallbacks_total", kind="rolling", reason="circuit_open"
    )

    async def loaded() -> list[Segment]:
        return SEGMENTS

    async def rolling_notes() -> npb.MeetingNotes:
        return await backends.notes(offline_writer(), kind=ROLLING, version=6, segments=loaded)

    api.reply(overloaded(), error(500, "api_error"))
    first, second = await rolling_notes(), await rolling_notes()
    assert (first.backend, second.backend) == ("offline", "offline")
    assert not backends.available  # two failures in a row: the API is left alone

    third = await rolling_notes()
    assert third.backend == "offline"
    assert third.action_items  # the offline writer's notes, not empty ones
    assert len(api.requests) == 2
    assert (
        metric("stenograph_notes_fallbacks_total", kind="rolling", reason="error")
        == fallbacks_before + 2
    )
    assert (
        metric("stenograph_notes_fallbacks_total", kind="rolling", reason="circuit_open")
        == paused_before + 1
    )

    clock.now += 61  # after the cool-down one call is tried, and it works
    api.reply(tool_use(draft()))
    assert backends.available
    assert (await rolling_notes()).backend == "anthropic:claude-haiku-4-5"
    assert len(api.requests) == 3
    await backends.close()


def test_settings_pick_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STENOGRAPH_CONFIG", "/nonexistent/stenograph.toml")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("STENOGRAPH_ANTHROPIC_API_KEY", raising=False)
    assert NotesBackends.from_settings(Settings()).anthropic is None
    assert (
        NotesBackends.from_settings(
            Settings(anthropic_api_key=SecretStr("k"), notes_backend="offline")
        ).anthropic
        is None
    )
    with pytest.raises(ValueError, match="needs anthropic_api_key"):
        Settings(notes_backend="anthropic")

    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-the-sdk-variable")
    settings = Settings(rolling_notes_model="claude-haiku-4-5", notes_token_budget=5000)
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == "from-the-sdk-variable"
    chosen = NotesBackends.from_settings(settings).anthropic
    assert chosen is not None and chosen.token_budget == 5000
