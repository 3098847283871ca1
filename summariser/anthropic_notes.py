"""Meeting notes written by Claude through the Anthropic Messages API.

The model answers through one forced tool (`record_meeting_notes`) whose input is a
`NotesDraft`; a draft that does not validate is rejected, never stored. The transcript goes
first in the prompt and is marked for prompt caching, so retries and the reduce step of a
long meeting pay for it once. A transcript over the token budget is summarised in parts
(map), and the parts' notes merged by one more call (reduce) that still cites segment ids.

Rolling notes after earlier ones Claude wrote are updated, not re-written: the prompt holds
the previous notes and only the segments stored since, so a rolling version costs what is
new, not the whole meeting again. Final notes always read the whole transcript.

Retries of 429, 529 and 5xx answers (honouring `retry-after`) are the SDK's; whatever is
left is raised as `NotesBackendError`, for the caller to fall back to the offline writer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import anthropic
from anthropic.types import Message, TextBlockParam, ToolUseBlock
from prometheus_client import Counter
from pydantic import ValidationError
from stenograph.v1 import notes_pb2 as npb

from summariser.claude_prompts import (
    REDUCE_PROMPT,
    SYSTEM_PROMPT,
    TOOL,
    TOOL_CHOICE,
    TOOL_NAME,
    UPDATE_PROMPT,
)
from summariser.notes_draft import NotesDraft, build_notes, draft_of
from summariser.offline_notes import kind_name
from summariser.transcript import Segment

log = logging.getLogger(__name__)

#: Output tokens a call may use: the notes of a long meeting, as JSON.
MAX_OUTPUT_TOKENS: Final = 8192
#: Map calls of one long meeting in flight at once.
MAP_CONCURRENCY: Final = 4
#: A rough token count: about four characters a token in English.
CHARS_PER_TOKEN: Final = 4

TOKENS: Final = Counter(
    "stenograph_notes_llm_tokens",
    "Tokens used by the Anthropic notes backend.",
    ["model", "kind", "type"],
)
CALLS: Final = Counter(
    "stenograph_notes_llm_calls",
    "Messages API calls of the notes backend, after the SDK's retries, by outcome.",
    ["model", "kind", "outcome"],
)


class NotesBackendError(Exception):
    """The notes could not be written: the API failed, or its answer was malformed."""


def transcript_lines(segments: Sequence[Segment], origin: float | None = None) -> list[str]:
    """One line per segment, in the order said, timed from `origin` (else the first one's)."""
    ordered = sorted(segments, key=lambda s: s.at_s)
    if origin is None:
        origin = min((s.at_s for s in ordered), default=0.0)
    lines = []
    for s in ordered:
        minutes, seconds = divmod(int(s.at_s - origin), 60)
        speaker = s.display_name or s.participant_id
        lines.append(f"[{s.segment_id}] {speaker} ({minutes:02d}:{seconds:02d}): {s.text}")
    return lines


def estimated_tokens(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN


def split_lines(lines: Sequence[str], token_budget: int) -> list[list[str]]:
    """Consecutive lines in parts of at most `token_budget` tokens (a longer line alone)."""
    parts: list[list[str]] = [[]]
    size = 0
    for line in lines:
        tokens = estimated_tokens(line) + 1
        if parts[-1] and size + tokens > token_budget:
            parts.append([])
            size = 0
        parts[-1].append(line)
        size += tokens
    return [part for part in parts if part]


@dataclass
class Usage:
    """Tokens of the calls that wrote one notes version."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_tokens: int = 0


def _text(text: str, *, cached: bool = False) -> TextBlockParam:
    if cached:
        return TextBlockParam(type="text", text=text, cache_control={"type": "ephemeral"})
    return TextBlockParam(type="text", text=text)


class AnthropicNotesWriter:
    """Notes of a meeting from its segments, by the rolling or the final model."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        *,
        rolling_model: str = "claude-haiku-4-5",
        final_model: str = "claude-sonnet-4-6",
        token_budget: int = 100_000,
    ) -> None:
        self._client = client
        self.rolling_model = rolling_model
        self.final_model = final_model
        self.token_budget = token_budget
        #: Tokens used per meeting so far; logged and forgotten with the final notes.
        self._meeting_tokens: dict[str, int] = {}

    @classmethod
    def connect(
        cls,
        *,
        api_key: str,
        base_url: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 3,
        rolling_model: str = "claude-haiku-4-5",
        final_model: str = "claude-sonnet-4-6",
        token_budget: int = 100_000,
    ) -> AnthropicNotesWriter:
        client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
        )
        return cls(
            client, rolling_model=rolling_model, final_model=final_model, token_budget=token_budget
        )

    async def close(self) -> None:
        await self._client.close()

    def model_for(self, kind: int) -> str:
        return self.final_model if kind == npb.MeetingNotes.KIND_FINAL else self.rolling_model

    @staticmethod
    def updates(kind: int, previous: npb.MeetingNotes | None) -> bool:
        """Whether notes of `kind` after `previous` are an update from the new segments only.

        Final notes read the whole transcript; so do the first notes after offline ones
        (Claude was down), so that Claude's notes are not built on the offline writer's.
        """
        return (
            kind != npb.MeetingNotes.KIND_FINAL
            and previous is not None
            and previous.backend.startswith("anthropic:")
        )

    async def notes(
        self,
        *,
        meeting_id: str,
        meeting_day: dt.date,
        segments: Sequence[Segment],
        kind: int,
        version: int,
        previous: npb.MeetingNotes | None = None,
        new_segments: Sequence[Segment] | None = None,
        now: dt.datetime | None = None,
    ) -> npb.MeetingNotes:
        """The notes of `segments`; raises `NotesBackendError` when none could be had.

        An update (`updates`) shows the model `previous` and `new_segments` (those stored
        since) alone; citations are checked against all of `segments`, so items carried
        over keep citing what was said before.
        """
        model = self.model_for(kind)
        usage = Usage()
        update = None
        if new_segments is not None and previous is not None and self.updates(kind, previous):
            origin = min((s.at_s for s in segments), default=0.0)
            update = self._update_prompt(transcript_lines(new_segments, origin), previous)
        if update is not None:
            system = SYSTEM_PROMPT + UPDATE_PROMPT
            draft = await self._draft(model, kind, update, usage, system=system)
        else:
            lines = transcript_lines(segments)
            if estimated_tokens("\n".join(lines)) <= self.token_budget:
                draft = await self._draft(model, kind, self._prompt(lines, previous), usage)
            else:
                draft = await self._map_reduce(model, kind, lines, previous, usage)
        notes = build_notes(
            draft,
            meeting_id=meeting_id,
            meeting_day=meeting_day,
            segments=segments,
            kind=kind,
            version=version,
            backend=f"anthropic:{model}",
            previous=previous,
            now=now,
        )
        self._log_usage(meeting_id, model, kind, usage)
        return notes

    # -- prompts ---------------------------------------------------------------------------
    @staticmethod
    def _prompt(
        lines: Sequence[str], previous: npb.MeetingNotes | None, part: str = ""
    ) -> list[TextBlockParam]:
        heading = f"Transcript{part}:\n" if part else "Transcript:\n"
        blocks = [_text(heading + "\n".join(lines), cached=True)]
        if previous is not None:
            blocks.append(_text("Previous notes:\n" + draft_of(previous).model_dump_json()))
        blocks.append(_text(f"Record the notes{part and ' of this part only'}."))
        return blocks

    def _update_prompt(
        self, new_lines: Sequence[str], previous: npb.MeetingNotes
    ) -> list[TextBlockParam] | None:
        """Previous notes and the new lines; None when they are over the token budget.

        Nothing is marked for caching: the next version's previous notes differ, so a cache
        entry would be paid for and never read.
        """
        shown = "Previous notes:\n" + draft_of(previous).model_dump_json()
        new = "New transcript lines:\n" + ("\n".join(new_lines) or "(none)")
        if estimated_tokens(shown + new) > self.token_budget:
            return None  # a long gap since the last version: summarise the whole meeting
        return [_text(shown), _text(new), _text("Record the updated notes of the meeting.")]

    async def _map_reduce(
        self,
        model: str,
        kind: int,
        lines: Sequence[str],
        previous: npb.MeetingNotes | None,
        usage: Usage,
    ) -> NotesDraft:
        parts = split_lines(lines, self.token_budget)
        gate = asyncio.Semaphore(MAP_CONCURRENCY)

        async def draft_part(i: int, part: list[str]) -> NotesDraft:
            async with gate:
                prompt = self._prompt(part, None, f" (part {i + 1} of {len(parts)})")
                return await self._draft(model, kind, prompt, usage)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(draft_part(i, p)) for i, p in enumerate(parts)]
        except ExceptionGroup as failed:  # the first failure; the other parts were cancelled
            raise failed.exceptions[0] from None
        drafts = "\n".join(
            f"Part {i + 1}: {task.result().model_dump_json()}" for i, task in enumerate(tasks)
        )
        blocks = [_text(f"Notes of the {len(parts)} parts, in order:\n{drafts}", cached=True)]
        if previous is not None:
            blocks.append(_text("Previous notes:\n" + draft_of(previous).model_dump_json()))
        blocks.append(_text("Record the merged notes of the whole meeting."))
        return await self._draft(model, kind, blocks, usage, system=SYSTEM_PROMPT + REDUCE_PROMPT)

    # -- the call --------------------------------------------------------------------------
    async def _draft(
        self,
        model: str,
        kind: int,
        content: list[TextBlockParam],
        usage: Usage,
        system: str = SYSTEM_PROMPT,
    ) -> NotesDraft:
        kind_label = kind_name(kind)
        try:
            message = await self._client.messages.create(
                model=model,
                max_tokens=MAX_OUTPUT_TOKENS,
                system=system,
                tools=[TOOL],
                tool_choice=TOOL_CHOICE,
                messages=[{"role": "user", "content": content}],
            )
        except anthropic.APITimeoutError as e:
            CALLS.labels(model, kind_label, "timeout").inc()
            raise NotesBackendError(f"{model} timed out") from e
        except anthropic.APIError as e:
            CALLS.labels(model, kind_label, "api_error").inc()
            raise NotesBackendError(f"{model} failed: {e}") from e
        self._count(message, model, kind_label, usage)
        try:
            draft = _draft_of(message)
        except NotesBackendError:
            CALLS.labels(model, kind_label, "malformed").inc()
            raise
        CALLS.labels(model, kind_label, "ok").inc()
        return draft

    @staticmethod
    def _count(message: Message, model: str, kind_label: str, usage: Usage) -> None:
        used = message.usage
        cache_read = used.cache_read_input_tokens or 0
        cache_creation = used.cache_creation_input_tokens or 0
        usage.calls += 1
        usage.input_tokens += used.input_tokens
        usage.output_tokens += used.output_tokens
        usage.cache_read_tokens += cache_read
        usage.cache_creation_tokens += cache_creation
        for kind, count in (
            ("input", used.input_tokens),
            ("output", used.output_tokens),
            ("cache_read", cache_read),
            ("cache_creation", cache_creation),
        ):
            TOKENS.labels(model, kind_label, kind).inc(count)

    def _log_usage(self, meeting_id: str, model: str, kind: int, usage: Usage) -> None:
        used = (
            usage.input_tokens
            + usage.output_tokens
            + usage.cache_read_tokens
            + usage.cache_creation_tokens
        )
        total = self._meeting_tokens.get(meeting_id, 0) + used
        if kind == npb.MeetingNotes.KIND_FINAL:
            self._meeting_tokens.pop(meeting_id, None)
        else:
            self._meeting_tokens[meeting_id] = total
        log.info(
            "anthropic notes written",
            extra={
                "meeting_id": meeting_id,
                "model": model,
                "kind": kind_name(kind),
                "calls": usage.calls,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_read_tokens": usage.cache_read_tokens,
                "cache_creation_tokens": usage.cache_creation_tokens,
                "meeting_tokens": total,
            },
        )


def _draft_of(message: Message) -> NotesDraft:
    """The draft in a message's tool call; `NotesBackendError` if there is none or it is bad."""
    if message.stop_reason == "max_tokens":
        raise NotesBackendError("the notes were cut off at the output token limit")
    calls = [b for b in message.content if isinstance(b, ToolUseBlock) and b.name == TOOL_NAME]
    if not calls:
        raise NotesBackendError(f"no {TOOL_NAME} call in the answer")
    try:
        return NotesDraft.model_validate(calls[0].input)
    except ValidationError as e:
        raise NotesBackendError(f"malformed notes: {e.error_count()} errors: {e}") from e
