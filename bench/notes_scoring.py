"""Scores for notes against what was planted in the meeting."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from notes_meetings import ScriptedMeeting

_WORD = re.compile(r"[a-z0-9']+")
_FILLER = frozenset(
    _WORD.findall("a an and the to of for on in by is it we let's can you i will not no")
)


def _text(item: dict[str, Any]) -> str:
    return str(item.get("text") or item.get("task") or "").lower()


def _claims(item: dict[str, Any]) -> str:
    """What an item asserts: its text, and for a task who owns it (a handover supports that)."""
    owner = f" {item.get('owner_as_spoken', '')} {item.get('owner_participant_id', '')}"
    return _text(item) + owner.lower()


def _content(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _FILLER}


@dataclass
class MeetingScore:
    meeting_id: str
    decisions_found: int = 0
    decisions_planted: int = 0
    decisions_predicted: int = 0
    decision_status_right: int = 0
    actions_found: int = 0
    actions_planted: int = 0
    actions_predicted: int = 0
    owners_right: int = 0
    citations: int = 0
    citations_supported: int = 0
    misses: list[str] = field(default_factory=list)


def score_meeting(
    meeting: ScriptedMeeting, notes: dict[str, Any], transcript: dict[str, Any]
) -> MeetingScore:
    """Recall, precision, status and owner accuracy, and whether citations check out."""
    score = MeetingScore(meeting.meeting_id)
    decisions = notes.get("decisions", [])
    actions = notes.get("action_items", [])
    score.decisions_planted, score.decisions_predicted = len(meeting.decisions), len(decisions)
    score.actions_planted, score.actions_predicted = len(meeting.actions), len(actions)
    for planted in meeting.decisions:
        hits = [d for d in decisions if all(k in _text(d) for k in planted.keywords)]
        if hits:
            score.decisions_found += 1
            score.decision_status_right += hits[0].get("status") == planted.status
        else:
            score.misses.append(f"decision {planted.keywords}")
    for planted_action in meeting.actions:
        hits = [a for a in actions if all(k in _text(a) for k in planted_action.keywords)]
        if hits:
            score.actions_found += 1
            score.owners_right += hits[0].get("owner_participant_id") == planted_action.owner
        else:
            score.misses.append(f"action {planted_action.keywords}")
    said = {s["segment_id"]: s for s in transcript.get("segments", [])}
    for item in [*decisions, *actions, *notes.get("open_questions", [])]:
        for citation in item.get("citations", []):
            score.citations += 1
            segment = said.get(citation.get("segment_id", ""))
            quote = citation.get("quote", "")
            score.citations_supported += bool(
                segment is not None
                and quote
                and quote in segment["text"]
                and citation.get("participant_id") == segment["participant_id"]
                and _content(quote) & _content(_claims(item))
            )
    return score


def id_churn(versions: list[dict[str, Any]]) -> tuple[int, int]:
    """(items of a version whose id is gone from the next version, items compared)."""
    churned = compared = 0
    for older, newer in zip(versions, versions[1:], strict=False):
        newer_ids = {i["id"] for i in newer.get("decisions", []) + newer.get("action_items", [])}
        for item in older.get("decisions", []) + older.get("action_items", []):
            compared += 1
            churned += item["id"] not in newer_ids
    return churned, compared
