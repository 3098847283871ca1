"""What a live pass hears besides the open segment (streaming/pass_context.py)."""

from __future__ import annotations

import pytest

from streaming.events import Word
from streaming.pass_context import (
    CONTEXT_S,
    PROMPT_WORDS,
    WHISPER_WINDOW_S,
    pass_start_s,
    prompt_before,
)
from streaming.vad import PRE_ROLL_S


def words(*spans: tuple[str, float, float]) -> list[Word]:
    return [Word(text, start, end, 0.9) for text, start, end in spans]


COMMITTED = words(("we", 20.2, 20.4), ("ship", 20.5, 20.8), ("on", 20.9, 21.0))


def start(**kwargs: object) -> float:
    plan: dict[str, object] = {
        "segment_start_s": 20.0,
        "voiced_end_s": 22.0,
        "continues_cut": False,
        "committed": [],
        "final": True,
    }
    plan.update(kwargs)
    return pass_start_s(**plan)  # type: ignore[arg-type]


class TestFinalPasses:
    def test_a_segment_hears_only_itself(self) -> None:
        # Right after other speech too: with silence padding, context audio no longer helped.
        assert start() == 20.0
        assert start(voiced_end_s=29.0) == 20.0

    def test_the_part_after_a_long_segments_cut_hears_the_audio_before_the_cut(self) -> None:
        assert start(voiced_end_s=29.0, continues_cut=True) == pytest.approx(20.0 - CONTEXT_S)

    def test_partials_never_hear_audio_before_the_segment(self) -> None:
        assert start(final=False, continues_cut=True) == 20.0

    def test_a_redone_isolated_pass_hears_the_segment_alone(self) -> None:
        assert start(continues_cut=True, isolated=True) == 20.0

    def test_context_never_pushes_the_pass_past_one_whisper_window(self) -> None:
        end = 20.0 - CONTEXT_S + WHISPER_WINDOW_S + 1.0
        assert start(voiced_end_s=end, continues_cut=True) == pytest.approx(end - WHISPER_WINDOW_S)


class TestPartialPasses:
    def test_a_partial_starts_at_the_last_committed_words(self) -> None:
        # The two anchor words are heard again (the agreement recognises and drops them);
        # the committed words before them are not decoded again.
        assert start(final=False, committed=COMMITTED) == pytest.approx(20.5 - PRE_ROLL_S)

    def test_with_few_committed_words_a_partial_hears_the_whole_segment_and_no_context(
        self,
    ) -> None:
        assert start(final=False, committed=COMMITTED[:2]) == 20.0


class TestPrompt:
    def test_the_prompt_is_the_text_said_before_the_audio(self) -> None:
        said = words(("Good", 1.0, 1.3), ("morning.", 1.3, 1.8), ("Ship", 2.5, 2.8))
        assert prompt_before(said, 2.0) == "Good morning."

    def test_the_prompt_keeps_only_the_latest_words(self) -> None:
        said = [Word(f"w{i}", i * 0.1, i * 0.1 + 0.05, 0.9) for i in range(PROMPT_WORDS + 10)]
        prompt = prompt_before(said, 100.0).split()
        assert len(prompt) == PROMPT_WORDS and prompt[-1] == f"w{PROMPT_WORDS + 9}"
