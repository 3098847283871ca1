"""The offline notes writer: extractive summary and rule-based items, with no model or network.

It reads finals as they arrive (`add`) and keeps its items, so rolling notes grow without
re-reading the meeting. Every item keeps the id of the sentence that created it, so it keeps
its id across rolling versions and into the final notes, and cites the sentences it came from.
It handles what breaks naive notes: a proposal later rejected ("let's not…"), a task handed
to someone else ("actually, Carol will take that, not Bob"), an owner who is not the speaker
("Dana, can you…"), and numbers and dates, which are copied as spoken.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from google.protobuf.duration_pb2 import Duration
from stenograph.v1 import notes_pb2 as npb

from summariser.due_dates import find_due, resolve_due
from summariser.transcript import Segment, Sentence, sentences, words

BACKEND = "offline"

_NAME = r"(?-i:(?P<name>[A-Z][a-z]+))"
_LEAD = r"^(?:(?:ok(?:ay)?|so|and|also|then|alright|all right|great|right|well|now),?\s+)*"
_REQUEST = re.compile(
    _LEAD + _NAME + r",?\s+(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+)"
    r"(?P<task>[^?!]+?)[.?!]*$",
    re.IGNORECASE,
)
#: Someone is asked without being named (or their name was misheard): the owner is unknown
#: until a later sentence hands the task to someone.
_UNNAMED_REQUEST = re.compile(
    _LEAD + r"(?:\w+,\s+)?(?:can|could|would)\s+you\s+(?:please\s+)?(?P<task>[^?!]+?)[.?!]*$",
    re.IGNORECASE,
)
#: "Carol will take that, not Bob". With "not <name>" after it, any one word may stand for
#: "that" (speech recognition turns it into "Matt" or "this one").
_REASSIGN = re.compile(
    r"\b(?:actually,?\s+|instead,?\s+)?" + _NAME + r"\s+(?:will|should|can|is going to|'ll)\s+"
    r"(?:take|handle|own|do)\s+(?:"
    r"(?:that|this|it)(?:\s+(?:one|instead|over))?(?:,?\s+not\s+(?-i:(?P<previous>[A-Z][a-z]+)))?"
    r"|\w+(?:\s+one)?,?\s+not\s+(?-i:(?P<instead_of>[A-Z][a-z]+)))",
    re.IGNORECASE,
)
_THIRD_PERSON = re.compile(
    r"(?:^|[,;]\s*|\band\s+)" + _NAME + r"\s+(?:will|is going to|'ll)\s+(?P<task>[^.?!]+)",
    re.IGNORECASE,
)
_SELF = re.compile(
    r"\bI(?:'ll| will| am going to|'m going to)\s+"
    r"(?P<task>(?!(?:be|say|just say|think|guess|bet|tell you|admit|leave it|start)\b)[^.?!]+)",
    re.IGNORECASE,
)
_REJECT = re.compile(
    r"\b(?:let's not|let us not|we (?:won't|will not|are not going to|aren't going to|"
    r"shouldn't|should not|decided not to|agreed not to)|we're not going to)\s+(?P<what>[^.?!]+)",
    re.IGNORECASE,
)
_DEFER = re.compile(
    r"\b(?:let's|we'll|we will|we should)\s+(?:revisit|park|table|defer|postpone|come back to)"
    r"\s+(?P<what>[^.?!]+)",
    re.IGNORECASE,
)
_AGREE = re.compile(
    r"\b(?:we(?:'ve| have)?\s+(?:decided|agreed)\s+(?:to|that|on)|let's|let us|"
    r"we(?:'ll| will)\s+go with|the decision is(?:\s+to)?|we're going with)\s+(?P<what>[^.?!]+)",
    re.IGNORECASE,
)
#: "Let's…" that opens an agenda item rather than deciding something.
_AGENDA = re.compile(
    r"^(?:talk|discuss|move on to|turn to|look at|go over|review|start with|begin with)\b"
    r"(?:\s+about)?\s+(?P<topic>.+)",
    re.IGNORECASE,
)
_NOT_A_DECISION = re.compile(
    r"^(?:see|get started|start|begin|move on|wrap up|recap|go around|take a look|hear|hope|"
    r"say|just|think|try to remember)\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"^(?:what|when|where|who|whom|which|why|how|should|shall|do|does|did|is|are|was|were|"
    r"can we|could we|will we|would we|have we|has)\b",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    words(
        "a about after again all also am an and any are as at be been before being but by can "
        "could did do does doing don't for from get go going gonna got had has have he her here "
        "him his how i i'll i'm if in into is it it's its just let's like me more my no not now "
        "of ok okay on one or our out over really right she so some that that's the their them "
        "then there they think this to too up us very was we we'll we're well were what when "
        "where which who will with would yeah yes you you're your"
    )
)
SUMMARY_SENTENCES = 3
TOPIC_WINDOW_S = 120.0


def participant_for(name: str, participants: Mapping[str, str]) -> str:
    """The participant a spoken name ("Dana") refers to, by first name, full name or id; ""
    if none does. `participants` maps participant ids to display names."""
    wanted = name.lower()
    for participant_id, display_name in participants.items():
        first = (display_name.split() or [""])[0].lower()
        if wanted in (first, display_name.lower(), participant_id.lower()):
            return participant_id
    return ""


def item_id(prefix: str, key: str) -> str:
    return f"{prefix}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def kind_name(kind: int) -> str:
    """ "rolling" or "final": how a notes kind is stored, asked for over HTTP and labelled."""
    return npb.MeetingNotes.Kind.Name(kind).removeprefix("KIND_").lower()


def to_duration(seconds: float) -> Duration:
    d = Duration()
    d.FromMilliseconds(round(seconds * 1000))
    return d


def citation(sentence: Sentence) -> npb.Citation:
    segment = sentence.segment
    return npb.Citation(
        segment_id=segment.segment_id,
        participant_id=segment.participant_id,
        start=to_duration(segment.start_s),
        end=to_duration(segment.end_s),
        quote=sentence.text,
    )


def _clause(text: str) -> str:
    """A captured clause made readable: trimmed, first letter up, numbers left as spoken."""
    text = text.strip(" ,;:")
    return text[:1].upper() + text[1:]


def _content(text: str) -> set[str]:
    return {w for w in words(text) if w not in _STOPWORDS}


def _same_subject(a: str, b: str) -> bool:
    x, y = _content(a), _content(b)
    return bool(x and y) and len(x & y) >= 0.5 * min(len(x), len(y))


@dataclass
class OfflineNotesWriter:
    """One meeting's notes, fed its finals in the order they were said."""

    meeting_id: str
    meeting_day: dt.date
    _participants: dict[str, str] = field(default_factory=dict)
    _sentences: list[Sentence] = field(default_factory=list)
    _decisions: list[npb.Decision] = field(default_factory=list)
    _actions: list[npb.ActionItem] = field(default_factory=list)
    _questions: list[npb.OpenQuestion] = field(default_factory=list)
    _agenda: list[tuple[Sentence, str]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def add(self, segments: Iterable[Segment]) -> None:
        """Read new finals; a segment already read (a replayed event) changes nothing."""
        fresh = [s for s in segments if s.segment_id not in self._seen]
        for segment in fresh:
            self._seen.add(segment.segment_id)
            self._participants.setdefault(segment.participant_id, segment.display_name)
        for sentence in sentences(fresh):
            self._sentences.append(sentence)
            self._read(sentence)

    # -- rules -----------------------------------------------------------------------------
    def _read(self, sentence: Sentence) -> None:
        text = sentence.text
        if self._reassign(sentence):
            return
        if (m := _REQUEST.search(text)) and m.group("name").lower() not in _STOPWORDS:
            self._add_action(sentence, m.group("task"), m.group("name"))
            return
        if m := _UNNAMED_REQUEST.search(text):
            self._add_action(sentence, m.group("task"), "", "")
            return
        if m := _REJECT.search(text):
            self._decide(sentence, m.group("what"), npb.Decision.STATUS_REJECTED)
            return
        if m := _DEFER.search(text):
            self._decide(sentence, m.group("what"), npb.Decision.STATUS_DEFERRED)
            return
        if m := _AGREE.search(text):
            what = m.group("what")
            if agenda := _AGENDA.match(what):
                self._agenda.append((sentence, _clause(agenda.group("topic"))))
            elif not _NOT_A_DECISION.match(what):
                self._decide(sentence, what, npb.Decision.STATUS_AGREED)
            return
        if (m := _THIRD_PERSON.search(text)) and m.group("name").lower() not in _STOPWORDS:
            self._add_action(sentence, m.group("task"), m.group("name"))
            return
        if m := _SELF.search(text):
            self._add_action(sentence, m.group("task"), "I", sentence.segment.participant_id)
            return
        if text.endswith("?") and _QUESTION.match(text) and len(words(text)) >= 4:
            self._questions.append(
                npb.OpenQuestion(
                    id=item_id("q", sentence.key),
                    text=text,
                    asked_by_participant_id=sentence.segment.participant_id,
                    citations=[citation(sentence)],
                )
            )

    def _decide(self, sentence: Sentence, what: str, status: int) -> None:
        # A rejection or deferral of an earlier proposal changes that decision, not a new one.
        # One that follows a proposal directly refers to it even when a word was misheard
        # ("let's not move the sermons" after "let's move the servers"): one word in common.
        if status != npb.Decision.STATUS_AGREED:
            for age, decision in enumerate(reversed(self._decisions)):
                latest = age == 0 and decision.status == npb.Decision.STATUS_AGREED
                if _same_subject(decision.text, what) or (
                    latest and _content(decision.text) & _content(what)
                ):
                    decision.status = status  # type: ignore[assignment]
                    decision.citations.append(citation(sentence))
                    return
        self._decisions.append(
            npb.Decision(
                id=item_id("d", sentence.key),
                text=sentence.text,
                status=status,  # type: ignore[arg-type]
                citations=[citation(sentence)],
            )
        )

    def _owner_id(self, name: str) -> str:
        return participant_for(name, self._participants)

    def _add_action(
        self, sentence: Sentence, task: str, owner: str, owner_id: str | None = None
    ) -> None:
        due = find_due(task) or find_due(sentence.text)
        if due and due in task:
            task = task.replace(due, " ").replace("  ", " ")
        resolved = resolve_due(due, self.meeting_day) if due else None
        self._actions.append(
            npb.ActionItem(
                id=item_id("a", sentence.key),
                task=_clause(task),
                owner_as_spoken=owner,
                owner_participant_id=self._owner_id(owner) if owner_id is None else owner_id,
                due_as_spoken=due,
                due_date=resolved.isoformat() if resolved else "",
                status=npb.ActionItem.STATUS_OPEN,
                citations=[citation(sentence)],
            )
        )

    def _reassign(self, sentence: Sentence) -> bool:
        m = _REASSIGN.search(sentence.text)
        if not m or m.group("name").lower() in _STOPWORDS:
            return False
        if not self._actions:  # "that" refers to nothing we caught; not a task of its own
            return True
        previous = (m.group("previous") or m.group("instead_of") or "").lower()
        candidates = [a for a in self._actions if a.owner_as_spoken.lower() == previous]
        item = (candidates or self._actions)[-1]
        item.owner_as_spoken = m.group("name")
        item.owner_participant_id = self._owner_id(m.group("name"))
        item.citations.append(citation(sentence))
        return True

    # -- output ----------------------------------------------------------------------------
    def _summary(self) -> str:
        """The most central sentences, none repeating another, none a rejected proposal."""
        counts = Counter(w for s in self._sentences for w in _content(s.text))
        rejected = {
            c.quote
            for d in self._decisions
            if d.status == npb.Decision.STATUS_REJECTED
            for c in d.citations
        }
        scored = []
        for i, s in enumerate(self._sentences):
            content = _content(s.text)
            if len(words(s.text)) >= 6 and content and s.text not in rejected:
                scored.append((sum(counts[w] for w in content) / len(content), i))
        chosen: list[int] = []
        for _, i in sorted(scored, reverse=True):
            text = self._sentences[i].text
            if not any(_same_subject(text, self._sentences[j].text) for j in chosen):
                chosen.append(i)
            if len(chosen) == SUMMARY_SENTENCES:
                break
        return " ".join(self._sentences[i].text for i in sorted(chosen))

    def _topics(self) -> list[npb.Topic]:
        """Agenda items said aloud ("let's talk about…"), else windows of the meeting."""
        if not self._sentences:
            return []
        origin = min(s.segment.at_s for s in self._sentences)
        if self._agenda:
            marks = list(self._agenda)
        else:  # no agenda said aloud: one topic per window, named by its commonest words
            marks = []
            for s in sorted(self._sentences, key=lambda s: s.segment.at_s):
                if not marks or s.segment.at_s >= marks[-1][0].segment.at_s + TOPIC_WINDOW_S:
                    marks.append((s, ""))
        topics = []
        for i, (mark, title) in enumerate(marks):
            end = marks[i + 1][0].segment.at_s if i + 1 < len(marks) else None
            inside = [
                s
                for s in self._sentences
                if s.segment.at_s >= mark.segment.at_s and (end is None or s.segment.at_s < end)
            ]
            if not title:
                common = Counter(w for s in inside for w in _content(s.text)).most_common(3)
                title = ", ".join(w for w, _ in common).capitalize()
            last = max(s.segment.at_s + s.segment.end_s - s.segment.start_s for s in inside)
            topics.append(
                npb.Topic(
                    id=item_id("t", mark.key),
                    title=title,
                    start=to_duration(mark.segment.at_s - origin),
                    end=to_duration(last - origin),
                    citations=[citation(mark)],
                )
            )
        return topics

    def notes(self, kind: int, version: int, now: dt.datetime | None = None) -> npb.MeetingNotes:
        for action in self._actions:  # an owner may speak only after being named
            if action.owner_as_spoken and action.owner_as_spoken != "I":
                action.owner_participant_id = self._owner_id(action.owner_as_spoken)
        topics = self._topics()
        notes = npb.MeetingNotes(
            meeting_id=self.meeting_id,
            kind=kind,  # type: ignore[arg-type]
            version=version,
            backend=BACKEND,
            title=topics[0].title if topics else f"Meeting {self.meeting_id}",
            summary=self._summary(),
            participants=[
                npb.NotesParticipant(participant_id=p, display_name=n)
                for p, n in self._participants.items()
            ],
            topics=topics,
            decisions=self._decisions,
            action_items=self._actions,
            open_questions=self._questions,
        )
        notes.generated_at.FromDatetime(now or dt.datetime.now(dt.UTC))
        return notes
