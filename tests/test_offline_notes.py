"""The offline notes writer on a meeting that holds the traps naive notes fall into."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from stenograph.v1 import notes_pb2 as npb

from summariser.due_dates import find_due, resolve_due
from summariser.markdown import render_markdown
from summariser.offline_notes import OfflineNotesWriter
from summariser.transcript import Segment

MEETING_DAY = dt.date(2026, 2, 18)  # a Wednesday
PEOPLE = {"alice": "Alice Park", "bob": "Bob Stone", "carol": "Carol Diaz", "dana": "Dana Lee"}
SCRIPT = [
    ("alice", "Okay, let's talk about the launch plan."),
    ("bob", "I think we should move the launch to March 3rd."),
    ("alice", "Let's move the launch to March 3rd. It gives us two more weeks."),
    ("carol", "Let's switch the vendor to Acme Cloud."),
    ("bob", "No, let's not switch the vendor to Acme Cloud, the contract costs 48,000 dollars."),
    ("alice", "Bob, can you send the revised budget by Friday?"),
    ("alice", "Actually, Carol will take that, not Bob."),
    ("bob", "Dana, can you book the venue for 120 people by March 1st?"),
    ("dana", "Sure. I'll draft the press release by next Tuesday."),
    ("carol", "What is the budget for the after party?"),
    ("alice", "Let's revisit the pricing page next quarter."),
]


def segments(script: list[tuple[str, str]] = SCRIPT, first: int = 0) -> list[Segment]:
    return [
        Segment(
            f"{who}-{first + i}", who, PEOPLE[who], 5.0 * (first + i), 5.0 * (first + i) + 4, text
        )
        for i, (who, text) in enumerate(script)
    ]


@pytest.fixture
def notes() -> npb.MeetingNotes:
    writer = OfflineNotesWriter("m-launch", MEETING_DAY)
    writer.add(segments())
    return writer.notes(npb.MeetingNotes.KIND_FINAL, version=11)


def decision(notes: npb.MeetingNotes, words: str) -> npb.Decision:
    (found,) = [d for d in notes.decisions if words in d.text]
    return found


def action(notes: npb.MeetingNotes, words: str) -> npb.ActionItem:
    (found,) = [a for a in notes.action_items if words in a.task]
    return found


def test_an_agreed_proposal_is_a_decision_with_its_date_as_spoken(notes: npb.MeetingNotes) -> None:
    launch = decision(notes, "launch to March 3rd")
    assert launch.status == npb.Decision.STATUS_AGREED
    assert launch.text == "Let's move the launch to March 3rd."


def test_a_rejected_proposal_is_marked_rejected_not_agreed(notes: npb.MeetingNotes) -> None:
    vendor = decision(notes, "Acme Cloud")
    assert vendor.status == npb.Decision.STATUS_REJECTED
    assert [c.participant_id for c in vendor.citations] == ["carol", "bob"]
    assert "48,000 dollars" in vendor.citations[1].quote


def test_a_deferred_subject_is_deferred(notes: npb.MeetingNotes) -> None:
    assert decision(notes, "pricing page").status == npb.Decision.STATUS_DEFERRED


def test_a_reassigned_task_belongs_to_its_new_owner(notes: npb.MeetingNotes) -> None:
    budget = action(notes, "revised budget")
    assert (budget.owner_as_spoken, budget.owner_participant_id) == ("Carol", "carol")
    assert budget.due_as_spoken == "by Friday"
    assert budget.due_date == "2026-02-20"
    assert len(budget.citations) == 2, "cites the request and the reassignment"


def test_the_owner_is_who_was_asked_not_who_spoke(notes: npb.MeetingNotes) -> None:
    venue = action(notes, "venue")
    assert venue.task == "Book the venue for 120 people"
    assert (venue.owner_as_spoken, venue.owner_participant_id) == ("Dana", "dana")
    assert (venue.due_as_spoken, venue.due_date) == ("by March 1st", "2026-03-01")
    assert venue.citations[0].participant_id == "bob"


def test_a_speaker_committing_owns_the_task(notes: npb.MeetingNotes) -> None:
    release = action(notes, "press release")
    assert (release.owner_as_spoken, release.owner_participant_id) == ("I", "dana")
    assert (release.due_as_spoken, release.due_date) == ("by next Tuesday", "2026-02-24")


def test_nothing_else_is_taken_for_an_item(notes: npb.MeetingNotes) -> None:
    assert len(notes.decisions) == 3, [d.text for d in notes.decisions]
    assert len(notes.action_items) == 3, [a.task for a in notes.action_items]
    assert [q.text for q in notes.open_questions] == ["What is the budget for the after party?"]


def test_every_citation_quotes_its_segment(notes: npb.MeetingNotes) -> None:
    by_id = {s.segment_id: s for s in segments()}
    cited = [
        *(list(d.citations) for d in notes.decisions),
        *(list(a.citations) for a in notes.action_items),
        *(list(q.citations) for q in notes.open_questions),
        *(list(t.citations) for t in notes.topics),
    ]
    assert len(cited) == 8
    for citations in cited:
        assert citations
        for c in citations:
            segment = by_id[c.segment_id]
            assert c.quote in segment.text
            assert c.participant_id == segment.participant_id
            assert c.start.ToTimedelta().total_seconds() == segment.start_s


def test_the_notes_name_their_backend_participants_and_agenda(notes: npb.MeetingNotes) -> None:
    assert notes.backend == "offline"
    assert notes.kind == npb.MeetingNotes.KIND_FINAL and notes.version == 11
    assert {p.display_name for p in notes.participants} == set(PEOPLE.values())
    assert [t.title for t in notes.topics] == ["The launch plan"]
    assert notes.title == "The launch plan"
    said = " ".join(text for _, text in SCRIPT)
    summary = re.split(r"(?<=[.?!])\s+", notes.summary)
    assert 1 <= len(summary) <= 3 and all(sentence in said for sentence in summary), summary


def test_items_keep_their_ids_as_the_notes_grow() -> None:
    writer = OfflineNotesWriter("m-launch", MEETING_DAY)
    writer.add(segments(SCRIPT[:6]))
    early = writer.notes(npb.MeetingNotes.KIND_ROLLING, version=6)
    writer.add(segments(SCRIPT[:6]))  # a replayed batch changes nothing
    writer.add(segments(SCRIPT[6:], first=6))
    final = writer.notes(npb.MeetingNotes.KIND_FINAL, version=11)
    early_ids = {d.id for d in early.decisions} | {a.id for a in early.action_items}
    final_ids = {d.id for d in final.decisions} | {a.id for a in final.action_items}
    assert early_ids <= final_ids
    assert len(final.action_items) == 3
    (budget,) = [a for a in early.action_items if "budget" in a.task]
    assert budget.owner_as_spoken == "Bob", "before the reassignment"


@pytest.mark.parametrize(
    ("text", "spoken", "due"),
    [
        ("send it by Friday", "by Friday", "2026-02-20"),
        ("send it by Wednesday", "by Wednesday", "2026-02-25"),
        ("by next Friday please", "by next Friday", "2026-02-27"),
        ("done by tomorrow", "by tomorrow", "2026-02-19"),
        ("due March 3rd", "due March 3rd", "2026-03-03"),
        ("before the 10th", "before the 10th", "2026-03-10"),
        ("by the 20th", "by the 20th", "2026-02-20"),
        ("by end of month", "by end of month", "2026-02-28"),
        ("on January 5", "on January 5", "2027-01-05"),
    ],
)
def test_due_dates_resolve_against_the_meeting_day(text: str, spoken: str, due: str) -> None:
    assert find_due(text) == spoken
    resolved = resolve_due(spoken, MEETING_DAY)
    assert resolved is not None and resolved.isoformat() == due


def test_a_request_to_someone_unnamed_waits_for_an_owner() -> None:
    writer = OfflineNotesWriter("m", MEETING_DAY)
    said = [
        ("alice", "Can you send the revised budget by Friday?"),
        ("alice", "Actually, Carol will take that, not Bob."),
        ("bob", "Could you check the numbers?"),
        ("carol", "Sure."),  # named before she spoke: resolved once she has
    ]
    writer.add(segments(said))
    budget, numbers = writer.notes(npb.MeetingNotes.KIND_ROLLING, version=2).action_items
    assert (budget.task, budget.owner_participant_id) == ("Send the revised budget", "carol")
    assert (numbers.task, numbers.owner_as_spoken, numbers.owner_participant_id) == (
        "Check the numbers",
        "",
        "",
    )


@pytest.mark.parametrize(
    ("handover", "owner"),
    [
        ("Actually, Carol will take Matt, not Bob.", "carol"),  # "that", misheard
        ("Carol will handle this one, not Bob.", "carol"),
        ("Dana will do it instead.", "dana"),
    ],
)
def test_handovers_as_speech_recognition_writes_them(handover: str, owner: str) -> None:
    writer = OfflineNotesWriter("m", MEETING_DAY)
    said = [
        ("alice", "Bob, can you send the revised budget by Friday?"),
        ("alice", handover),
        ("carol", "Sure."),
        ("dana", "Okay."),
    ]
    writer.add(segments(said))
    (budget,) = writer.notes(npb.MeetingNotes.KIND_ROLLING, version=1).action_items
    assert budget.owner_participant_id == owner


def test_a_rejection_right_after_a_proposal_refers_to_it_despite_a_misheard_word() -> None:
    writer = OfflineNotesWriter("m", MEETING_DAY)
    said = [
        ("carol", "Let's move the servers to a new region."),
        ("bob", "No, let's not move the sermons this year."),
    ]
    writer.add(segments(said))
    (decision,) = writer.notes(npb.MeetingNotes.KIND_ROLLING, version=1).decisions
    assert decision.status == npb.Decision.STATUS_REJECTED
    assert decision.text == "Let's move the servers to a new region."


def test_an_agenda_item_is_not_a_decision_even_when_misheard() -> None:
    writer = OfflineNotesWriter("m", MEETING_DAY)
    writer.add(segments([("alice", "Good afternoon, let's talk him out on the spring campaign.")]))
    notes = writer.notes(npb.MeetingNotes.KIND_ROLLING, version=0)
    assert not notes.decisions
    assert [t.title for t in notes.topics] == ["Him out on the spring campaign"]


def test_a_handover_with_no_task_before_it_is_not_a_task() -> None:
    writer = OfflineNotesWriter("m", MEETING_DAY)
    writer.add(segments([("alice", "Actually, Carol will take that, not Bob.")]))
    assert not writer.notes(npb.MeetingNotes.KIND_ROLLING, version=0).action_items


def test_text_without_a_deadline_has_no_due_date() -> None:
    assert find_due("send it when you can") == ""


def test_markdown_shows_statuses_owners_and_sources(notes: npb.MeetingNotes) -> None:
    text = render_markdown(notes)
    assert text.startswith("# The launch plan\n")
    assert "- **rejected**: Let's switch the vendor to Acme Cloud." in text
    assert "- [ ] Book the venue for 120 people — **Dana Lee**, due 2026-03-01" in text
    assert "- [ ] Send the revised budget — **Carol Diaz**, due 2026-02-20" in text
    assert "_(Alice Park 00:25; Alice Park 00:30)_" in text


def test_the_summary_neither_repeats_itself_nor_presents_a_rejected_proposal(
    notes: npb.MeetingNotes,
) -> None:
    assert "Acme Cloud." not in notes.summary.replace("48,000", "")
    assert notes.summary.count("launch to March 3rd") == 1, notes.summary
