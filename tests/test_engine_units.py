"""Unit specifications of the streaming engine's parts, with hand-made inputs.

LocalAgreement, the endpointer, the voice trace, the long-segment cut, the guards, the audio
window and the PCM decoder. The parts that hear real speech, and a session driven directly,
are in tests/test_engine_on_speech.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pytest

from streaming.agreement import LocalAgreement
from streaming.audio import PcmDecoder, make_decoder
from streaming.batch_pass import heard_words
from streaming.errors import InvalidAudio, InvalidConfig
from streaming.events import (
    Word,
)
from streaming.guards import (
    MIN_TAIL_WORD_PROB,
    drop_repetition_loop,
    drop_squeezed_repeats,
    drop_unlikely_tail,
    is_invented_segment,
    is_looped_segment,
    words_before_loop,
)
from streaming.recording_session import Utterance, share_out, split_at_sentences
from streaming.segment_cut import pause_cut
from streaming.vad import (
    WINDOW,
    Boundary,
    UtteranceEndpointer,
    VoiceActivityTrace,
)
from streaming.window import AudioWindow

RATE = 16_000
WINDOW_S = WINDOW / RATE  # 32 ms


def at(windows: int) -> float:
    """Stream time of the start of window number `windows`."""
    return windows * WINDOW / RATE


def words(text: str, start_s: float = 0.0, step_s: float = 0.4, p: float = 0.9) -> list[Word]:
    """One Word per token of `text`, back to back, each `step_s` long."""
    return [
        Word(token, start_s + i * step_s, start_s + (i + 1) * step_s, p)
        for i, token in enumerate(text.split())
    ]


def texts(ws: Sequence[Word]) -> str:
    return " ".join(w.text for w in ws)


# -- LocalAgreement-2 -------------------------------------------------------------------------


class TestLocalAgreement:
    def test_a_first_hypothesis_is_all_tentative(self) -> None:
        agreement = LocalAgreement()
        assert agreement.insert(words("hello there my")) == []
        assert agreement.committed == []
        assert texts(agreement.tentative) == "hello there my"

    def test_commits_only_the_prefix_two_passes_agree_on(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("hello there my friend"))
        newly = agreement.insert(words("hello there mind friends and"))
        assert texts(newly) == "hello there"
        assert texts(agreement.committed) == "hello there"
        assert texts(agreement.tentative) == "mind friends and"

    def test_agreement_ignores_case_and_punctuation(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("Hello, there"))
        assert texts(agreement.insert(words("hello there."))) == "hello there."

    def test_disagreeing_first_words_commit_nothing(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("ask not"))
        assert agreement.insert(words("task not")) == []
        assert texts(agreement.tentative) == "task not"

    def test_committed_words_never_change_and_grow_pass_by_pass(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("we will"))
        agreement.insert(words("we will meet"))  # commits "we will"
        agreement.insert(words("we will meet again on"))  # commits "meet"
        agreement.insert(words("we wheel meet again on Thursday"))  # revises committed audio
        assert texts(agreement.committed) == "we will meet again on"
        assert texts(agreement.tentative) == "Thursday"

    def test_a_repeat_of_the_committed_tail_is_not_committed_twice(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("hello world"))
        agreement.insert(words("hello world"))
        assert texts(agreement.committed) == "hello world"  # "world" ends at 0.8 s
        # The next passes hear "world" again, its timestamps shifted past the committed end.
        shifted = [Word("world", 0.75, 0.95, 0.9), *words("how are you", start_s=1.0)]
        agreement.insert(shifted)
        assert texts(agreement.tentative) == "how are you"
        agreement.insert(shifted)
        assert texts(agreement.committed) == "hello world how are you"

    def test_words_inside_committed_audio_are_not_new(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("one two three"))
        agreement.insert(words("one two three"))
        again = words("one two three four", step_s=0.4)
        agreement.insert(again)
        assert texts(agreement.tentative) == "four"

    def test_final_words_are_the_final_pass_after_the_segment_start(self) -> None:
        agreement = LocalAgreement()
        agreement.reset(2.0)
        hypothesis = [*words("earlier context", start_s=0.5), *words("ask not", start_s=2.1)]
        assert texts(agreement.final_words(hypothesis, 2.0)) == "ask not"

    def test_final_words_drop_a_repeat_of_the_previous_split(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("the end of sentence one. and then"))
        agreement.insert(words("the end of sentence one. and then more"))
        # A long segment is finalised at its sentence end, with its final pass's text.
        agreement.split_at(5, finalised=words("the end of sentence one."))
        assert texts(agreement.committed) == "and then"
        # The next segment's final pass starts a little early and re-hears "one."
        hypothesis = [Word("one.", 2.05, 2.3, 0.9), *words("and then more", start_s=2.3)]
        assert texts(agreement.final_words(hypothesis, 2.0)) == "and then more"

    def test_reset_starts_an_empty_segment(self) -> None:
        agreement = LocalAgreement()
        agreement.insert(words("a b c"))
        agreement.insert(words("a b c"))
        agreement.reset(5.0)
        assert agreement.committed == [] and agreement.tentative == []
        # Audio before the new segment start is not part of it.
        assert agreement.insert(words("old words", start_s=4.0)) == []
        assert agreement.tentative == []


# -- recordings: one window, several utterances -------------------------------------------


class TestRecordingWindows:
    def test_a_windows_words_go_to_the_utterance_they_fall_in(self) -> None:
        utterances = [Utterance(0.0, 2.0, True, None), Utterance(3.0, 5.0, True, None)]
        heard = [*words("and so my", start_s=0.2), *words("ask not", start_s=2.4)]
        # "ask" starts in the pause but lies nearer the second utterance.
        assert [texts(w) for w in share_out(heard, utterances)] == ["and so my", "ask not"]

    def test_long_utterances_are_cut_after_a_sentence_end_that_fits(self) -> None:
        said = words("one two three. four five six seven eight nine", step_s=1.0)
        assert [texts(p) for p in split_at_sentences(said, 6.0)] == [
            "one two three.",
            "four five six seven eight nine",
        ]

    def test_without_a_sentence_end_the_cut_is_at_the_widest_pause(self) -> None:
        said = [*words("a b c", step_s=1.0), *words("d e f g", start_s=3.8, step_s=1.0)]
        assert [texts(p) for p in split_at_sentences(said, 5.0)] == ["a b c", "d e f g"]


# -- utterance endpointing --------------------------------------------------------------------


class TestUtteranceEndpointer:
    @staticmethod
    def make() -> UtteranceEndpointer:
        # 600 ms of silence = 19 windows; 64 ms of speech = 2 windows.
        return UtteranceEndpointer(threshold=0.5, silence_ms=600, min_speech_ms=64)

    def test_speech_starts_after_min_speech_at_its_first_window(self) -> None:
        ep = self.make()
        assert ep.update([0.1] * 10 + [0.9]) == []
        assert not ep.in_speech
        assert ep.update([0.9]) == [Boundary("start", at(10))]
        assert ep.in_speech

    def test_a_single_loud_window_is_not_speech(self) -> None:
        ep = self.make()
        assert ep.update([0.1, 0.9, 0.1, 0.9, 0.1] * 4) == []
        assert not ep.in_speech

    def test_speech_ends_after_silence_ms_at_the_first_silent_window(self) -> None:
        ep = self.make()
        ep.update([0.9] * 20)
        assert ep.update([0.1] * 18) == [], "18 windows (576 ms) are not yet 600 ms"
        assert ep.update([0.1]) == [Boundary("end", at(20))]
        assert not ep.in_speech

    def test_a_breath_shorter_than_silence_ms_does_not_split(self) -> None:
        ep = self.make()
        ep.update([0.9] * 20)
        assert ep.update([0.1] * 12 + [0.9] * 5 + [0.1] * 12) == []
        assert ep.in_speech
        (end,) = ep.update([0.1] * 7)
        assert end == Boundary("end", at(20 + 12 + 5)), "timed from the last silence"

    def test_hysteresis_keeps_speech_between_the_two_thresholds(self) -> None:
        ep = self.make()
        ep.update([0.9] * 5)
        assert ep.update([0.4] * 40) == [], "0.4 is above the 0.35 release threshold"
        assert ep.in_speech
        fresh = self.make()
        assert fresh.update([0.4] * 40) == [], "0.4 is below the 0.5 onset threshold"

    def test_last_voiced_tracks_the_end_of_the_last_voiced_window(self) -> None:
        ep = self.make()
        ep.update([0.9] * 10 + [0.1] * 5)
        assert ep.last_voiced_s == pytest.approx(10 * WINDOW_S)


class TestVoiceActivityTrace:
    def test_the_quietest_window_between_two_times(self) -> None:
        trace = VoiceActivityTrace(capacity_s=30.0)
        trace.extend([0.9] * 10 + [0.6, 0.2, 0.4] + [0.9] * 10)
        assert trace.quietest(at(5), at(20)) == pytest.approx((0.2, at(11) + WINDOW_S / 2))
        assert trace.quietest(at(0), at(9)) == pytest.approx((0.9, at(0) + WINDOW_S / 2))

    def test_times_outside_what_is_held_are_not_guessed(self) -> None:
        trace = VoiceActivityTrace(capacity_s=10 * WINDOW_S)
        trace.extend([0.1] * 5 + [0.9] * 20)  # the quiet windows have been forgotten
        assert trace.quietest(at(0), at(5)) is None
        assert trace.quietest(at(30), at(40)) is None, "not heard yet"
        prob, middle_s = trace.quietest(at(0), at(25)) or (None, 0.0)
        assert prob == 0.9 and middle_s > at(10), "only the loud windows are still held"


class TestLongSegmentCut:
    """Where a live segment that never pauses long enough to end is cut."""

    @staticmethod
    def trace(probs: list[float]) -> VoiceActivityTrace:
        trace = VoiceActivityTrace(capacity_s=30.0)
        trace.extend(probs)
        return trace

    def test_the_cut_falls_in_the_quietest_pause_not_at_the_last_full_stop(self) -> None:
        # "one two three." then, 40 ms later, another speaker; a real pause after "five".
        said = [Word("one", 0.0, 0.4, 0.9), Word("two", 0.4, 0.8, 0.9)]
        said += [Word("three.", 0.8, 1.2, 0.9), Word("four", 1.24, 1.6, 0.9)]
        said += [Word("five", 1.6, 2.0, 0.9), Word("six.", 2.6, 3.0, 0.9)]
        probs = [0.95] * round(2.0 / WINDOW_S) + [0.1] * round(0.6 / WINDOW_S) + [0.95] * 40
        cut, at_s = pause_cut(said[:5], said[5:], self.trace(probs), earliest_s=0.0)
        assert texts(said[:cut]) == "one two three. four five"
        assert 2.0 <= at_s <= 2.6

    def test_equally_quiet_pauses_prefer_a_sentence_end_then_the_latest(self) -> None:
        said = words("a b. c d e f")  # 0.4 s each; silence between them all
        quiet = self.trace([0.05] * round(2.4 / WINDOW_S))
        assert pause_cut(said, [], quiet, earliest_s=0.0)[0] == 2, "after 'b.'"
        assert pause_cut(words("a b c d"), [], quiet, earliest_s=0.0)[0] == 4, "the latest"

    def test_no_cut_before_earliest(self) -> None:
        said = words("a b c d e f")
        probs = [0.95] * 15 + [0.1] * 3 + [0.95] * 60  # the only pause is after ~0.5 s
        cut, at_s = pause_cut(said, [], self.trace(probs), earliest_s=1.0)
        assert at_s >= 1.0 and cut >= 3

    def test_without_voice_activity_all_committed_words_go_before_the_next(self) -> None:
        said = words("a b c d")
        cut, at_s = pause_cut(said[:3], said[3:], VoiceActivityTrace(30.0), earliest_s=0.0)
        assert cut == 3 and at_s == pytest.approx(1.2)


# -- guards -----------------------------------------------------------------------------------


class TestGuards:
    def test_a_phrase_looping_to_the_end_is_cut_to_one_occurrence(self) -> None:
        assert texts(drop_repetition_loop(words("we can we can we can we can"))) == "we can"
        looped = words("I said thank you. Thank you. thank you thank you")
        assert texts(drop_repetition_loop(looped)) == "I said thank you."

    def test_a_sentence_decoded_twice_at_the_end_is_kept_once(self) -> None:
        doubled = words("Should we offer remote work? Should we offer remote work?")
        assert texts(drop_repetition_loop(doubled)) == "Should we offer remote work?"
        for text in ("I know. I know.", "Paul said no. Then we offer remote work as planned"):
            assert texts(drop_repetition_loop(words(text))) == text

    def test_ordinary_repetition_is_speech(self) -> None:
        for text in ("the the cat", "no no no", "very very good", "we can we can do it"):
            assert texts(drop_repetition_loop(words(text))) == text

    def test_a_single_word_needs_four_repeats_to_be_a_loop(self) -> None:
        assert texts(drop_repetition_loop(words("no no no"))) == "no no no"
        assert texts(drop_repetition_loop(words("okay no no no no"))) == "okay no"

    def test_repeats_followed_by_other_words_were_heard(self) -> None:
        text = "Hello. Hello. Hello. Hello. Hello. I didn't know you were there"
        assert texts(drop_repetition_loop(words(text))) == text

    def test_a_repeat_squeezed_into_no_time_was_not_said(self) -> None:
        # As tiny.en aligned "Hello." x8 on the pyannote sample's "Hello? Hello? Oh, hello."
        heard = [Word("Hello.", 6.74, 7.22, 0.9), Word("Hello.", 7.70, 8.10, 0.9)]
        heard += [Word("Hello.", 8.34, 8.46, 0.8), Word("Hello.", 8.46, 8.66, 0.8)]
        squeezed = [Word("Hello.", t, t, 0.5) for t in (8.84, 8.92, 8.98)]
        rest = [Word("I", 8.98, 8.98, 0.9), Word("didn't", 8.98, 9.22, 0.9)]
        assert drop_squeezed_repeats([*heard, *squeezed, *rest]) == [*heard, *rest]

    def test_a_short_word_that_does_not_repeat_is_kept(self) -> None:
        ws = [Word("I", 1.0, 1.0, 0.9), Word("I", 1.0, 1.2, 0.9), Word("know", 1.2, 1.5, 0.9)]
        assert drop_squeezed_repeats(ws) == ws, "the first 'I' repeats nothing; the second is long"

    def test_unlikely_trailing_words_are_dropped(self) -> None:
        heard = words("and so my fellow Americans")
        invented = [Word("Thank", 3.0, 3.2, 0.02), Word("you.", 3.2, 3.4, 0.03)]
        assert drop_unlikely_tail([*heard, *invented]) == heard

    def test_a_last_word_said_unclearly_is_kept(self) -> None:
        # tiny.en gave "night" 0.11-0.25 in "Saturday night." decoded as one turn.
        said = [*words("on Saturday"), Word("night.", 1.0, 1.3, 0.11)]
        assert drop_unlikely_tail(said) == said

    def test_an_unlikely_word_inside_the_text_is_kept(self) -> None:
        ws = [*words("ask not"), Word("wot", 1.0, 1.2, 0.01), *words("your country", 1.2)]
        assert drop_unlikely_tail(ws) == ws
        assert drop_unlikely_tail([Word("um", 0, 1, MIN_TAIL_WORD_PROB / 2)]) == []
        assert drop_unlikely_tail([Word("yes", 0, 1, MIN_TAIL_WORD_PROB)]) != []

    @dataclass
    class Segment:
        no_speech_prob: float
        avg_logprob: float
        compression_ratio: float

    @pytest.mark.parametrize(
        ("no_speech", "logprob", "compression", "invented", "looped"),
        [
            (0.9, -1.5, 1.2, True, False),  # the model thinks it is not speech, and is unsure
            (0.9, -0.3, 1.2, False, False),  # not speech, but decoded confidently: keep
            (0.1, -1.5, 1.2, False, False),  # speech, decoded with difficulty: keep
            (0.1, -0.3, 3.0, False, True),  # compresses like a loop
            (0.1, -0.3, 1.5, False, False),  # ordinary speech
        ],
    )
    def test_invented_and_looped_segments(
        self, no_speech: float, logprob: float, compression: float, invented: bool, looped: bool
    ) -> None:
        segment = self.Segment(no_speech, logprob, compression)
        assert is_invented_segment(segment) is invented
        assert is_looped_segment(segment) is looped

    def test_a_looped_segment_keeps_what_was_heard_before_the_loop(self) -> None:
        # tiny.en on 4 s of the pyannote sample's overlapping speakers, a partial pass.
        looped = words(
            "University now though. Well there isn't that much difference at least."
            " Well there isn't that much difference at least. Well there isn"
        )
        assert texts(words_before_loop(looped)) == (
            "University now though. Well there isn't that much difference at least."
        )

    def test_a_loop_on_the_first_second_of_a_turn_keeps_nothing(self) -> None:
        # Whisper's guess on 1 s of "How long will the upgrade take?", four times over.
        guess = words(" ".join(["How long will it be?"] * 4), step_s=0.05)
        assert words_before_loop(guess) == []
        assert words_before_loop(words(" ".join(["Hello."] * 11))) == []

    def test_a_looped_segment_without_a_loop_at_its_end_keeps_nothing(self) -> None:
        # Compresses well, but no tail repeats: nothing to trust.
        assert words_before_loop(words("we can we can we can do it now")) == []
        assert words_before_loop(words("one two three")) == []

    def test_a_looped_piece_keeps_its_words_before_the_loop_and_fails_the_pass(self) -> None:
        looped = self.Segment(0.01, -0.2, 2.43)
        said = words("so we agreed to ship it on friday")
        heard = [(w.text, w.start_s, w.end_s, w.probability) for w in said]
        loop = heard + [(w.text, w.start_s + 4, w.end_s + 4, 0.9) for w in words("yes " * 6)]
        kept, failed = heard_words([(looped, loop)])
        assert texts(kept) == "so we agreed to ship it on friday yes" and failed
        invented = self.Segment(0.9, -1.5, 1.2)
        kept, failed = heard_words([(invented, heard)])
        assert kept == [] and not failed

    def test_numbers_and_hyphenated_words_stay_whole_words(self) -> None:
        # faster-whisper's words for " We spend $12,000 on ads, 10% over a so-called budget."
        # (tiny.en on espeak-ng): its word split cuts at punctuation inside a word.
        pieces = [" We", " spend", " $12", ",000", " on", " ads,", " 10", "%", " over", " a"]
        pieces += [" so", "-called", " budget."]
        heard = [(p, i * 0.3, i * 0.3 + 0.25, 0.8) for i, p in enumerate(pieces)]
        kept, failed = heard_words([(self.Segment(0.01, -0.2, 1.2), heard)])
        assert texts(kept) == "We spend $12,000 on ads, 10% over a so-called budget." and not failed
        dollars = kept[2]
        assert (dollars.start_s, dollars.end_s) == (0.6, 1.15)


# -- the audio window -------------------------------------------------------------------------


def ramp(seconds: float, first: int = 0) -> np.ndarray:
    """Samples whose value is their stream index (exact in float32 up to 2**24)."""
    n = round(seconds * RATE)
    return np.arange(first, first + n, dtype=np.float32)


class TestAudioWindow:
    def test_append_and_read_back_in_stream_seconds(self) -> None:
        window = AudioWindow(2.0)
        window.append(ramp(1.0))
        assert (window.start_s, window.end_s, window.room_s) == (0.0, 1.0, 1.0)
        tail = window.since(0.75)
        assert tail.size == 4000 and tail[0] == 12_000 and tail[-1] == 15_999

    def test_since_clamps_to_what_is_held_and_returns_a_copy(self) -> None:
        window = AudioWindow(2.0)
        window.append(ramp(1.0))
        assert window.since(-3.0).size == RATE
        assert window.since(5.0).size == 0
        copy = window.since(0.0)
        copy[:] = -1
        assert window.since(0.0)[0] == 0, "since() must not expose the buffer"

    def test_trim_forgets_the_past_but_keeps_stream_time(self) -> None:
        window = AudioWindow(2.0)
        window.append(ramp(1.5))
        window.trim_before(1.0)
        assert (window.start_s, window.end_s) == (1.0, 1.5)
        assert window.room_s == pytest.approx(1.5)
        assert window.since(0.0)[0] == 16_000, "audio before the trim is gone"
        window.append(ramp(1.0, first=24_000))
        assert window.end_s == 2.5
        assert np.array_equal(window.since(1.0), np.arange(16_000, 40_000, dtype=np.float32))

    def test_overflow_is_refused_and_nothing_is_lost(self) -> None:
        window = AudioWindow(1.0)
        window.append(ramp(0.75))
        with pytest.raises(OverflowError):
            window.append(ramp(0.5, first=12_000))
        assert window.end_s == 0.75 and window.since(0.0).size == 12_000
        window.trim_before(0.5)
        window.append(ramp(0.5, first=12_000))  # fits once trimmed
        assert window.end_s == 1.25


# -- the PCM decoder --------------------------------------------------------------------------


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm))
    return float(np.fft.rfftfreq(pcm.size, 1 / RATE)[np.argmax(spectrum)])


def decode_in_chunks(decoder: PcmDecoder, data: bytes, chunk: int) -> np.ndarray:
    parts = [decoder.decode(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return np.concatenate([*parts, decoder.flush()])


class TestPcmDecoder:
    @pytest.mark.parametrize(
        ("encoding", "channels", "size"),
        [("linear16", 1, 3), ("linear16", 2, 6), ("float32", 1, 6), ("float32", 2, 12)],
    )
    def test_frames_of_partial_samples_are_rejected(
        self, encoding: str, channels: int, size: int
    ) -> None:
        decoder = PcmDecoder(encoding, RATE, channels)  # type: ignore[arg-type]
        with pytest.raises(InvalidAudio, match=f"{size} bytes"):
            decoder.decode(bytes(size))

    def test_linear16_is_scaled_to_unit_float(self) -> None:
        samples = np.array([0, 16_384, -32_768, 32_767], dtype="<i2")
        pcm = PcmDecoder("linear16", RATE, 1).decode(samples.tobytes())
        assert pcm.dtype == np.float32
        assert pcm.tolist() == pytest.approx([0.0, 0.5, -1.0, 32_767 / 32_768])

    def test_channels_are_mixed_down_to_their_mean(self) -> None:
        stereo = np.array([[0.5, 0.3], [0.5, -0.5], [-1.0, 0.0]], dtype="<f4")
        pcm = PcmDecoder("float32", RATE, 2).decode(stereo.tobytes())
        assert pcm.tolist() == pytest.approx([0.4, 0.0, -0.5])
        quad = np.array([[1, 1, 1, 1], [4000, 0, 0, 0]], dtype="<i2")
        assert PcmDecoder("linear16", RATE, 4).decode(quad.tobytes()).size == 2

    def test_float32_must_be_finite(self) -> None:
        with pytest.raises(InvalidAudio, match="NaN"):
            PcmDecoder("float32", RATE, 1).decode(np.array([0.1, np.nan], "<f4").tobytes())

    def test_float32_at_integer_scale_is_refused_and_a_loud_frame_is_not(self) -> None:
        decoder = PcmDecoder("float32", RATE, 1)
        loud = decoder.decode(np.array([0.5, -2.0, 16.0], "<f4").tobytes())
        assert loud.tolist() == [0.5, -2.0, 16.0], "over full scale, but plausibly float audio"
        with pytest.raises(InvalidAudio, match="LINEAR16"):
            decoder.decode(np.array([120.0, -3000.0], "<f4").tobytes())

    @pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
    def test_resampling_keeps_duration_and_pitch(self, rate: int) -> None:
        decoder = PcmDecoder("float32", rate, 1)
        pcm = decode_in_chunks(decoder, tone(rate, 2.0).tobytes(), chunk=4 * (rate // 50))
        assert pcm.size == pytest.approx(2 * RATE, abs=2)
        assert peak_hz(pcm) == pytest.approx(440.0, abs=1.0)

    def test_stereo_44k1_linear16_becomes_16k_mono(self) -> None:
        left = tone(44_100, 1.0, 440.0)
        stereo = np.stack([left, left], axis=1).reshape(-1)
        data = (stereo * 32767).astype("<i2").tobytes()
        pcm = decode_in_chunks(PcmDecoder("linear16", 44_100, 2), data, chunk=4 * 441)
        assert pcm.size == pytest.approx(RATE, abs=2)
        assert peak_hz(pcm) == pytest.approx(440.0, abs=1.0)

    def test_16k_mono_passes_through_unchanged(self) -> None:
        samples = (tone(RATE, 0.1) * 32767).astype("<i2")
        decoder = PcmDecoder("linear16", RATE, 1)
        assert np.array_equal(decoder.decode(samples.tobytes()) * 32768, samples)
        assert decoder.flush().size == 0

    @pytest.mark.parametrize(
        ("rate", "channels"), [(7_000, 1), (96_000, 1), (16_000, 0), (16_000, 9)]
    )
    def test_unsupported_formats_are_invalid_config(self, rate: int, channels: int) -> None:
        with pytest.raises(InvalidConfig):
            make_decoder("linear16", rate, channels)
