"""Notes as a language model drafts them, checked, and turned into a `MeetingNotes`.

A draft names what was said only by segment id. Building the notes checks every id against
the transcript: a citation of a segment that does not exist is dropped, and an item left
with nothing to cite is dropped with it, so nothing reaches the notes that the transcript
does not show was said. Item ids carry over from the previous notes when the draft keeps
one; a new item gets the id the offline writer would give it (from the segment that first
said it), so ids stay stable across versions and backends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final, Literal

from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field
from stenograph.v1 import notes_pb2 as npb

from summariser.due_dates import find_due, resolve_due
from summariser.offline_notes import item_id, participant_for, to_duration
from summariser.transcript import Segment

DROPPED: Final = Counter(
    "stenograph_notes_draft_dropped",
    "Citations of unknown segments, and items left with no citation, dropped from drafts.",
    ["what"],
)

#: An owner who is the speaker, as a model may copy it.
_SELF_WORDS: Final = frozenset({"i", "me", "myself"})


class _Item(BaseModel):
    # Extra keys are ignored rather than rejected: they cannot reach the notes.
    model_config = ConfigDict(extra="ignore")

    id: str = Field(
        default="", description="The id of the same item in the previous notes, else empty."
    )
    segment_ids: list[str] = Field(description="Ids of the segments where it was said.")


class DraftTopic(_Item):
    title: str


class DraftDecision(_Item):
    text: str
    status: Literal["agreed", "rejected", "deferred"]


class DraftActionItem(_Item):
    task: str
    owner_as_spoken: str = Field(description="The owner exactly as spoken, or empty.")
    due_as_spoken: str = Field(description="The deadline exactly as spoken, or empty.")
    status: Literal["open", "done", "cancelled"]


class DraftOpenQuestion(_Item):
    text: str


class NotesDraft(BaseModel):
    """What the model is asked to return: the input of the notes tool."""

    model_config = ConfigDict(extra="ignore")

    title: str
    summary: str
    topics: list[DraftTopic]
    decisions: list[DraftDecision]
    action_items: list[DraftActionItem]
    open_questions: list[DraftOpenQuestion]


_DECISION_STATUS: Final = {
    "agreed": npb.Decision.STATUS_AGREED,
    "rejected": npb.Decision.STATUS_REJECTED,
    "deferred": npb.Decision.STATUS_DEFERRED,
}
_ACTION_STATUS: Final = {
    "open": npb.ActionItem.STATUS_OPEN,
    "done": npb.ActionItem.STATUS_DONE,
    "cancelled": npb.ActionItem.STATUS_CANCELLED,
}


def draft_of(notes: npb.MeetingNotes) -> NotesDraft:
    """Stored notes in the draft's shape: what the model is shown as the previous notes."""

    def cited(citations: Sequence[npb.Citation]) -> list[str]:
        return [c.segment_id for c in citations]

    decision_status = {v: k for k, v in _DECISION_STATUS.items()}
    action_status = {v: k for k, v in _ACTION_STATUS.items()}
    return NotesDraft(
        title=notes.title,
        summary=notes.summary,
        topics=[
            DraftTopic(id=t.id, title=t.title, segment_ids=cited(t.citations)) for t in notes.topics
        ],
        decisions=[
            DraftDecision(
                id=d.id,
                text=d.text,
                status=decision_status.get(d.status, "agreed"),  # type: ignore[arg-type]
                segment_ids=cited(d.citations),
            )
            for d in notes.decisions
        ],
        action_items=[
            DraftActionItem(
                id=a.id,
                task=a.task,
                owner_as_spoken=a.owner_as_spoken,
                due_as_spoken=a.due_as_spoken,
                status=action_status.get(a.status, "open"),  # type: ignore[arg-type]
                segment_ids=cited(a.citations),
            )
            for a in notes.action_items
        ],
        open_questions=[
            DraftOpenQuestion(id=q.id, text=q.text, segment_ids=cited(q.citations))
            for q in notes.open_questions
        ],
    )


class _Builder:
    """Citations and ids for the items of one draft."""

    def __init__(self, segments: Sequence[Segment], previous: npb.MeetingNotes | None) -> None:
        self.by_id = {s.segment_id: s for s in segments}
        self.previous_ids: set[str] = set()
        if previous is not None:
            for items in (
                previous.topics,
                previous.decisions,
                previous.action_items,
                previous.open_questions,
            ):
                self.previous_ids.update(item.id for item in items)
        self.used_ids: set[str] = set()

    def cited(self, item: _Item) -> list[Segment]:
        found: list[Segment] = []
        for segment_id in dict.fromkeys(item.segment_ids):  # once each, in the model's order
            segment = self.by_id.get(segment_id)
            if segment is None:
                DROPPED.labels("citation").inc()
            else:
                found.append(segment)
        if not found:
            DROPPED.labels("item").inc()
        return found

    def id_for(self, item: _Item, prefix: str, first: Segment) -> str:
        # Kept from the previous notes only when it names an item of the same kind there.
        kept = item.id in self.previous_ids and item.id.startswith(f"{prefix}-")
        if kept and item.id not in self.used_ids:
            self.used_ids.add(item.id)
            return item.id
        index = 0
        while (new := item_id(prefix, f"{first.segment_id}#{index}")) in self.used_ids:
            index += 1
        self.used_ids.add(new)
        return new


def citation_of(segment: Segment) -> npb.Citation:
    return npb.Citation(
        segment_id=segment.segment_id,
        participant_id=segment.participant_id,
        start=to_duration(segment.start_s),
        end=to_duration(segment.end_s),
        quote=segment.text,
    )


def participants_of(segments: Sequence[Segment]) -> dict[str, str]:
    """Participant ids to display names, in the order they first spoke."""
    participants: dict[str, str] = {}
    for segment in segments:
        participants.setdefault(segment.participant_id, segment.display_name)
    return participants


def _due(spoken: str, meeting_day: dt.date) -> str:
    # Only a phrase that reads as a deadline is resolved: a model's free text is not a date.
    phrase = find_due(spoken) or find_due(f"by {spoken}")
    resolved = resolve_due(phrase, meeting_day) if phrase else None
    return resolved.isoformat() if resolved else ""


def _owner(spoken: str, speaker: Segment, participants: Mapping[str, str]) -> str:
    if not spoken.strip():
        return ""
    if spoken.strip().lower() in _SELF_WORDS:
        return speaker.participant_id
    return participant_for(spoken.strip(), participants)


def build_notes(
    draft: NotesDraft,
    *,
    meeting_id: str,
    meeting_day: dt.date,
    segments: Sequence[Segment],
    kind: int,
    version: int,
    backend: str,
    previous: npb.MeetingNotes | None = None,
    now: dt.datetime | None = None,
) -> npb.MeetingNotes:
    """The notes a draft describes, holding only what the transcript shows was said."""
    build = _Builder(segments, previous)
    participants = participants_of(segments)
    origin = min((s.at_s for s in segments), default=0.0)
    notes = npb.MeetingNotes(
        meeting_id=meeting_id,
        kind=kind,  # type: ignore[arg-type]
        version=version,
        backend=backend,
        title=draft.title.strip() or f"Meeting {meeting_id}",
        summary=draft.summary.strip(),
        participants=[
            npb.NotesParticipant(participant_id=p, display_name=n) for p, n in participants.items()
        ],
    )
    for topic in draft.topics:
        if cited := build.cited(topic):
            notes.topics.append(
                npb.Topic(
                    id=build.id_for(topic, "t", cited[0]),
                    title=topic.title,
                    start=to_duration(min(s.at_s for s in cited) - origin),
                    end=to_duration(max(s.at_s + s.end_s - s.start_s for s in cited) - origin),
                    citations=[citation_of(s) for s in cited],
                )
            )
    for decision in draft.decisions:
        if cited := build.cited(decision):
            notes.decisions.append(
                npb.Decision(
                    id=build.id_for(decision, "d", cited[0]),
                    text=decision.text,
                    status=_DECISION_STATUS[decision.status],
                    citations=[citation_of(s) for s in cited],
                )
            )
    for action in draft.action_items:
        if cited := build.cited(action):
            notes.action_items.append(
                npb.ActionItem(
                    id=build.id_for(action, "a", cited[0]),
                    task=action.task,
                    owner_as_spoken=action.owner_as_spoken,
                    owner_participant_id=_owner(action.owner_as_spoken, cited[0], participants),
                    due_as_spoken=action.due_as_spoken,
                    due_date=_due(action.due_as_spoken, meeting_day),
                    status=_ACTION_STATUS[action.status],
                    citations=[citation_of(s) for s in cited],
                )
            )
    for question in draft.open_questions:
        if cited := build.cited(question):
            notes.open_questions.append(
                npb.OpenQuestion(
                    id=build.id_for(question, "q", cited[0]),
                    text=question.text,
                    asked_by_participant_id=cited[0].participant_id,
                    citations=[citation_of(s) for s in cited],
                )
            )
    notes.generated_at.FromDatetime(now or dt.datetime.now(dt.UTC))
    return notes
