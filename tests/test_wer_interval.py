"""The benchmark's WER comparison: a difference is reported with the interval it is known to.

bench/wer_interval.py resamples reference sentences; these specify where an error is counted
and that the interval separates a real difference from one word of chance.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from wer_interval import sentence_errors, sentences, wer_delta  # noqa: E402

REFERENCE = "Good morning everyone. How often does that happen? About three times a day."


def test_a_reference_splits_at_its_sentence_ends_and_unpunctuated_text_is_one_sentence() -> None:
    assert sentences(REFERENCE) == [
        "good morning everyone",
        "how often does that happen",
        "about three times a day",
    ]
    assert sentences("HE HOPED THERE WOULD BE STEW FOR DINNER") == [
        "he hoped there would be stew for dinner"
    ]


def test_each_error_counts_against_the_sentence_it_is_in() -> None:
    heard = "Good morning everyone and. How often does it happen? About three times a."
    # "and" inserted after sentence 1; "that"->"it" in 2; "day" deleted in 3.
    assert sentence_errors(REFERENCE, heard) == [1, 1, 1]
    assert sentence_errors(REFERENCE, "") == [3, 5, 5]


def test_identical_systems_differ_by_nothing_for_sure() -> None:
    delta = wer_delta([REFERENCE], [[REFERENCE, REFERENCE]], [[REFERENCE]])
    assert (delta.points, delta.low, delta.high, delta.sentences) == (0.0, 0.0, 0.0, 3)


def test_one_word_of_chance_is_not_a_difference_but_errors_everywhere_are() -> None:
    refs = [f"Sentence number {n} is read aloud here." for n in range(1, 31)]
    one_slip = [r.replace("aloud", "allowed") if i == 4 else r for i, r in enumerate(refs)]
    chance = wer_delta(refs, [[t] for t in one_slip], [[r] for r in refs])
    assert chance.points > 0
    assert chance.low <= 0 < chance.high

    every = [r.replace("aloud", "allowed") for r in refs]
    real = wer_delta(refs, [[t] for t in every], [[r] for r in refs])
    assert real.low > 0
    assert real.points == round(100 * 30 / (30 * 7), 2)


def test_a_system_decoded_several_times_counts_its_mean_errors() -> None:
    refs = [f"Sentence number {n} is read aloud here." for n in range(1, 31)]
    slipped = [r.replace("aloud", "allowed") for r in refs]
    # Offline got every sentence wrong in one of its two decodes: half an error a sentence.
    offline = [[r, s] for r, s in zip(refs, slipped, strict=True)]
    half = wer_delta(refs, [[r] for r in refs], offline)
    assert half.points == round(-100 * 15 / (30 * 7), 2)
    assert half.high < 0
