"""How busy a node's inference workers are, and what follows from it.

Four decisions are made from measurements, never from a fixed stream count:
- how often live streams refresh their partial results (first thing to give under load),
- whether partial passes decode greedily (next, once they queue for the workers),
- whether one more live stream can be admitted and still be kept real time (not while
  partials queue, nor while live streams' audio waits behind their passes), and
- how much of the workers uploads may take beside live streams (what the live work leaves).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from enum import IntEnum


class Priority(IntEnum):
    """Lower runs first. Live streams always go before uploads and `--fast` streams."""

    LIVE_FINAL = 0
    LIVE_PARTIAL = 1
    BULK_FINAL = 2
    BULK_PARTIAL = 3


LIVE = (Priority.LIVE_FINAL, Priority.LIVE_PARTIAL)

#: Partials keep their base rate until live work fills this share of the workers' time; from
#: there the interval grows linearly, to `MAX_PARTIAL_INTERVAL_S` when the workers are full.
STRETCH_FROM_BUSY = 0.5
MAX_PARTIAL_INTERVAL_S = 2.0
#: Recent enough to react within a few partial refreshes.
STRETCH_WINDOW_S = 3.0
#: Partial passes that wait this long for a worker on average (over `STRETCH_WINDOW_S`) mean
#: the workers cannot keep up even at the slowest partial rate: partials then decode greedily
#: until the waits fall. With headroom the narrow beam shows fewer wrong words
#: (`recognizer.PARTIAL_BEAM_SIZE`); at 8 streams on the Xeons and the Zen 4 EPYC measured,
#: partials waited 0.05-0.15 s on average, and 0.6 s on a 2-core AVX2 EPYC, where greedy
#: partials while they queue took p95 word lag from 5.6 to 3.6 s (bench/README.md).
GREEDY_PARTIALS_FROM_WAIT_S = 0.3
#: Admission looks further back: a stream's cost shows once it has spoken for a while.
ADMISSION_WINDOW_S = 10.0
#: By default a node admits a live stream while its predicted busy share stays under this...
ADMIT_BUSY = 0.85
#: ...and while live finals wait no longer than this for a worker (p95).
ADMIT_FINAL_WAIT_S = 1.0
#: ...and while live streams' audio waits no longer than this behind their passes (the
#: backlog a stream finds when it returns to its audio after a pass: each stream's p95, and
#: of those the second highest, or the tenth of the streams from the top among more than 20,
#: `LoadMeter.stream_backlog_s`). The workers' busy share misses limits outside the
#: workers: on an H100 four workers sharing one interpreter were 44 % busy at 84 streams
#: while streams fell seconds behind (bench/gpu/README.md). What waits there is what every
#: caption waits for, whatever the cause. On a 2-core Zen 3 this reading stayed at or under
#: 1.5 s at loads under the word-lag bar, and was over it for a third of the time above it
#: (bench/README.md, "2026-12-07 01:53").
ADMIT_BACKLOG_S = 1.5
#: The backlog guard acts when this share of the live streams, and at least two, ran behind.
BEHIND_STREAMS_SHARE = 0.1
#: Cost of a stream (share of the workers' time at the slowest partial rate) before any has
#: been measured, unless the node calibrated it (`stream_cost_from_encoder`): one tiny.en int8
#: stream on 2 CPU cores (2 workers), speaking all the time, at 2 s partials (the ladder
#: benchmark: 8 such streams, 0.78). Replaced by measurement as soon as streams run.
INITIAL_STREAM_COST = 0.1
#: Worker-seconds a stream needs per second of audio (at the slowest partial rate), per second
#: the calibration encoder pass (`CALIBRATION_FRAMES`, one worker) takes. On a 2-core AVX2
#: machine that pass took 0.29 s and a stand-up stream cost 0.21 of its two workers; there the
#: constant above admitted 7 streams in a burst where 4 kept p95 word lag at 3.5 s and the 7
#: fell to 8.8 s.
STREAM_WORK_PER_CALIBRATION_S = 1.45
#: 10 s of audio: a typical partial window with its padding.
CALIBRATION_FRAMES = 1000
#: Silent streams cost next to nothing, but may start speaking at any moment.
MIN_STREAM_COST = 0.03
#: While bulk work is held back for live streams, a worker looks again this often, as the
#: measured live load decays.
BULK_RECHECK_S = 0.1


@dataclass(frozen=True, slots=True)
class Admission:
    admitted: bool
    #: Predicted busy share of the workers with the new stream (at the slowest partial rate).
    predicted_busy: float
    reason: str = ""


class LoadMeter:
    """Busy time of the workers per priority, and how long work waited for them."""

    def __init__(
        self,
        workers: int,
        clock: Callable[[], float] = time.monotonic,
        initial_stream_cost: float = INITIAL_STREAM_COST,
        capacity: float | None = None,
    ) -> None:
        self.workers = workers
        #: How many workers the machine runs at once at full speed (`cpu_capacity`, or the
        #: operator's `asr_effective_workers`): busy shares are read against it. Four
        #: workers on two cores are two.
        self.capacity = float(workers) if capacity is None else capacity
        #: What a new stream is taken to cost until streams have been measured.
        self.initial_stream_cost = initial_stream_cost
        self._clock = clock
        self._busy: deque[tuple[float, float, Priority]] = deque()  # (start, end, priority)
        self._waits: deque[tuple[float, float, Priority]] = deque()  # (at, wait_s, priority)
        self._backlogs: deque[tuple[float, Hashable, float]] = deque()  # (at, stream, backlog_s)
        self._lock = threading.Lock()  # workers record, the event loop reads

    def record_batch(self, priority: Priority, started: float, ended: float) -> None:
        with self._lock:
            self._busy.append((started, ended, priority))
            self._prune()

    def record_wait(self, priority: Priority, wait_s: float) -> None:
        with self._lock:
            self._waits.append((self._clock(), wait_s, priority))
            self._prune()

    def record_backlog(self, stream: Hashable, backlog_s: float) -> None:
        """Live stream `stream` came back to its audio after a pass and found `backlog_s` of
        it waiting (received, not yet through voice detection)."""
        with self._lock:
            self._backlogs.append((self._clock(), stream, backlog_s))
            self._prune()

    def stream_ended(self, stream: Hashable) -> None:
        """Forget an ended stream's backlogs: admission asks whether the streams still served
        are kept real time (a stream that ended behind its audio kept refusing the next one
        for the rest of the window while the node sat idle)."""
        with self._lock:
            self._backlogs = deque(b for b in self._backlogs if b[1] != stream)

    def _prune(self) -> None:
        horizon = self._clock() - ADMISSION_WINDOW_S
        while self._busy and self._busy[0][1] < horizon:
            self._busy.popleft()
        while self._waits and self._waits[0][0] < horizon:
            self._waits.popleft()
        while self._backlogs and self._backlogs[0][0] < horizon:
            self._backlogs.popleft()

    def stream_backlog_s(
        self, live_streams: int = 0, window_s: float = ADMISSION_WINDOW_S
    ) -> float:
        """How far behind their audio live streams ran after their passes, lately: each
        stream's p95, and of those the one ranked `BEHIND_STREAMS_SHARE` of the streams from
        the top, at least the second (the only one, with one stream).

        A node too slow for its load holds every stream back. One client that sends seconds
        of audio at once (catching up after its network stalled; up to `live_ahead_limit_s`)
        puts only its own stream behind, and it reports after every one of its many passes:
        pooled, its samples alone made the p95 of a node serving two streams, which refused
        others it had room for. On a node over its load, the second stream's p95 was over the
        limit as often as the pooled p95 (35 and 38 % of a level's readings on a 2-core Zen 3
        at 8 streams), the median stream's far less often (11 %); bench/README.md. Among the
        dozens of streams of a card, the second highest would be any stream's worst moment.
        Of the `live_streams` served, those that reported nothing lately (silent, or just
        admitted) are not behind.
        """
        since = self._clock() - window_s
        by_stream: dict[Hashable, list[float]] = {}
        with self._lock:
            for at, stream, backlog_s in self._backlogs:
                if at > since:
                    by_stream.setdefault(stream, []).append(backlog_s)
        highest = sorted((_p95(backlogs) for backlogs in by_stream.values()), reverse=True)
        if not highest:
            return 0.0
        streams = max(len(highest), live_streams)
        rank = min(streams, max(2, math.ceil(BEHIND_STREAMS_SHARE * streams)))
        return highest[rank - 1] if rank <= len(highest) else 0.0

    def busy(self, window_s: float, priorities: Iterable[Priority]) -> float:
        """Share of the workers' time spent on `priorities` during the last `window_s`."""
        wanted = set(priorities)
        now = self._clock()
        since = now - window_s
        with self._lock:
            batches = list(self._busy)
        spent = sum(
            min(end, now) - max(start, since)
            for start, end, p in batches
            if p in wanted and end > since
        )
        return min(1.0, spent / (window_s * self.capacity))

    def _recent_waits(self, priority: Priority, window_s: float) -> list[float]:
        """How long passes of `priority` waited for a worker during the last `window_s`."""
        since = self._clock() - window_s
        with self._lock:
            return [w for at, w, p in self._waits if p is priority and at > since]

    def final_wait_p95(self, window_s: float = ADMISSION_WINDOW_S) -> float:
        return _p95(self._recent_waits(Priority.LIVE_FINAL, window_s))

    def partial_interval_s(self, base_s: float) -> float:
        """The live partial refresh interval for the current load."""
        live = self.busy(STRETCH_WINDOW_S, LIVE)
        over = max(0.0, live - STRETCH_FROM_BUSY) / (1.0 - STRETCH_FROM_BUSY)
        return base_s + over * max(0.0, MAX_PARTIAL_INTERVAL_S - base_s)

    def mean_wait(self, priority: Priority, window_s: float) -> float:
        """How long passes of `priority` waited for a worker, on average, lately."""
        waits = self._recent_waits(priority, window_s)
        return sum(waits) / len(waits) if waits else 0.0

    def partial_beam_size(self, base: int) -> int:
        """The live partial passes' beam for the current load: `base`, or 1 while they queue."""
        queued = self.mean_wait(Priority.LIVE_PARTIAL, STRETCH_WINDOW_S)
        return 1 if queued >= GREEDY_PARTIALS_FROM_WAIT_S else base

    def bulk_batch_limit(self, bulk_running: int, max_batch: int) -> int:
        """How many bulk passes (uploads, `--fast` streams) may start now as one batch; 0:
        none, live streams need the workers.

        A worker cannot be taken back mid-pass, and a bulk pass holds one for about a second
        on a CPU (windows of up to 20 s, in batches). Taking every free worker, back-to-back
        uploads beside 8 live streams on 2 cores took the live p95 word lag from 1.59 to
        2.79 s (bench/README.md, "Uploads beside live streams"). So with live work measured
        lately, bulk gets what the live work leaves: one pass at a time, and only while the
        live load (in workers, over `STRETCH_WINDOW_S`), the bulk passes running and this one
        fit in the workers. Without live work, uploads take every worker.
        """
        live = self.busy(STRETCH_WINDOW_S, LIVE) * self.capacity
        if live == 0.0:
            return max_batch
        return 1 if bulk_running + 1 + live <= self.capacity else 0

    def busy_at_slowest_partials(self, base_s: float) -> float:
        """Live busy share had every partial been refreshed at `MAX_PARTIAL_INTERVAL_S`."""
        finals = self.busy(ADMISSION_WINDOW_S, (Priority.LIVE_FINAL,))
        partials = self.busy(ADMISSION_WINDOW_S, (Priority.LIVE_PARTIAL,))
        return finals + partials * self.partial_interval_s(base_s) / MAX_PARTIAL_INTERVAL_S

    def admission(
        self,
        live_streams: int,
        settling_streams: int,
        base_s: float,
        max_busy: float = ADMIT_BUSY,
        max_backlog_s: float = ADMIT_BACKLOG_S,
    ) -> Admission:
        """Can one more live stream be kept real time?

        `live_streams` are the live streams being served, `settling_streams` those of them
        admitted too recently for their cost to show in the measurements yet. The first live
        stream is always admitted: refusing it would serve nobody.
        """
        busy = self.busy_at_slowest_partials(base_s)
        established = live_streams - settling_streams
        measured = established > 0 and busy > 0
        per_stream = busy / established if measured else self.initial_stream_cost
        per_stream = max(per_stream, MIN_STREAM_COST)
        predicted = busy + per_stream * (settling_streams + 1)
        # Measured first: streams already behind is the strongest reason to refuse.
        backlog = self.stream_backlog_s(live_streams)
        if live_streams and backlog > max_backlog_s:
            return Admission(
                False, predicted, f"live streams run {backlog:.1f} s behind their audio"
            )
        if live_streams and predicted > max_busy:
            return Admission(False, predicted, f"predicted load {predicted:.0%} of the workers")
        wait = self.final_wait_p95()
        if live_streams and wait > ADMIT_FINAL_WAIT_S:
            return Admission(False, predicted, f"finals wait {wait:.1f} s for a worker")
        # Partials already decoded greedily because they queue: the node is behind.
        queued = self.mean_wait(Priority.LIVE_PARTIAL, ADMISSION_WINDOW_S)
        if live_streams and queued >= GREEDY_PARTIALS_FROM_WAIT_S:
            return Admission(False, predicted, f"partials wait {queued:.1f} s for a worker")
        return Admission(True, predicted)


def _p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank) of `values`; 0 when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0


def stream_cost_from_encoder(encoder_s: float, workers: float) -> float:
    """A new stream's expected share of the workers, from one timed calibration encoder pass."""
    share = STREAM_WORK_PER_CALIBRATION_S * encoder_s / max(1.0, workers)
    return max(MIN_STREAM_COST, min(1.0, share))


def cpu_capacity(workers: int, threads_per_worker: int, cpus: int) -> float:
    """How many workers run passes at full speed at once on `cpus` cores.

    Workers beyond the cores only make each pass slower, and a busy share read against them
    shows headroom that is not there: four workers on two cores, read as four, admitted a
    burst of 16 live streams that ran at p95 word lag 7-10 s; read as two, 9 at 2.1 s.
    (Timing passes run together at start gave 1 instead of 2 on a 2-core VM now and then.)
    """
    return float(max(1, min(workers, cpus // max(1, threads_per_worker))))
