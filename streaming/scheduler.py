"""The node's one inference queue: every stream's Whisper passes, batched across streams.

Sessions `await scheduler.recognize(...)`; worker threads (one per CTranslate2 worker) take
the most urgent pending pass and the compatible passes waiting with it (their share, when other
workers are free too), and run them as one batch. Compatible means the same priority,
language and decode (final or partial), a prompt of the same token length, and audio in the
same length bucket, so padding within a batch stays small. Finals go before partials and
live streams before uploads (which get only the workers live streams leave:
`LoadMeter.bulk_batch_limit`); a busy node first refreshes partials less often
(`partial_interval_s`), then, while partials still queue for the workers, decodes them
greedily (`LoadMeter.partial_beam_size`), and admits live streams only while it has measured
headroom for them (`admission`).

No batch waits for company: under load, passes pile up while the workers are busy and are
batched then; an idle node runs a lone pass at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from streaming.audio import SAMPLE_RATE, Pcm
from streaming.batch_pass import PassRequest, window_frames
from streaming.events import Word
from streaming.load import (
    BULK_RECHECK_S,
    CALIBRATION_FRAMES,
    LIVE,
    Admission,
    LoadMeter,
    Priority,
    stream_cost_from_encoder,
)
from streaming.recognizer import Recognition, WhisperRecognizer

log = logging.getLogger(__name__)

#: Windows in one batch differ by less than this many encoder frames (4 s of audio).
BUCKET_FRAMES = 400


@dataclass(frozen=True, slots=True)
class BatchRun:
    """What one batch held and cost, for the scheduler's observer (metrics, benchmarks)."""

    priority: Priority
    size: int
    #: How long each of its passes waited for a worker.
    waits: Sequence[float]
    seconds: float
    #: Passes redone on the padded window.
    redone: int
    #: Partials decoded greedily because they queued for the workers.
    greedy: bool
    #: Passes that failed, each alone (the rest of a failed batch was rerun and heard).
    failed: int = 0


BatchObserver = Callable[[BatchRun], None]
#: Sees every live stream's backlog after a pass (`InferenceScheduler.record_backlog`).
BacklogObserver = Callable[[float], None]


@dataclass(eq=False, slots=True)
class Job:
    request: PassRequest
    offset_s: float
    language: str
    priority: Priority
    queued_at: float
    loop: asyncio.AbstractEventLoop | None = None
    future: asyncio.Future[Recognition] | None = field(default=None, repr=False)

    @property
    def frames(self) -> int:
        return window_frames(self.request.audio, final=self.final)

    @property
    def final(self) -> bool:
        return self.priority in (Priority.LIVE_FINAL, Priority.BULK_FINAL)

    def fits_with(self, head: Job) -> bool:
        return (
            self.priority == head.priority
            and self.language == head.language
            and len(self.request.prompt_tokens) == len(head.request.prompt_tokens)
            and self.frames // BUCKET_FRAMES == head.frames // BUCKET_FRAMES
        )


def select_batch(pending: Sequence[Job], max_batch: int, free_workers: int = 1) -> list[Job]:
    """The next batch: the oldest most urgent job and the oldest jobs that fit with it.

    With other workers free, the fitting jobs are shared out rather than all taken by one:
    on a CPU a batch of n costs about n single passes in the encoder (it saves only decoder
    overhead), so two half batches on two workers finish in about half the time.
    """
    if not pending:
        return []
    head = min(pending, key=lambda j: (j.priority, j.queued_at))
    mates = sorted(
        (j for j in pending if j is not head and j.fits_with(head)), key=lambda j: j.queued_at
    )
    share = -(-(len(mates) + 1) // max(1, free_workers))
    return [head, *mates[: min(max_batch, share) - 1]]


def _resolve(future: asyncio.Future[Recognition], result: Recognition | BaseException) -> None:
    if future.done():  # the stream went away while its pass ran
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class InferenceScheduler:
    def __init__(
        self,
        recognizer: WhisperRecognizer,
        *,
        workers: int = 1,
        max_batch: int = 8,
        observer: BatchObserver | None = None,
        backlog_observer: BacklogObserver | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recognizer = recognizer
        self.max_batch = max_batch
        self.load = LoadMeter(workers, clock)
        self._observer = observer
        self._backlog_observer = backlog_observer
        self._clock = clock
        self._pending: list[Job] = []
        self._running = 0  # workers running a batch
        self._running_bulk = 0  # of which bulk (uploads, `--fast` streams)
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"whisper-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    @property
    def label(self) -> str:
        return self.recognizer.label

    @property
    def queued(self) -> int:
        return len(self._pending)

    @property
    def idle(self) -> bool:
        """No pass is queued or running."""
        with self._ready:
            return not self._pending and self._running == 0

    def calibrate(self, capacity: float | None = None) -> float:
        """Time one encoder pass (blocking) and take a new stream's cost from it until streams
        are measured: a constant would admit a burst of connects that a slower machine cannot
        keep up with. `capacity`: how many workers run at once at full speed (all of them
        unless told). Returns the cost (share of the workers' capacity)."""
        self.load.capacity = min(float(self.load.workers), capacity or self.load.workers)
        encoder_s = self.recognizer.time_encoder(CALIBRATION_FRAMES)
        cost = stream_cost_from_encoder(encoder_s, self.load.capacity)
        self.load.initial_stream_cost = cost
        log.info(
            "admission calibrated",
            extra={
                "encoder_s": round(encoder_s, 3),
                "workers": self.load.workers,
                "capacity": self.load.capacity,
                "initial_stream_cost": round(cost, 3),
            },
        )
        return cost

    def partial_interval_s(self, base_s: float) -> float:
        return self.load.partial_interval_s(base_s)

    def record_backlog(self, stream_id: str, backlog_s: float) -> None:
        """A live stream's audio waiting when it returns from a pass (admission reads it)."""
        self.load.record_backlog(stream_id, backlog_s)
        if self._backlog_observer is not None:
            self._backlog_observer(backlog_s)

    def stream_ended(self, stream_id: str) -> None:
        self.load.stream_ended(stream_id)

    def admission(
        self,
        live_streams: int,
        settling_streams: int,
        base_s: float,
        max_busy: float,
        max_backlog_s: float,
    ) -> Admission:
        return self.load.admission(live_streams, settling_streams, base_s, max_busy, max_backlog_s)

    async def recognize(
        self,
        audio: Pcm,
        *,
        offset_s: float,
        language: str = "en",
        prompt: str = "",
        final: bool = False,
        bulk: bool = False,
    ) -> Recognition:
        """Words of `audio` with stream-absolute times (audio starts at `offset_s`).

        A final pass uses the wider beam, a partial the narrower one. `bulk` work (uploads,
        streams sent faster than real time) only runs when no live stream's pass is waiting.
        """
        pcm = np.ascontiguousarray(audio, dtype=np.float32)
        priority = Priority((2 if bulk else 0) + (0 if final else 1))
        loop = asyncio.get_running_loop()
        job = Job(
            request=PassRequest(pcm, self.recognizer.prompt_tokens(prompt, language)),
            offset_s=offset_s,
            language=language,
            priority=priority,
            queued_at=self._clock(),
            loop=loop,
            future=loop.create_future(),
        )
        with self._ready:
            if self._closed:
                raise RuntimeError("the inference scheduler is closed")
            self._pending.append(job)
            self._ready.notify()
        assert job.future is not None
        try:
            return await job.future
        except asyncio.CancelledError:
            with self._ready:
                if job in self._pending:
                    self._pending.remove(job)
            raise

    def _next_batch(self) -> list[Job] | None:
        with self._ready:
            while True:
                while not self._pending and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return None
                free = len(self._threads) - self._running
                batch = select_batch(self._pending, self.max_batch, free)
                if batch[0].priority not in LIVE:
                    limit = self.load.bulk_batch_limit(self._running_bulk, self.max_batch)
                    if not limit:  # live streams need the workers: uploads wait
                        self._ready.wait(BULK_RECHECK_S)
                        continue
                    batch = batch[:limit]
                    self._running_bulk += 1
                for job in batch:
                    self._pending.remove(job)
                self._running += 1
                if self._pending:
                    self._ready.notify()  # what this worker left is another free worker's
                return batch

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._run(batch)
            finally:
                with self._ready:
                    self._running -= 1
                    if batch[0].priority not in LIVE:
                        self._running_bulk -= 1
                    if self._pending:
                        self._ready.notify()  # held-back uploads may fit now

    def _run(self, batch: list[Job]) -> None:
        head = batch[0]
        started = self._clock()
        waits = [started - j.queued_at for j in batch]
        for wait in waits:
            self.load.record_wait(head.priority, wait)
        results: list[Recognition | BaseException]
        redone = 0
        beam_size = None
        greedy = False
        if head.priority is Priority.LIVE_PARTIAL:
            beam_size = self.load.partial_beam_size(self.recognizer.partial_beam_size)
            greedy = beam_size < self.recognizer.partial_beam_size
        recognized = self._recognize(batch, beam_size)
        spent = self._clock() - started
        total_frames = sum(j.frames for j in batch)
        results = []
        for j, heard in zip(batch, recognized, strict=True):
            if isinstance(heard, BaseException):
                results.append(heard)
                continue
            words, retried = heard
            redone += retried
            results.append(
                Recognition(
                    words=tuple(
                        Word(w.text, j.offset_s + w.start_s, j.offset_s + w.end_s, w.probability)
                        for w in words
                    ),
                    audio_s=j.request.audio.size / SAMPLE_RATE,
                    compute_s=spent * j.frames / total_frames,
                    padded_retry=retried,
                )
            )
        ended = self._clock()
        self.load.record_batch(head.priority, started, ended)
        if self._observer is not None:
            self._observer(
                BatchRun(
                    head.priority,
                    len(batch),
                    waits,
                    ended - started,
                    redone,
                    greedy,
                    failed=sum(isinstance(r, BaseException) for r in results),
                )
            )
        for job, result in zip(batch, results, strict=True):
            if job.loop is not None and job.future is not None:
                with contextlib.suppress(RuntimeError):  # its event loop has closed meanwhile
                    job.loop.call_soon_threadsafe(_resolve, job.future, result)

    def _recognize(
        self, batch: list[Job], beam_size: int | None
    ) -> Sequence[tuple[list[Word], bool] | BaseException]:
        """The batch's words, or per pass the error it failed with: a batch that fails is run
        again pass by pass, so one stream's bad pass fails that stream alone, never its batch
        mates (other streams), and never the worker."""
        head = batch[0]

        def run(jobs: list[Job]) -> list[tuple[list[Word], bool]]:
            return self.recognizer.recognize_batch(
                [j.request for j in jobs],
                language=head.language,
                final=head.final,
                beam_size=beam_size,
            )

        try:
            return run(batch)
        except Exception as e:
            if len(batch) == 1:
                log.exception("inference pass failed")
                return [e]
            log.warning("inference batch failed; running its passes one by one", exc_info=True)
        alone: list[tuple[list[Word], bool] | BaseException] = []
        for job in batch:
            try:
                alone += run([job])
            except Exception as e:
                log.exception("inference pass failed")
                alone.append(e)
        return alone

    def close(self) -> None:
        """Stop the workers after the batches they are running; pending passes are cancelled."""
        with self._ready:
            self._closed = True
            pending, self._pending = self._pending, []
            self._ready.notify_all()
        for job in pending:
            if job.loop is not None and job.future is not None:
                with contextlib.suppress(RuntimeError):
                    job.loop.call_soon_threadsafe(job.future.cancel)
        for t in self._threads:
            t.join(timeout=30)
