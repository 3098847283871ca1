"""What all streams of a process share: settings, the model, VAD, the Kafka publisher, slots."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from server import metrics
from server.settings import Settings
from server.transcript_publisher import TranscriptPublisher
from streaming.errors import NodeFull
from streaming.recognizer import WhisperRecognizer, load_whisper
from streaming.vad import SileroVoiceDetector

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Node:
    settings: Settings
    recognizer: WhisperRecognizer
    vad: SileroVoiceDetector
    publisher: TranscriptPublisher | None = None
    active_streams: int = field(default=0)

    @classmethod
    def load(cls, settings: Settings, publisher: TranscriptPublisher | None = None) -> Node:
        """Load the model and VAD once for the whole process (blocking; call before serving)."""
        recognizer = load_whisper(
            settings.model,
            device=settings.device,
            compute_type=settings.compute_type,
            workers=settings.asr_workers,
            cpu_threads=settings.asr_cpu_threads,
            partial_beam_size=settings.partial_beam_size,
            final_beam_size=settings.final_beam_size,
        )
        return cls(settings, recognizer, SileroVoiceDetector(), publisher)

    @property
    def has_room(self) -> bool:
        return self.active_streams < self.settings.max_streams

    @contextlib.contextmanager
    def admit(self, transport: str) -> Iterator[None]:
        """Hold a stream slot; refuse at once (never queue and starve) when the node is full."""
        if not self.has_room:
            metrics.STREAMS_REFUSED.labels(transport=transport).inc()
            raise NodeFull(
                f"node is serving its maximum of {self.settings.max_streams} streams; "
                "retry on another node"
            )
        self.active_streams += 1
        metrics.ACTIVE_STREAMS.set(self.active_streams)
        try:
            yield
        finally:
            self.active_streams -= 1
            metrics.ACTIVE_STREAMS.set(self.active_streams)

    def close(self) -> None:
        self.recognizer.close()
