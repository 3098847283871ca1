"""What all streams of a process share: settings, the inference scheduler, VAD, the publisher.

Live streams are admitted while the scheduler measures headroom for one more (see
`streaming.load`); uploads and `--fast` streams only use what live streams leave, so they
are held to the `max_streams` cap alone.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from server import metrics
from server.settings import Settings, usable_cores
from server.transcript_publisher import TranscriptPublisher
from streaming.errors import NodeFull
from streaming.load import ADMISSION_WINDOW_S, Admission, cpu_capacity
from streaming.recognizer import load_whisper
from streaming.scheduler import BatchRun, InferenceScheduler
from streaming.vad import SileroVoiceDetector

log = logging.getLogger(__name__)


def _observe(run: BatchRun) -> None:
    label = run.priority.name.lower()
    if run.greedy:
        metrics.GREEDY_PARTIALS.inc(run.size)
    metrics.BATCH_SIZE.labels(priority=label).observe(run.size)
    metrics.PADDED_REDOS.labels(priority=label).inc(run.redone)
    metrics.PASS_FAILURES.labels(priority=label).inc(run.failed)
    metrics.BATCH_SECONDS.labels(priority=label).observe(run.seconds)
    for wait in run.waits:
        metrics.QUEUE_WAIT.labels(priority=label).observe(wait)


@dataclass(slots=True)
class Node:
    settings: Settings
    scheduler: InferenceScheduler
    vad: SileroVoiceDetector
    publisher: TranscriptPublisher | None = None
    active_streams: int = 0
    #: Admission times of the live streams being served.
    live_admitted_at: list[float] = field(default_factory=list)

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
        scheduler = InferenceScheduler(
            recognizer,
            workers=settings.asr_workers,
            max_batch=settings.asr_max_batch,
            observer=_observe,
            backlog_observer=metrics.STREAM_BACKLOG.observe,
        )
        capacity = settings.asr_effective_workers
        if capacity is None and recognizer.device == "cpu":
            capacity = cpu_capacity(settings.asr_workers, settings.asr_cpu_threads, usable_cores())
        scheduler.calibrate(capacity)
        metrics.INFERENCE_CAPACITY.set(scheduler.load.capacity)
        node = cls(settings, scheduler, SileroVoiceDetector(), publisher)
        metrics.PREDICTED_LOAD.set_function(lambda: node.live_admission().predicted_busy)
        metrics.ACCEPTING.set_function(lambda: float(node.has_room))
        metrics.STREAMS_BEHIND.set_function(
            lambda: scheduler.load.stream_backlog_s(len(node.live_admitted_at))
        )
        metrics.PARTIAL_INTERVAL.set_function(
            lambda: scheduler.partial_interval_s(settings.partial_interval_s)
        )
        metrics.PARTIAL_BEAM.set_function(
            lambda: scheduler.load.partial_beam_size(settings.partial_beam_size)
        )
        return node

    @property
    def model_label(self) -> str:
        return self.scheduler.label

    def _at_cap(self) -> Admission | None:
        if self.active_streams < self.settings.max_streams:
            return None
        return Admission(False, 1.0, f"serving its maximum of {self.settings.max_streams} streams")

    def live_admission(self) -> Admission:
        """Whether one more live stream would be kept real time, from measured load."""
        if (full := self._at_cap()) is not None:
            return full
        if not self.settings.admission_control:
            return Admission(
                True, self.scheduler.load.busy_at_slowest_partials(self.settings.partial_interval_s)
            )
        settle_from = time.monotonic() - ADMISSION_WINDOW_S
        settling = sum(1 for at in self.live_admitted_at if at > settle_from)
        return self.scheduler.admission(
            len(self.live_admitted_at),
            settling,
            self.settings.partial_interval_s,
            self.settings.admission_max_load,
            self.settings.admission_max_backlog_s,
        )

    @property
    def has_room(self) -> bool:
        """A live stream would be admitted now (what /readyz reports to load balancers)."""
        return self.live_admission().admitted

    @contextlib.contextmanager
    def admit(self, transport: str, *, live: bool = True) -> Iterator[None]:
        """Hold a stream slot; refuse at once (never queue and starve) when there is none."""
        # Uploads only use what live streams leave: they are held to the cap alone.
        decision = self.live_admission() if live else self._at_cap() or Admission(True, 0.0)
        if not decision.admitted:
            metrics.STREAMS_REFUSED.labels(transport=transport).inc()
            log.info("stream refused", extra={"reason": decision.reason, "live": live})
            raise NodeFull(
                f"node cannot take another stream ({decision.reason}); retry on another node"
            )
        admitted_at = time.monotonic()
        mode = "live" if live else "batch"
        self.active_streams += 1
        if live:
            self.live_admitted_at.append(admitted_at)
        metrics.ACTIVE_STREAMS.set(self.active_streams)
        metrics.STREAMS_BY_MODE.labels(mode=mode).inc()
        try:
            yield
        finally:
            self.active_streams -= 1
            if live:
                self.live_admitted_at.remove(admitted_at)
            metrics.ACTIVE_STREAMS.set(self.active_streams)
            metrics.STREAMS_BY_MODE.labels(mode=mode).dec()

    def close(self) -> None:
        self.scheduler.close()
