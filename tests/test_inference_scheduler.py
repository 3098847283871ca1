"""The inference scheduler: what runs first, what runs together, and what a busy node admits.

Batch selection and load decisions are specified on plain values (with a clock the test
moves); batching, priorities and cancellation are then shown on the real model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from faster_whisper.tokenizer import Tokenizer
from support_audio import wer

from server.file_streamer import decode_file
from streaming import recognizer
from streaming.batch_pass import PassRequest, resume_at, split_by_timestamps
from streaming.load import (
    ADMIT_BACKLOG_S,
    ADMIT_BUSY,
    INITIAL_STREAM_COST,
    MAX_PARTIAL_INTERVAL_S,
    MIN_STREAM_COST,
    STRETCH_WINDOW_S,
    LoadMeter,
    Priority,
    cpu_capacity,
    stream_cost_from_encoder,
)
from streaming.recognizer import Recognition, load_whisper
from streaming.scheduler import BUCKET_FRAMES, BatchRun, InferenceScheduler, Job, select_batch

RATE = 16_000


def job(
    priority: Priority,
    queued_at: float,
    *,
    audio_s: float = 3.0,
    prompt_tokens: int = 0,
    language: str = "en",
) -> Job:
    audio = np.zeros(round(audio_s * RATE), np.float32)
    return Job(
        request=PassRequest(audio, tuple(range(prompt_tokens))),
        offset_s=0.0,
        language=language,
        priority=priority,
        queued_at=queued_at,
    )


class TestBatchSelection:
    def test_live_finals_go_first_then_live_partials_then_uploads(self) -> None:
        pending = [
            job(Priority.BULK_FINAL, 0.0),
            job(Priority.LIVE_PARTIAL, 1.0),
            job(Priority.BULK_PARTIAL, 0.5),
            job(Priority.LIVE_FINAL, 2.0),
        ]
        order = []
        while pending:
            batch = select_batch(pending, max_batch=8)
            order.append(batch[0].priority)
            pending = [j for j in pending if j not in batch]
        assert order == sorted(order)

    def test_the_oldest_most_urgent_pass_leads_and_takes_compatible_ones_along(self) -> None:
        lead = job(Priority.LIVE_PARTIAL, 1.0)
        mates = [job(Priority.LIVE_PARTIAL, t) for t in (1.5, 2.0, 3.0)]
        batch = select_batch([mates[2], lead, mates[0], mates[1]], max_batch=8)
        assert batch == [lead, *mates]

    def test_a_batch_never_mixes_finals_partials_languages_or_prompt_lengths(self) -> None:
        lead = job(Priority.LIVE_FINAL, 0.0, prompt_tokens=16)
        others = [
            job(Priority.LIVE_PARTIAL, 0.1, prompt_tokens=16),  # greedy, not beam search
            job(Priority.BULK_FINAL, 0.1, prompt_tokens=16),  # an upload rides no live batch
            job(Priority.LIVE_FINAL, 0.1, prompt_tokens=32),
            job(Priority.LIVE_FINAL, 0.1, prompt_tokens=16, language="de"),
        ]
        fits = job(Priority.LIVE_FINAL, 0.2, prompt_tokens=16)
        assert select_batch([lead, *others, fits], max_batch=8) == [lead, fits]

    def test_windows_of_very_different_length_are_not_padded_to_each_other(self) -> None:
        short = job(Priority.LIVE_PARTIAL, 0.0, audio_s=1.0)
        similar = job(Priority.LIVE_PARTIAL, 0.1, audio_s=2.0)
        long = job(Priority.LIVE_PARTIAL, 0.2, audio_s=1.0 + 2 * BUCKET_FRAMES / 100)
        assert select_batch([short, similar, long], max_batch=8) == [short, similar]

    def test_the_batch_size_is_capped(self) -> None:
        pending = [job(Priority.LIVE_PARTIAL, float(t)) for t in range(20)]
        batch = select_batch(pending, max_batch=8)
        assert batch == pending[:8]

    def test_waiting_passes_are_shared_among_free_workers(self) -> None:
        pending = [job(Priority.LIVE_PARTIAL, float(t)) for t in range(5)]
        assert select_batch(pending, max_batch=8, free_workers=2) == pending[:3]
        assert select_batch(pending[3:], max_batch=8, free_workers=1) == pending[3:]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def busy_for(meter: LoadMeter, clock: Clock, priority: Priority, share: float, s: float) -> None:
    """Keep the (single) worker busy with `priority` for `share` of the next `s` seconds."""
    for _ in range(int(s * 10)):
        meter.record_batch(priority, clock.now, clock.now + 0.1 * share)
        clock.now += 0.1


class TestLoad:
    def test_partials_keep_their_rate_on_a_quiet_node_and_slow_down_on_a_busy_one(
        self,
    ) -> None:
        clock = Clock()
        meter = LoadMeter(workers=1, clock=clock)
        assert meter.partial_interval_s(0.5) == 0.5
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 0.4, 5)
        assert meter.partial_interval_s(0.5) == 0.5
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 0.75, 5)
        assert 0.5 < meter.partial_interval_s(0.5) < MAX_PARTIAL_INTERVAL_S
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 1.0, 5)
        assert meter.partial_interval_s(0.5) == pytest.approx(MAX_PARTIAL_INTERVAL_S)

    def test_uploads_do_not_slow_live_partials(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=1, clock=clock)
        busy_for(meter, clock, Priority.BULK_FINAL, 1.0, 5)
        assert meter.partial_interval_s(0.5) == 0.5

    def test_an_idle_node_admits_and_a_node_near_capacity_refuses(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=1, clock=clock)
        assert meter.admission(live_streams=0, settling_streams=0, base_s=0.5).admitted
        # Four streams keep the worker 80 % busy with finals: a fifth would not fit.
        busy_for(meter, clock, Priority.LIVE_FINAL, 0.8, 12)
        refused = meter.admission(live_streams=4, settling_streams=0, base_s=0.5)
        assert not refused.admitted
        assert refused.predicted_busy == pytest.approx(1.0, abs=0.01)
        assert "predicted load" in refused.reason

    def test_headroom_counts_partials_at_their_slowest_rate(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=1, clock=clock)
        # Partials at 0.5 s fill 60 % of the worker; at 2 s they would need a quarter of it.
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 0.6, 12)
        decision = meter.admission(live_streams=3, settling_streams=0, base_s=0.5)
        interval = meter.partial_interval_s(0.5)
        slowest = 0.6 * interval / MAX_PARTIAL_INTERVAL_S
        assert decision.admitted
        assert decision.predicted_busy == pytest.approx(slowest * 4 / 3, abs=0.02)

    def test_streams_admitted_moments_ago_count_before_their_load_shows(self) -> None:
        meter = LoadMeter(workers=1, clock=Clock())
        burst = int(ADMIT_BUSY / INITIAL_STREAM_COST)  # a burst of connects on an idle node
        assert meter.admission(live_streams=burst - 1, settling_streams=burst - 1, base_s=0.5)
        refused = meter.admission(live_streams=burst, settling_streams=burst, base_s=0.5)
        assert not refused.admitted

    def test_a_slower_machine_admits_a_smaller_burst(self) -> None:
        # Calibration on a 2-core AVX2 machine: the encoder pass took 0.29 s; 4 stand-up
        # streams kept up there at p95 word lag 3.5 s and 7 did not.
        cost = stream_cost_from_encoder(0.29, workers=2)
        meter = LoadMeter(workers=2, clock=Clock(), initial_stream_cost=cost)
        admitted = 0
        while meter.admission(admitted, admitted, base_s=0.5).admitted:
            admitted += 1
        assert admitted == 4
        faster = stream_cost_from_encoder(0.12, workers=2)
        assert faster < meter.initial_stream_cost
        assert stream_cost_from_encoder(0.29, workers=4) < meter.initial_stream_cost
        assert stream_cost_from_encoder(0.001, workers=1) == MIN_STREAM_COST  # a GPU

    def test_partials_decode_greedily_while_they_queue_for_the_workers(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=2, clock=clock)
        assert meter.partial_beam_size(3) == 3
        for _ in range(10):  # a busy node that keeps up: partials wait a little
            meter.record_wait(Priority.LIVE_PARTIAL, 0.1)
        assert meter.partial_beam_size(3) == 3
        for _ in range(10):  # finals waiting do not count: they keep their beam anyway
            meter.record_wait(Priority.LIVE_FINAL, 2.0)
        assert meter.partial_beam_size(3) == 3
        for _ in range(10):  # falling behind: the average partial waits 0.3 s or more
            meter.record_wait(Priority.LIVE_PARTIAL, 0.6)
        assert meter.partial_beam_size(3) == 1
        clock.now += STRETCH_WINDOW_S + 0.1  # the queue drained: the beam comes back
        assert meter.partial_beam_size(3) == 3

    def test_uploads_take_every_worker_when_no_live_stream_needs_one(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=2, clock=clock)
        busy_for(meter, clock, Priority.BULK_FINAL, 1.0, 5)  # uploads do not hold uploads back
        assert meter.bulk_batch_limit(bulk_running=0, max_batch=8) == 8
        assert meter.bulk_batch_limit(bulk_running=1, max_batch=8) == 8

    def test_beside_live_streams_uploads_get_only_the_workers_live_work_leaves(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=2, clock=clock)
        # Four streams' worth of live work: 0.8 of one worker of the two.
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 0.8, 5)
        assert meter.bulk_batch_limit(bulk_running=0, max_batch=8) == 1, "one pass, unbatched"
        assert meter.bulk_batch_limit(bulk_running=1, max_batch=8) == 0, "never both workers"
        # Eight streams' worth: 1.6 workers. An upload pass would leave live work 1 worker.
        for _ in range(50):
            meter.record_batch(Priority.LIVE_FINAL, clock.now, clock.now + 0.08)
            meter.record_batch(Priority.LIVE_PARTIAL, clock.now, clock.now + 0.08)
            clock.now += 0.1
        assert meter.bulk_batch_limit(bulk_running=0, max_batch=8) == 0
        clock.now += STRETCH_WINDOW_S + 0.1  # the live streams went quiet
        assert meter.bulk_batch_limit(bulk_running=0, max_batch=8) == 8

    def test_partials_queueing_for_the_workers_stop_admission(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=2, clock=clock)
        for _ in range(20):
            meter.record_wait(Priority.LIVE_PARTIAL, 0.1)
        assert meter.admission(live_streams=4, settling_streams=0, base_s=0.5).admitted
        for _ in range(20):
            meter.record_wait(Priority.LIVE_PARTIAL, 0.8)
        refused = meter.admission(live_streams=4, settling_streams=0, base_s=0.5)
        assert not refused.admitted and "partials wait" in refused.reason
        clock.now += 11  # the waits age out of the window
        assert meter.admission(live_streams=4, settling_streams=0, base_s=0.5).admitted

    def test_finals_waiting_for_a_worker_stop_admission(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=1, clock=clock)
        for _ in range(20):
            meter.record_wait(Priority.LIVE_FINAL, 1.5)
        refused = meter.admission(live_streams=2, settling_streams=0, base_s=0.5)
        assert not refused.admitted and "wait" in refused.reason
        clock.now += 11  # the waits age out of the window
        assert meter.admission(live_streams=2, settling_streams=0, base_s=0.5).admitted

    def test_workers_beyond_what_the_machine_runs_at_once_add_no_headroom(self) -> None:
        assert cpu_capacity(workers=4, threads_per_worker=1, cpus=2) == 2
        assert cpu_capacity(workers=2, threads_per_worker=1, cpus=16) == 2, "never more than all"
        assert cpu_capacity(workers=2, threads_per_worker=2, cpus=2) == 1
        assert cpu_capacity(workers=2, threads_per_worker=1, cpus=1) == 1
        clock = Clock()
        naive = LoadMeter(workers=4, clock=clock)
        measured = LoadMeter(workers=4, clock=clock, capacity=2.0)
        for _ in range(100):  # two passes running all the time: both cores full
            for meter in (naive, measured):
                for _ in range(2):
                    meter.record_batch(Priority.LIVE_FINAL, clock.now, clock.now + 0.1)
            clock.now += 0.1
        assert naive.admission(live_streams=8, settling_streams=0, base_s=0.5).admitted
        refused = measured.admission(live_streams=8, settling_streams=0, base_s=0.5)
        assert not refused.admitted and refused.predicted_busy > 1.0
        assert measured.bulk_batch_limit(bulk_running=0, max_batch=8) == 0, "uploads wait"

    def test_live_streams_running_behind_their_audio_stop_admission(self) -> None:
        clock = Clock()
        # Four workers, lightly busy: the busy share sees headroom (as on a GPU, where the
        # host, not the workers, was the limit).
        meter = LoadMeter(workers=4, clock=clock)
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 0.25, 12)
        streams = [f"stream-{i}" for i in range(10)]
        for _ in range(4):  # streams back from their passes find a few chunks waiting
            for stream in streams:
                meter.record_backlog(stream, 0.3)
        assert meter.admission(live_streams=10, settling_streams=0, base_s=0.5).admitted
        for _ in range(4):  # one stream finds seconds waiting: its client's doing, or its own
            meter.record_backlog(streams[0], ADMIT_BACKLOG_S + 1.0)
        assert meter.admission(live_streams=10, settling_streams=0, base_s=0.5).admitted
        for _ in range(4):  # a second one too: the node is holding its streams back
            meter.record_backlog(streams[1], ADMIT_BACKLOG_S + 1.0)
        refused = meter.admission(live_streams=10, settling_streams=0, base_s=0.5)
        assert not refused.admitted and "behind their audio" in refused.reason
        assert refused.predicted_busy < ADMIT_BUSY, "the busy share alone would have admitted"
        clock.now += 11  # caught up: the backlogs age out of the window
        assert meter.admission(live_streams=10, settling_streams=0, base_s=0.5).admitted

    def test_on_a_node_of_many_streams_a_tenth_of_them_behind_stops_admission(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=4, clock=clock)
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 0.25, 12)
        streams = [f"stream-{i}" for i in range(40)]
        for stream in streams:
            meter.record_backlog(stream, 0.3)
        behind = ADMIT_BACKLOG_S + 1.0
        for stream in streams[:3]:  # a few streams' worst moments: any node of 40 has some
            meter.record_backlog(stream, behind)
        assert meter.stream_backlog_s(live_streams=40) == pytest.approx(0.3)
        assert meter.admission(live_streams=40, settling_streams=0, base_s=0.5).admitted
        meter.record_backlog(streams[3], behind)  # a tenth of them: the node's doing
        assert meter.stream_backlog_s(live_streams=40) == pytest.approx(behind)
        refused = meter.admission(live_streams=40, settling_streams=0, base_s=0.5)
        assert not refused.admitted and "behind their audio" in refused.reason

    def test_one_stream_far_behind_its_own_audio_does_not_close_the_node(self) -> None:
        clock = Clock()
        meter = LoadMeter(workers=2, clock=clock)
        busy_for(meter, clock, Priority.LIVE_PARTIAL, 0.2, 12)
        # A client that sent 11 s at once reports seconds behind after each of its many
        # passes, more often than the other stream reports a few chunks.
        for _ in range(30):
            meter.record_backlog("bursting", 8.0)
        for _ in range(5):
            meter.record_backlog("real time", 0.2)
        assert meter.stream_backlog_s(live_streams=2) == pytest.approx(0.2)
        assert meter.admission(live_streams=2, settling_streams=0, base_s=0.5).admitted
        # Before the other stream's first pass, only the bursting one has reported: the
        # other is not behind for having said nothing yet.
        first = LoadMeter(workers=2, clock=clock)
        for _ in range(30):
            first.record_backlog("bursting", 8.0)
        assert first.stream_backlog_s(live_streams=2) == 0.0
        assert first.admission(live_streams=2, settling_streams=0, base_s=0.5).admitted
        # Alone on the node, that stream's backlog is the node's: it has no room to spare.
        alone = LoadMeter(workers=2, clock=clock)
        busy_for(alone, clock, Priority.LIVE_PARTIAL, 0.2, 12)
        for _ in range(30):
            alone.record_backlog("bursting", 8.0)
        refused = alone.admission(live_streams=1, settling_streams=0, base_s=0.5)
        assert not refused.admitted and "8.0 s behind" in refused.reason
        # Once it ends, the node serves nobody behind: the next stream is not refused for it.
        alone.stream_ended("bursting")
        assert alone.stream_backlog_s() == 0.0
        assert alone.admission(live_streams=1, settling_streams=0, base_s=0.5).admitted


# -- the real model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(speech: Path) -> list[tuple[np.ndarray, str]]:
    """Real speech and its reference: JFK (11 s) and a LibriSpeech sentence (8.7 s)."""
    found = []
    for audio, ref in [
        ("jfk_16k.wav", "jfk.txt"),
        ("librispeech_test-clean_1995-1837-0001.wav", "librispeech_test-clean_1995-1837-0001.txt"),
    ]:
        pcm = np.frombuffer(decode_file(speech / "audio" / audio), "<i2")
        found.append((pcm.astype(np.float32) / 32768.0, (speech / "refs" / ref).read_text()))
    return found


class Batches:
    def __init__(self) -> None:
        self.seen: list[tuple[Priority, int]] = []
        self.greedy: list[bool] = []
        self.failed = 0

    def __call__(self, run: BatchRun) -> None:
        self.seen.append((run.priority, run.size))
        self.greedy.append(run.greedy)
        self.failed += run.failed


async def worker_took_it(scheduler: InferenceScheduler) -> None:
    """Bounded wait until the worker has taken every queued pass (it is now busy with them)."""
    await asyncio.sleep(0)  # the task just created submits its pass
    async with asyncio.timeout(5):
        while scheduler.queued:  # noqa: ASYNC110 (a worker thread, no event to await)
            await asyncio.sleep(0.001)


@pytest.fixture
def batches() -> Batches:
    return Batches()


@pytest.fixture
def scheduler(batches: Batches) -> Iterator[InferenceScheduler]:
    model = load_whisper("bundled", device="cpu", compute_type="int8", workers=1, cpu_threads=2)
    scheduler = InferenceScheduler(model, workers=1, max_batch=8, observer=batches)
    yield scheduler
    scheduler.close()


def test_the_node_calibrates_a_new_streams_cost_on_its_own_machine(
    scheduler: InferenceScheduler,
) -> None:
    cost = scheduler.calibrate()
    assert MIN_STREAM_COST <= cost <= 1.0
    assert scheduler.load.initial_stream_cost == cost
    assert scheduler.load.capacity == 1.0, "one worker runs one pass at a time"


def test_the_node_reads_its_busy_share_against_the_capacity_it_is_given(
    scheduler: InferenceScheduler,
) -> None:
    scheduler.calibrate(capacity=4.0)
    assert scheduler.load.capacity == 1.0, "a worker cannot run more than itself"
    scheduler.calibrate(capacity=0.7)  # an operator's measurement (a card's host-bound worker)
    assert scheduler.load.capacity == 0.7


async def test_passes_of_different_streams_waiting_together_run_as_one_batch(
    scheduler: InferenceScheduler, batches: Batches, clips: list[tuple[np.ndarray, str]]
) -> None:
    jfk, libri = clips
    # The first pass occupies the worker; the six that arrive meanwhile share one batch.
    first = asyncio.create_task(scheduler.recognize(jfk[0], offset_s=0.0))
    await worker_took_it(scheduler)
    streams = [jfk, libri] * 3
    results = await asyncio.gather(
        *(
            scheduler.recognize(a[: 8 * RATE], offset_s=100.0 * i)
            for i, (a, _) in enumerate(streams)
        )
    )
    await first
    assert (Priority.LIVE_PARTIAL, 6) in batches.seen
    for i, ((_, reference), result) in enumerate(zip(streams, results, strict=True)):
        heard = " ".join(w.text for w in result.words)
        first_words = " ".join(reference.split()[: len(heard.split())])
        assert wer(first_words, heard) < 0.2, heard
        assert all(100.0 * i <= w.start_s <= 100.0 * i + 8.5 for w in result.words)


async def speech_batched_with_a_sliver(
    scheduler: InferenceScheduler, speech: np.ndarray
) -> tuple[Recognition | BaseException, Recognition | BaseException]:
    """3 s of speech and a 5 ms sliver of another stream, queued behind a busy worker so that
    they run as one batch: each one's result, or the error its pass failed with."""
    busy = asyncio.create_task(scheduler.recognize(speech, offset_s=0.0))
    await worker_took_it(scheduler)
    results = await asyncio.gather(
        scheduler.recognize(speech[: 3 * RATE], offset_s=0.0),
        scheduler.recognize(speech[:80], offset_s=5.0),
        return_exceptions=True,
    )
    await busy
    return results


async def test_a_sliver_of_audio_hears_nothing_and_fails_none_of_its_batch_mates(
    scheduler: InferenceScheduler, batches: Batches, clips: list[tuple[np.ndarray, str]]
) -> None:
    jfk, _ = clips
    # Whisper's word alignment fails on under two mel frames (20 ms): decoded, this pass
    # would fail, and its batch would be run again pass by pass.
    speech, sliver = await speech_batched_with_a_sliver(scheduler, jfk[0])
    assert (Priority.LIVE_PARTIAL, 2) in batches.seen
    assert isinstance(speech, Recognition), speech
    assert isinstance(sliver, Recognition), sliver
    assert sliver.words == ()
    assert "fellow" in " ".join(w.text for w in speech.words)


async def test_a_pass_that_fails_fails_its_own_stream_alone(
    scheduler: InferenceScheduler,
    batches: Batches,
    clips: list[tuple[np.ndarray, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jfk, _ = clips
    # With the sliver guard off, faster-whisper's word alignment really raises on the sliver,
    # inside the batch it shares with another stream's pass.
    monkeypatch.setattr(recognizer, "MIN_DECODE_AUDIO_S", 0.0)
    speech, sliver = await speech_batched_with_a_sliver(scheduler, jfk[0])
    assert (Priority.LIVE_PARTIAL, 2) in batches.seen, "they were batched together"
    assert isinstance(sliver, IndexError), sliver
    assert batches.failed == 1, "the failure is counted once, for its own pass"
    assert isinstance(speech, Recognition), speech
    assert "fellow" in " ".join(w.text for w in speech.words)
    again = await scheduler.recognize(jfk[0][: 3 * RATE], offset_s=0.0)
    assert "fellow" in " ".join(w.text for w in again.words), "the worker lives on"


async def test_a_live_final_overtakes_waiting_partials_and_uploads(
    scheduler: InferenceScheduler, batches: Batches, clips: list[tuple[np.ndarray, str]]
) -> None:
    jfk, libri = clips
    busy = asyncio.create_task(scheduler.recognize(jfk[0], offset_s=0.0, final=True, bulk=True))
    await worker_took_it(scheduler)
    waiting = [
        scheduler.recognize(libri[0], offset_s=0.0, bulk=True),
        scheduler.recognize(libri[0], offset_s=0.0),
        scheduler.recognize(libri[0], offset_s=0.0, final=True),
    ]
    await asyncio.gather(busy, *waiting)
    assert [p for p, _ in batches.seen] == [
        Priority.BULK_FINAL,
        Priority.LIVE_FINAL,
        Priority.LIVE_PARTIAL,
        Priority.BULK_PARTIAL,
    ]


async def test_partials_behind_a_queue_decode_greedily_and_still_hear_the_words(
    scheduler: InferenceScheduler, batches: Batches, clips: list[tuple[np.ndarray, str]]
) -> None:
    jfk, _ = clips
    quiet = await scheduler.recognize(jfk[0], offset_s=0.0)
    for _ in range(5):  # partials have been waiting a second for a worker
        scheduler.load.record_wait(Priority.LIVE_PARTIAL, 1.0)
    final = await scheduler.recognize(jfk[0], offset_s=0.0, final=True)
    for _ in range(5):  # still waiting (the final pass may have outlasted the 3 s window)
        scheduler.load.record_wait(Priority.LIVE_PARTIAL, 1.0)
    busy = await scheduler.recognize(jfk[0], offset_s=0.0)
    # The observer (the node's metrics) hears which batch went greedy: finals keep their beam.
    assert batches.seen == [
        (Priority.LIVE_PARTIAL, 1),
        (Priority.LIVE_FINAL, 1),
        (Priority.LIVE_PARTIAL, 1),
    ]
    assert batches.greedy == [False, False, True]
    for result in (quiet, final, busy):
        assert wer(jfk[1], " ".join(w.text for w in result.words)) < 0.2


async def test_an_upload_waits_while_live_streams_need_the_worker_then_runs(
    clips: list[tuple[np.ndarray, str]],
) -> None:
    jfk, libri = clips
    clock, batches = Clock(), Batches()
    model = load_whisper("bundled", device="cpu", compute_type="int8", workers=1, cpu_threads=2)
    scheduler = InferenceScheduler(model, workers=1, observer=batches, clock=clock)
    try:
        # A live stream's partial pass kept the only worker busy for the last second.
        scheduler.load.record_batch(Priority.LIVE_PARTIAL, clock.now - 1.0, clock.now)
        upload = asyncio.create_task(scheduler.recognize(jfk[0], offset_s=0.0, bulk=True))
        await asyncio.sleep(0.5)
        assert scheduler.queued == 1 and not upload.done(), "the upload is held back"
        live = await scheduler.recognize(libri[0][: 3 * RATE], offset_s=0.0)
        assert live.words, "live work still runs at once"
        assert batches.seen == [(Priority.LIVE_PARTIAL, 1)]
        clock.now += STRETCH_WINDOW_S + 1.0  # the live stream has gone quiet
        async with asyncio.timeout(30):
            heard = await upload
        assert batches.seen[-1] == (Priority.BULK_PARTIAL, 1)
        assert wer(jfk[1], " ".join(w.text for w in heard.words)) < 0.2
    finally:
        scheduler.close()


async def test_a_pass_whose_stream_went_away_is_never_run(
    scheduler: InferenceScheduler, batches: Batches, clips: list[tuple[np.ndarray, str]]
) -> None:
    jfk, libri = clips
    busy = asyncio.create_task(scheduler.recognize(jfk[0], offset_s=0.0, final=True))
    await worker_took_it(scheduler)
    gone = asyncio.create_task(scheduler.recognize(libri[0], offset_s=0.0, bulk=True))
    await asyncio.sleep(0)
    assert scheduler.queued == 1
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert scheduler.queued == 0
    await busy
    assert [p for p, _ in batches.seen] == [Priority.LIVE_FINAL]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    model = load_whisper("bundled", device="cpu", compute_type="int8", workers=1, cpu_threads=2)
    return model.tokenizer("en")[0]


class TestEarlyStop:
    """Whisper may stop after the first utterance of a window; the rest is decoded again."""

    def stamp(self, tokenizer: Tokenizer, seconds: float) -> int:
        return int(tokenizer.timestamp_begin + round(seconds / 0.02))

    def test_text_closed_by_one_timestamp_is_the_whole_window(self, tokenizer: Tokenizer) -> None:
        tokens = [self.stamp(tokenizer, 0), *tokenizer.encode(" Yes."), self.stamp(tokenizer, 1.5)]
        pieces, stopped_at = split_by_timestamps(tokenizer, tokens, 4.0)
        assert stopped_at is None
        assert [(p["start"], p["end"]) for p in pieces] == [(0.0, 1.5)]

    def test_text_ending_without_a_timestamp_resumes_after_its_last_word(
        self, tokenizer: Tokenizer
    ) -> None:
        tokens = [self.stamp(tokenizer, 0), *tokenizer.encode(" before Friday.")]
        pieces, stopped_at = split_by_timestamps(tokenizer, tokens, 11.0)
        assert stopped_at == 0.0
        pieces[0]["words"] = [{"word": " Friday.", "start": 4.1, "end": 4.6}]
        assert resume_at(pieces, stopped_at) == 4.6

    def test_a_segment_closed_by_two_timestamps_resumes_at_the_second(
        self, tokenizer: Tokenizer
    ) -> None:
        tokens = [
            self.stamp(tokenizer, 0),
            *tokenizer.encode(" Good."),
            self.stamp(tokenizer, 1.0),
            self.stamp(tokenizer, 1.0),
            *tokenizer.encode(" Please"),
        ]
        pieces, stopped_at = split_by_timestamps(tokenizer, tokens, 6.0)
        assert len(pieces) == 1 and stopped_at == 1.0  # "Please" is decoded again from 1.0 s
