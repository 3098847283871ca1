"""Meeting notes for people: a Markdown rendering of `MeetingNotes`."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.duration_pb2 import Duration
from stenograph.v1 import notes_pb2 as npb

_DECISION_STATUS = {
    npb.Decision.STATUS_AGREED: "agreed",
    npb.Decision.STATUS_REJECTED: "rejected",
    npb.Decision.STATUS_DEFERRED: "deferred",
}


def _clock(d: Duration) -> str:
    seconds = int(d.ToTimedelta().total_seconds())
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _sources(citations: Sequence[npb.Citation], names: dict[str, str]) -> str:
    cited = (
        f"{names.get(c.participant_id, c.participant_id)} {_clock(c.start)}" for c in citations
    )
    return f" _({'; '.join(cited)})_" if citations else ""


def render_markdown(notes: npb.MeetingNotes) -> str:
    names = {p.participant_id: p.display_name or p.participant_id for p in notes.participants}
    kind = "Final notes" if notes.kind == npb.MeetingNotes.KIND_FINAL else "Notes so far"
    lines = [f"# {notes.title or notes.meeting_id}", ""]
    lines += [
        f"{kind} for meeting `{notes.meeting_id}`, version {notes.version}, "
        f"written by {notes.backend}.",
        "",
    ]
    if notes.participants:
        lines += ["**Participants:** " + ", ".join(names.values()), ""]
    if notes.summary:
        lines += ["## Summary", "", notes.summary, ""]
    if notes.decisions:
        lines += ["## Decisions", ""]
        for d in notes.decisions:
            status = _DECISION_STATUS.get(d.status, "unknown")
            lines.append(f"- **{status}**: {d.text}{_sources(d.citations, names)}")
        lines.append("")
    if notes.action_items:
        lines += ["## Action items", ""]
        for a in notes.action_items:
            owner = names.get(a.owner_participant_id) or a.owner_as_spoken or "unassigned"
            due = f", due {a.due_date or a.due_as_spoken}" if a.due_as_spoken else ""
            lines.append(f"- [ ] {a.task} — **{owner}**{due}{_sources(a.citations, names)}")
        lines.append("")
    if notes.open_questions:
        lines += ["## Open questions", ""]
        lines += [f"- {q.text}{_sources(q.citations, names)}" for q in notes.open_questions]
        lines.append("")
    if notes.topics:
        lines += ["## Topics", ""]
        lines += [f"- {_clock(t.start)}–{_clock(t.end)} {t.title}" for t in notes.topics]
        lines.append("")
    return "\n".join(lines)
