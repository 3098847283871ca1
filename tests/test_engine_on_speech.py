"""The streaming engine on real speech: voice detection, the short-window recogniser, and one
session driven directly, with the bundled Whisper model and the real silero VAD and no
transport in between (the transports: tests/test_live_captions.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import pytest_asyncio
from faster_whisper.audio import pad_or_trim
from support_audio import espeak_wav, normalise, wer
from threadpoolctl import threadpool_info

from server.file_streamer import decode_file
from streaming.batch_pass import PADDING_KEPT_FRAMES, PassRequest, window_features
from streaming.events import (
    SegmentUpdate,
    SessionEvent,
    SpeechStarted,
    StreamSummary,
    UtteranceEnd,
)
from streaming.load import Priority
from streaming.options import SessionOptions
from streaming.recognizer import Recognition, load_whisper, pad_with_silence, strip_padding
from streaming.scheduler import InferenceScheduler
from streaming.session import MAX_FAILED_PASSES_IN_A_ROW, TranscriptionSession
from streaming.vad import WINDOW, SileroVoiceDetector, VadState

RATE = 16_000


@pytest.fixture(scope="module")
def scheduler() -> Iterator[InferenceScheduler]:
    model = load_whisper("bundled", device="cpu", compute_type="int8", workers=1, cpu_threads=2)
    scheduler = InferenceScheduler(model, workers=1)
    yield scheduler
    scheduler.close()


@pytest.fixture(scope="module")
def vad() -> SileroVoiceDetector:
    return SileroVoiceDetector()


@pytest.fixture(scope="module")
def jfk(speech: Path) -> tuple[np.ndarray, str]:
    audio = np.frombuffer(decode_file(speech / "audio" / "jfk_16k.wav"), "<i2")
    return audio.astype(np.float32) / 32768.0, (speech / "refs" / "jfk.txt").read_text()


class TestVoiceDetector:
    def test_speech_scores_high_and_silence_low(
        self, vad: SileroVoiceDetector, jfk: tuple[np.ndarray, str]
    ) -> None:
        probs = vad.probabilities(VadState(), jfk[0][: 3 * 16_000])  # "And so, my fellow…"
        silence = vad.probabilities(VadState(), np.zeros(16_000, np.float32))
        assert len(probs) == 3 * 16_000 // WINDOW
        assert max(probs) > 0.9 and max(silence) < 0.1

    def test_chunking_and_other_streams_do_not_change_a_streams_probabilities(
        self, vad: SileroVoiceDetector, jfk: tuple[np.ndarray, str]
    ) -> None:
        audio = jfk[0][: 4 * 16_000]
        whole = vad.probabilities(VadState(), audio)
        mine, other = VadState(), VadState()
        pieces: list[float] = []
        for start in range(0, audio.size, 1_000):  # pieces that cut windows in two
            pieces += vad.probabilities(mine, audio[start : start + 1_000])
            vad.probabilities(other, np.zeros(700, np.float32))  # interleaved stream
        assert pieces == pytest.approx(whole, abs=1e-5)


class TestWorkerCores:
    def test_numpy_leaves_the_cores_to_the_whisper_workers(
        self, scheduler: InferenceScheduler
    ) -> None:
        """Each pass's mel filterbank is a numpy matrix product: with a BLAS thread per core, those
        threads spin-wait on the cores the Whisper workers need (bench/README.md)."""
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas, "numpy's BLAS was not found"
        assert all(pool["num_threads"] == 1 for pool in blas)


class TestShortWindow:
    """Whisper hears the audio plus 8 s of padding, not a padded 30 s window."""

    def test_padding_beyond_eight_seconds_is_stripped(
        self, scheduler: InferenceScheduler, jfk: tuple[np.ndarray, str]
    ) -> None:
        features = scheduler.recognizer.model.feature_extractor(jfk[0][: 3 * RATE])
        content = features.shape[-1] - 1  # what faster-whisper slices before padding
        padded = pad_or_trim(features[:, :content])
        stripped = strip_padding(padded)
        assert stripped.shape[-1] == content + PADDING_KEPT_FRAMES
        assert np.array_equal(stripped, padded[:, : stripped.shape[-1]])

    def test_the_padding_sounds_like_digital_silence(
        self, scheduler: InferenceScheduler, jfk: tuple[np.ndarray, str]
    ) -> None:
        """Whisper was trained on audio padded with zeros, not on features padded with 0."""
        audio = jfk[0][: 3 * RATE]
        extractor = scheduler.recognizer.model.feature_extractor
        heard = window_features(scheduler.recognizer.model, [PassRequest(audio, ())], True)[0]
        trained_on = extractor(np.concatenate([audio, np.zeros(10 * RATE, np.float32)]))
        content = audio.size // 160
        assert heard.shape[-1] == content + PADDING_KEPT_FRAMES
        # The first frames after the audio still hear its last samples through the FFT window.
        padding = slice(content + 2, heard.shape[-1])
        assert np.allclose(heard[:, padding], trained_on[:, padding], atol=1e-5)
        assert np.allclose(heard[:, :content], trained_on[:, :content], atol=1e-5)

    def test_a_redo_hears_silence_in_place_of_zero_padding(
        self, scheduler: InferenceScheduler, jfk: tuple[np.ndarray, str]
    ) -> None:
        features = scheduler.recognizer.model.feature_extractor(jfk[0][: 3 * RATE])
        content = features.shape[-1] - 1
        padded = pad_with_silence(pad_or_trim(features[:, :content]))
        assert np.array_equal(padded[:, :content], features[:, :content])
        assert np.all(padded[:, content:] == features[:, :content].max() - 2.0)

    def test_audio_near_30_s_keeps_the_whole_window(self) -> None:
        speech_like = np.ones((80, 3000), np.float32)
        speech_like[:, 2500:] = 0.0
        assert strip_padding(speech_like).shape[-1] == 3000

    async def test_short_window_words_match_the_padded_window(
        self, scheduler: InferenceScheduler, jfk: tuple[np.ndarray, str]
    ) -> None:
        audio, reference = jfk
        result = await scheduler.recognize(audio, offset_s=10.0, final=True)
        assert not result.padded_retry
        assert wer(reference, " ".join(w.text for w in result.words)) < 0.1
        padded, _ = await asyncio.to_thread(
            scheduler.recognizer.decode_one, audio, "en", "", True, True
        )  # the window faster-whisper would use
        # "…ask what you can do for your country": same words at the same times.
        for short, full in zip(result.words[-8:], padded[-8:], strict=True):
            assert short.text == full.text
            assert abs(short.start_s - 10.0 - full.start_s) < 0.1, (short, full)

    async def test_a_failed_partial_shows_what_it_heard_and_only_finals_pay_for_a_redo(
        self, scheduler: InferenceScheduler, speech: Path
    ) -> None:
        # "Hello? Hello? Hello? Oh, hello." in the pyannote sample: the short window often
        # decodes it into a loop. A final is then redone on the padded 30 s window (four to
        # six times the cost of the pass); a partial keeps the words before the loop, so no
        # stream's captions wait behind a redo, and the segment's final decides.
        pcm = np.frombuffer(decode_file(speech / "audio" / "pyannote_sample.wav"), "<i2")
        audio = pcm.astype(np.float32) / 32768.0
        redone_finals = 0
        for start_s in (6.0, 6.25, 6.5, 6.75, 7.0):
            for length_s in (2.0, 3.0):
                span = audio[round(start_s * RATE) : round((start_s + length_s) * RATE)]
                partial = await scheduler.recognize(span, offset_s=start_s)
                final = await scheduler.recognize(span, offset_s=start_s, final=True)
                assert not partial.padded_retry
                assert all(start_s <= w.start_s <= start_s + length_s for w in partial.words)
                redone_finals += final.padded_retry
        assert redone_finals >= 3  # the spans do trip the short window


Step = np.ndarray | str  # audio to push, or "finalize"


async def run_session(
    scheduler: InferenceScheduler,
    vad: SileroVoiceDetector,
    steps: Sequence[Step],
    *,
    stream_id: str = "s1",
    interim_results: bool = True,
    paced: bool = False,
    timeout_s: float = 120.0,
    options: SessionOptions | None = None,
) -> list[SessionEvent]:
    """Feed `steps` into a fresh session, close it, and return every event up to the summary.

    `paced`: push the next chunk only once the session has processed the previous one (a
    live microphone on a node faster than real time), instead of as fast as it accepts.
    """
    options = options or SessionOptions(stream_id=stream_id, interim_results=interim_results)
    session = TranscriptionSession(scheduler, vad, options)
    events: list[SessionEvent] = []

    async def feed() -> None:
        for step in steps:
            if isinstance(step, str):
                assert step == "finalize"
                await session.finalize()
            else:
                await session.push_audio(step)
                if paced:
                    await until_processed(session)
        await session.close()

    async def collect() -> None:
        async for event in session.events():
            events.append(event)

    async with asyncio.timeout(timeout_s), asyncio.TaskGroup() as tg:
        tg.create_task(session.run())
        tg.create_task(feed())
        tg.create_task(collect())
    return events


async def until_processed(session: TranscriptionSession) -> None:
    """Wait until the session has run all audio pushed so far through voice detection."""
    while True:  # bounded poll (the caller's timeout): the session has no event for it
        if session.audio_processed_s >= session.audio_received_s:
            return
        await asyncio.sleep(0.002)


def spoken(text: str, path: Path, *, trimmed: bool = False) -> np.ndarray:
    """`text` said by an espeak-ng voice, 16 kHz float32; `trimmed`: without espeak's own
    leading and trailing silence (it would add to the pauses a spec places)."""
    wav = espeak_wav(text, path, voice="en-gb-x-rp")
    audio = np.frombuffer(decode_file(wav), "<i2").astype(np.float32) / 32768.0
    if not trimmed:
        return audio
    sounding = np.flatnonzero(np.abs(audio) > 1e-3)
    return audio[sounding[0] : sounding[-1] + 1]


def chunks(audio: np.ndarray, seconds: float) -> list[np.ndarray]:
    size = round(seconds * RATE)
    return [audio[i : i + size] for i in range(0, audio.size, size)]


def updates(events: Sequence[SessionEvent]) -> list[SegmentUpdate]:
    return [e for e in events if isinstance(e, SegmentUpdate)]


def finals(events: Sequence[SessionEvent]) -> list[SegmentUpdate]:
    return [e for e in updates(events) if e.is_final]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def jfk_events(
    scheduler: InferenceScheduler, vad: SileroVoiceDetector, jfk: tuple[np.ndarray, str]
) -> AsyncIterator[list[SessionEvent]]:
    """JFK in 100 ms chunks with interim results: the reference run the specs below read."""
    yield await run_session(scheduler, vad, chunks(jfk[0], 0.1), stream_id="jfk")


class TestSession:
    def test_finals_transcribe_the_speech(
        self, jfk_events: list[SessionEvent], jfk: tuple[np.ndarray, str]
    ) -> None:
        text = " ".join(f.text for f in finals(jfk_events))
        assert wer(jfk[1], text) < 0.25, text

    def test_seq_increases_by_one_with_every_result(self, jfk_events: list[SessionEvent]) -> None:
        seqs = [u.seq for u in updates(jfk_events)]
        assert seqs == list(range(1, len(seqs) + 1))

    def test_segment_ids_are_stream_scoped_and_numbered_in_order(
        self, jfk_events: list[SessionEvent]
    ) -> None:
        ids = list(dict.fromkeys(u.segment_id for u in updates(jfk_events)))
        assert ids == [f"jfk-{n}" for n in range(1, len(ids) + 1)]
        assert len(ids) >= 2, "JFK's pauses split it into utterances"

    def test_a_segment_is_partials_then_exactly_one_final(
        self, jfk_events: list[SessionEvent]
    ) -> None:
        by_segment: dict[str, list[SegmentUpdate]] = {}
        for u in updates(jfk_events):
            by_segment.setdefault(u.segment_id, []).append(u)
        assert any(len(us) > 1 for us in by_segment.values()), "no partial was ever shown"
        for segment_id, us in by_segment.items():
            *partials, last = us
            assert last.is_final and last.stability == 1.0, segment_id
            assert all(not p.is_final for p in partials), "a final segment changed again"
            assert all(0.0 <= p.stability <= 1.0 for p in partials)
        order = [int(u.segment_id.rsplit("-", 1)[1]) for u in updates(jfk_events)]
        assert order == sorted(order), "a segment's results never interleave with another's"

    def test_speech_final_is_followed_by_utterance_end_at_the_last_word(
        self, jfk_events: list[SessionEvent]
    ) -> None:
        seen = 0
        for event, following in zip(jfk_events, jfk_events[1:], strict=False):
            if isinstance(event, SegmentUpdate) and event.is_final and event.speech_final:
                assert isinstance(following, UtteranceEnd)
                assert following.last_word_end_s == pytest.approx(event.words[-1].end_s, abs=1e-3)
                seen += 1
        assert seen >= 1, "JFK's pauses end utterances"
        ends = [e for e in jfk_events if isinstance(e, UtteranceEnd)]
        assert len(ends) == seen

    def test_each_utterance_starts_with_speech_started(
        self, jfk_events: list[SessionEvent]
    ) -> None:
        # JFK's utterances are short: one segment each, each opened by a SpeechStarted.
        starts = [i for i, e in enumerate(jfk_events) if isinstance(e, SpeechStarted)]
        firsts: dict[str, int] = {}
        for i, e in enumerate(jfk_events):
            if isinstance(e, SegmentUpdate):
                firsts.setdefault(e.segment_id, i)
        assert len(starts) == len(firsts)
        for start, first, next_start in zip(
            starts, firsts.values(), [*starts[1:], len(jfk_events)], strict=True
        ):
            assert start < first < next_start

    def test_summary_counts_segments_and_finals(
        self, jfk_events: list[SessionEvent], jfk: tuple[np.ndarray, str]
    ) -> None:
        summary = jfk_events[-1]
        assert isinstance(summary, StreamSummary)
        assert summary.segments == len({u.segment_id for u in updates(jfk_events)})
        assert summary.finals == len(finals(jfk_events))
        assert summary.audio_received_s == summary.audio_processed_s == jfk[0].size / RATE

    @pytest.mark.parametrize("lead_in_ms", [0, 80])
    async def test_without_interim_results_every_utterance_gets_only_its_final(
        self,
        scheduler: InferenceScheduler,
        vad: SileroVoiceDetector,
        jfk: tuple[np.ndarray, str],
        lead_in_ms: int,
    ) -> None:
        # Fed like a live microphone (each 100 ms chunk processed before the next one comes),
        # an utterance may end right after a partial pass that showed nothing (interim results
        # are off): it must still get its final. The lead-in shifts where the chunks fall.
        # "And so my fellow Americans, … ask not": two utterances, cut before the third.
        opening = jfk[0][: round(5.3 * RATE)]
        audio = np.concatenate([np.zeros(lead_in_ms * RATE // 1000, np.float32), opening])
        events = await run_session(
            scheduler, vad, chunks(audio, 0.1), interim_results=False, paced=True
        )
        results = updates(events)
        assert results and all(u.is_final for u in results), "interim results were sent"
        assert [u.seq for u in results] == list(range(1, len(results) + 1))
        utterances = [e for e in events if isinstance(e, SpeechStarted)]
        assert len(utterances) == 2
        assert [u.speech_final for u in results] == [True, True], [u.text for u in results]
        assert "fellow americans" in normalise(results[0].text)
        # Exactly the two words of the cut utterance (tiny.en may hear "asked not").
        assert wer("ask not", results[1].text) <= 0.5, results[1].text

    async def test_a_turn_after_a_long_silence_keeps_its_first_word(
        self, scheduler: InferenceScheduler, vad: SileroVoiceDetector, tmp_path: Path
    ) -> None:
        # One participant's microphone in a meeting: they speak, others talk for a while
        # (silence here), then they speak again, starting with a name.
        quiet = np.zeros(8 * RATE, np.float32)
        audio = np.concatenate(
            [
                spoken("Good morning everyone.", tmp_path / "a.wav"),
                quiet,
                spoken("Bob, can you send the revised budget?", tmp_path / "b.wav"),
                np.zeros(RATE, np.float32),
            ]
        )
        events = await run_session(scheduler, vad, chunks(audio, 0.1))
        texts = [normalise(f.text) for f in finals(events) if f.text]
        assert len(texts) == 2 and texts[1].startswith("bob"), texts

    async def test_finalize_cuts_the_open_utterance(
        self, scheduler: InferenceScheduler, vad: SileroVoiceDetector, jfk: tuple[np.ndarray, str]
    ) -> None:
        audio, _ = jfk
        cut = round(8.0 * RATE)  # inside "…ask what you can do for your country"
        events = await run_session(
            scheduler, vad, [*chunks(audio[:cut], 0.1), "finalize", *chunks(audio[cut:], 0.1)]
        )
        forced = [f for f in finals(events) if not f.speech_final and f.end_s <= 8.0 + 0.05]
        assert forced, [(f.text, f.end_s, f.speech_final) for f in finals(events)]
        later = [f for f in finals(events) if f.start_s >= 8.0 - 0.5]
        assert later, "the speech after Finalize became a segment of its own"
        assert later[0].segment_id != forced[-1].segment_id

    async def test_finals_do_not_depend_on_how_the_audio_is_chunked(
        self,
        scheduler: InferenceScheduler,
        vad: SileroVoiceDetector,
        jfk: tuple[np.ndarray, str],
        jfk_events: list[SessionEvent],
    ) -> None:
        # One 11 s chunk (a large frame, or an Opus recording decoded at once) must give the
        # same utterances as 100 ms chunks: no words leaking across an utterance end.
        whole = await run_session(scheduler, vad, [jfk[0]], interim_results=False)
        assert [f.text for f in finals(whole)] == [f.text for f in finals(jfk_events)]
        assert [f.speech_final for f in finals(whole)] == [
            f.speech_final for f in finals(jfk_events)
        ]

    async def test_a_chunk_longer_than_the_window_is_accepted(
        self, scheduler: InferenceScheduler, vad: SileroVoiceDetector
    ) -> None:
        events = await run_session(scheduler, vad, [np.zeros(40 * RATE, dtype=np.float32)])
        summary = events[-1]
        assert isinstance(summary, StreamSummary)
        assert summary.audio_processed_s == 40.0
        assert updates(events) == []


class FailingPasses:
    """Makes the passes it is told to fail raise as CTranslate2 does on a CUDA error: the next
    `finals` final passes, and all or every other partial pass. Every other pass runs on the
    real model. `failed` counts the passes it failed."""

    def __init__(self, scheduler: InferenceScheduler, monkeypatch: pytest.MonkeyPatch) -> None:
        self.finals = 0
        self.partials: Literal["none", "all", "every other"] = "none"
        self.failed = 0
        partial_passes = 0
        real = scheduler.recognize

        async def recognize(audio: np.ndarray, **kwargs: Any) -> Recognition:
            nonlocal partial_passes
            if kwargs.get("final"):
                fail = self.finals > 0
                self.finals -= fail
            else:
                partial_passes += 1
                fail = self.partials == "all" or (
                    self.partials == "every other" and partial_passes % 2 == 0
                )
            if fail:
                self.failed += 1
                raise RuntimeError("CUDA failed with error out of memory")
            return await real(audio, **kwargs)

        monkeypatch.setattr(scheduler, "recognize", recognize)


@pytest.fixture
def failing(scheduler: InferenceScheduler, monkeypatch: pytest.MonkeyPatch) -> FailingPasses:
    return FailingPasses(scheduler, monkeypatch)


class TestFailedPasses:
    """A pass that fails costs its stream a partial or a final's corrections, not the stream."""

    async def test_a_failed_partial_pass_is_skipped_and_the_stream_goes_on(
        self,
        scheduler: InferenceScheduler,
        vad: SileroVoiceDetector,
        jfk: tuple[np.ndarray, str],
        failing: FailingPasses,
    ) -> None:
        failing.partials = "every other"
        thrice = np.concatenate([jfk[0]] * 3)  # enough partial passes on a busy machine too
        events = await run_session(scheduler, vad, chunks(thrice, 0.1), stream_id="jfk", paced=True)
        assert failing.failed >= MAX_FAILED_PASSES_IN_A_ROW, "more than in a row would end it"
        assert any(not u.is_final for u in updates(events)), "the other partials are shown"
        said = " ".join([jfk[1]] * 3)
        assert wer(said, " ".join(f.text for f in finals(events))) < 0.25
        assert isinstance(events[-1], StreamSummary)

    async def test_a_segment_whose_final_pass_fails_ends_with_what_its_partials_showed(
        self,
        scheduler: InferenceScheduler,
        vad: SileroVoiceDetector,
        jfk: tuple[np.ndarray, str],
        failing: FailingPasses,
    ) -> None:
        failing.finals = 2  # the first segment's: in its pause, and at its end
        events = await run_session(scheduler, vad, chunks(jfk[0], 0.1), stream_id="jfk", paced=True)
        *partials, final = [u for u in updates(events) if u.segment_id == "jfk-1"]
        assert failing.failed >= 1 and final.is_final
        assert final.text == partials[-1].text != ""
        assert len(finals(events)) >= 2, "the stream went on after it"

    async def test_passes_failing_three_times_in_a_row_end_the_stream(
        self,
        scheduler: InferenceScheduler,
        vad: SileroVoiceDetector,
        jfk: tuple[np.ndarray, str],
        failing: FailingPasses,
    ) -> None:
        failing.partials, failing.finals = "all", 99
        with pytest.raises(ExceptionGroup) as raised:
            await run_session(scheduler, vad, chunks(jfk[0], 0.1), stream_id="jfk")
        assert raised.group_contains(RuntimeError, match="CUDA failed")
        assert failing.failed == MAX_FAILED_PASSES_IN_A_ROW


@pytest.fixture(scope="module")
def passes() -> Iterator[tuple[InferenceScheduler, list[Priority]]]:
    """A scheduler that lists the priority of every pass it runs."""
    ran: list[Priority] = []
    model = load_whisper("bundled", device="cpu", compute_type="int8", workers=1, cpu_threads=2)
    scheduler = InferenceScheduler(
        model, workers=1, observer=lambda run: ran.extend([run.priority] * run.size)
    )
    yield scheduler, ran
    scheduler.close()


class TestEarlyFinal:
    """In a pause that may end the utterance, the final pass runs at once; if nobody speaks
    again, the endpoint sends its words without another pass (the final arrives a pass
    earlier). If speech resumes, the final comes from a new pass over all of it."""

    LEAD_IN = np.zeros(round(0.3 * RATE), np.float32)
    #: Under the specs' 1 s endpointing silence, past half of it.
    PAUSE = np.zeros(round(0.7 * RATE), np.float32)

    async def test_an_utterance_ending_in_a_pause_is_final_from_the_pass_run_in_it(
        self,
        passes: tuple[InferenceScheduler, list[Priority]],
        vad: SileroVoiceDetector,
        tmp_path: Path,
    ) -> None:
        scheduler, ran = passes
        ran.clear()
        session = TranscriptionSession(
            scheduler, vad, SessionOptions(stream_id="early", silence_ms=1000)
        )
        events: list[SessionEvent] = []

        async def collect() -> None:
            async for event in session.events():
                events.append(event)

        async def feed(audio: np.ndarray) -> None:
            for chunk in chunks(audio, 0.1):  # a live microphone on a fast node
                await session.push_audio(chunk)
                await until_processed(session)

        speech = spoken(
            "The login screen is finished on both phones.", tmp_path / "a.wav", trimmed=True
        )
        async with asyncio.timeout(120), asyncio.TaskGroup() as tg:
            tg.create_task(session.run())
            tg.create_task(collect())
            await feed(np.concatenate([self.LEAD_IN, speech, self.PAUSE]))
            async with asyncio.timeout(30):  # the pass in the pause; it is never skipped
                while Priority.LIVE_FINAL not in ran:  # noqa: ASYNC110 (a worker thread's list)
                    await asyncio.sleep(0.01)
            assert finals(events) == [], "the endpoint came before the silence did"
            await feed(np.zeros(RATE, np.float32))
            await session.close()
        assert ran.count(Priority.LIVE_FINAL) == 1, ran
        (final,) = finals(events)
        assert final.speech_final
        assert wer("the login screen is finished on both phones", final.text) <= 0.25

    async def test_speech_after_the_pause_gets_a_final_pass_of_its_own(
        self,
        passes: tuple[InferenceScheduler, list[Priority]],
        vad: SileroVoiceDetector,
        tmp_path: Path,
    ) -> None:
        scheduler, ran = passes
        ran.clear()
        first = spoken("The login screen is finished", tmp_path / "a.wav", trimmed=True)
        second = spoken("and the tests pass on both phones.", tmp_path / "b.wav", trimmed=True)
        ending = np.zeros(RATE, np.float32)
        audio = np.concatenate([self.LEAD_IN, first, self.PAUSE, second, ending])
        steps = chunks(audio, 0.1)
        options = SessionOptions(stream_id="resumed", silence_ms=1000)
        events = await run_session(scheduler, vad, steps, paced=True, options=options)
        (final,) = finals(events)
        # One early pass in each pause: speech overtook the first, the second became final.
        assert ran.count(Priority.LIVE_FINAL) == 2, ran
        # It covers both parts. (tiny.en mishears this voice by 1 to 4 words of the 12, "screen"
        # as "'s green", depending on the window's padding: the bound is loose.)
        lead_s, first_s = 0.3, first.size / RATE
        assert final.words[0].start_s < lead_s + first_s < final.words[-1].end_s, final.words
        assert {"finished", "phones"} <= set(normalise(final.text).split()), final.text
        reference = "the login screen is finished and the tests pass on both phones"
        assert wer(reference, final.text) <= 0.35, final.text
