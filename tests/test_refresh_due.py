"""Which pass refreshes an open segment: partials on a cadence, and in a pause that may end
the utterance one pass that shows its last words at once (streaming/refresh.py). The sessions'
behaviour with real speech is specified in tests/test_engine_on_speech.py::TestEarlyFinal."""

from __future__ import annotations

from dataclasses import replace

from streaming.events import Word
from streaming.refresh import EarlyFinal, OpenSegment, Refresh, refresh_due

SPEAKING = OpenSegment(
    start_s=10.0,
    end_s=13.0,
    in_speech=True,
    trailing_silence_s=0.0,
    last_voiced_s=13.0,
    last_pass_end_s=12.5,
    since_pass_s=0.5,
)


def due(segment: OpenSegment, early: EarlyFinal | None = None) -> Refresh | None:
    return refresh_due(
        segment, early, silence_ms=600, max_segment_s=12.0, partial_interval_s=lambda: 0.5
    )


def test_a_partial_pass_runs_every_interval_of_new_speech() -> None:
    assert due(SPEAKING) is Refresh.PARTIAL
    assert due(replace(SPEAKING, since_pass_s=0.3)) is None


def test_no_pass_before_half_a_second_of_speech_or_outside_speech() -> None:
    assert due(replace(SPEAKING, end_s=10.4)) is None
    assert due(replace(SPEAKING, in_speech=False)) is None


def test_a_short_segment_gets_its_final_pass_in_a_pause_that_may_end_it() -> None:
    pausing = replace(SPEAKING, end_s=13.3, trailing_silence_s=0.3, since_pass_s=0.0)

    assert due(pausing) is Refresh.EARLY_FINAL
    heard = EarlyFinal(
        segment_start_s=10.0, last_voiced_s=13.0, words=[Word("done", 12.0, 13.0, 0.9)]
    )
    assert due(pausing, heard) is None, "once: it already heard all of the speech"
    resumed = replace(pausing, last_voiced_s=13.2)
    assert due(resumed, heard) is Refresh.EARLY_FINAL, "someone spoke after it"
    earlier_segment = EarlyFinal(segment_start_s=4.0, last_voiced_s=13.0, words=[])
    assert due(pausing, earlier_segment) is Refresh.EARLY_FINAL


def test_a_long_segment_gets_one_partial_pass_in_a_pause_not_its_final() -> None:
    pausing = replace(
        SPEAKING, end_s=18.3, trailing_silence_s=0.3, last_voiced_s=18.0, since_pass_s=0.0
    )

    assert due(replace(pausing, last_pass_end_s=17.5)) is Refresh.PARTIAL
    assert due(replace(pausing, last_pass_end_s=18.1)) is None, "it showed up to the pause"
