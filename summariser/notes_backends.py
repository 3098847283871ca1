"""Which backend writes a meeting's notes: Claude when configured and healthy, else offline.

The offline writer always runs (it is cheap and needs nothing), so its notes are there to
fall back on whenever the Anthropic backend fails. After a few failures in a row a circuit
breaker stops asking the API for a while: an outage then costs one fallback per notes
version, not a timeout and the SDK's retries each time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from prometheus_client import Counter
from stenograph.v1 import notes_pb2 as npb

from server.settings import Settings
from summariser.anthropic_notes import AnthropicNotesWriter, NotesBackendError
from summariser.offline_notes import OfflineNotesWriter, kind_name
from summariser.transcript import Segment

log = logging.getLogger(__name__)

FALLBACKS: Final = Counter(
    "stenograph_notes_fallbacks",
    "Notes written by the offline writer because the Anthropic backend failed or was paused.",
    ["kind", "reason"],
)


@dataclass
class CircuitBreaker:
    """Open (calls paused) after `failure_threshold` failures in a row, for `cool_down_s`.

    Once the cool-down is over one call is let through: a success closes the breaker, a
    failure opens it for another cool-down.
    """

    failure_threshold: int = 3
    cool_down_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _failures: int = field(default=0, init=False)
    _opened_at: float | None = field(default=None, init=False)

    @property
    def open(self) -> bool:
        return self._opened_at is not None and self.clock() - self._opened_at < self.cool_down_s

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None

    def failed(self) -> None:
        self._failures += 1
        if self._failures >= self.failure_threshold:
            self._opened_at = self.clock()


class NotesBackends:
    """Writes each notes version with Claude when it can, else with the offline writer."""

    def __init__(
        self, anthropic: AnthropicNotesWriter | None, breaker: CircuitBreaker | None = None
    ) -> None:
        self.anthropic = anthropic
        self.breaker = breaker or CircuitBreaker()

    @classmethod
    def from_settings(cls, settings: Settings) -> NotesBackends:
        key = settings.anthropic_api_key
        if settings.notes_backend == "offline" or key is None:
            return cls(None)
        return cls(
            AnthropicNotesWriter.connect(
                api_key=key.get_secret_value(),
                base_url=settings.anthropic_base_url,
                timeout_s=settings.anthropic_timeout_s,
                max_retries=settings.anthropic_max_retries,
                rolling_model=settings.rolling_notes_model,
                final_model=settings.final_notes_model,
                token_budget=settings.notes_token_budget,
            )
        )

    @property
    def available(self) -> bool:
        """Whether the next notes would be asked of Claude."""
        return self.anthropic is not None and not self.breaker.open

    async def close(self) -> None:
        if self.anthropic is not None:
            await self.anthropic.close()

    async def notes(
        self,
        offline: OfflineNotesWriter,
        *,
        kind: int,
        version: int,
        segments: Callable[[], Awaitable[Sequence[Segment]]],
        segments_after: Callable[[int], Awaitable[Sequence[Segment]]] | None = None,
        previous: npb.MeetingNotes | None = None,
    ) -> npb.MeetingNotes:
        """The meeting's notes; the loaders run only if Claude is asked.

        `segments` loads the whole transcript; `segments_after(offset)` the segments stored
        after a transcript offset, so that rolling notes can be updated from what is new
        since the previous version instead of re-read from the whole meeting.
        """
        if self.anthropic is None:
            return offline.notes(kind, version)
        if self.breaker.open:
            FALLBACKS.labels(kind_name(kind), "circuit_open").inc()
            return offline.notes(kind, version)
        transcript = await segments()
        if not transcript:  # nothing was said: nothing to ask, and nothing to make up
            return offline.notes(kind, version)
        new_segments = None
        if (
            segments_after is not None
            and previous is not None
            and self.anthropic.updates(kind, previous)
        ):
            new_segments = await segments_after(previous.version)
        try:
            notes = await self.anthropic.notes(
                meeting_id=offline.meeting_id,
                meeting_day=offline.meeting_day,
                segments=transcript,
                kind=kind,
                version=version,
                previous=previous,
                new_segments=new_segments,
            )
        except NotesBackendError as e:
            self.breaker.failed()
            FALLBACKS.labels(kind_name(kind), "error").inc()
            log.warning(
                "anthropic notes failed; the offline writer wrote them",
                extra={
                    "meeting_id": offline.meeting_id,
                    "kind": kind_name(kind),
                    "error": str(e),
                    "circuit_open": self.breaker.open,
                },
            )
            return offline.notes(kind, version)
        self.breaker.succeeded()
        return notes
