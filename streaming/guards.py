"""Guards against Whisper's known failure modes on streaming input.

Whisper invents text on silence and noise ("Thank you.") and can fall into repetition loops.
Voice activity detection keeps most silence away; these checks catch what gets through.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from streaming.events import Word

#: Segments the model itself thinks are not speech, decoded with low confidence.
NO_SPEECH_PROB = 0.6
LOW_AVG_LOGPROB = -1.0
#: Repetitive text compresses well; Whisper's own threshold for a failed decode.
MAX_COMPRESSION_RATIO = 2.4
#: A phrase of up to this many words repeated back to back this often is a loop.
MAX_LOOP_NGRAM = 6
MIN_LOOP_REPEATS = 3
#: A single word needs more repeats: "no no no" is speech.
MIN_WORD_REPEATS = 4
#: A whole sentence decoded twice back to back at the end ("Should we offer remote work?
#: Should we offer remote work?") is Whisper's, not the speaker's; shorter phrases may be both.
MIN_REPEATED_SENTENCE_WORDS = 4
#: Words before a loop spanning less than this were a guess on too little audio.
MIN_BEFORE_LOOP_S = 2.0
#: A word repeating the one before it in less time than this was not said again: Whisper's
#: alignment squeezes invented repeats into a frame or two ("Hello." x8 on the pyannote
#: sample's three, five of them 0.00-0.02 s long), while a spoken word takes a tenth of a second.
MIN_REPEAT_WORD_S = 0.06
#: A hypothesis' last words below this probability are usually invented on trailing noise.
#: (The audio is already cut 0.4 s after the last voiced window.) A real last word said
#: unclearly scores 0.1-0.25 when its utterance is decoded alone ("Saturday night." 0.11-0.25,
#: "next quarter."): at 0.2 the guard deleted them, 4 of the 12 deletions on eight scripted
#: meetings. At 0.05 insertions did not rise there (10) nor on the speech set (3 -> 2).
MIN_TAIL_WORD_PROB = 0.05


class SegmentLike(Protocol):
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


def is_invented_segment(segment: SegmentLike) -> bool:
    """True for a segment the model itself took for non-speech and decoded unsure of it."""
    return segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < LOW_AVG_LOGPROB


def is_looped_segment(segment: SegmentLike) -> bool:
    """True for a segment whose text compresses like a decoder loop."""
    return segment.compression_ratio > MAX_COMPRESSION_RATIO


def _norm(word: Word) -> str:
    return "".join(ch for ch in word.text.lower() if ch.isalnum())


def drop_repetition_loop(words: Sequence[Word]) -> list[Word]:
    """Cut a decoder loop: a phrase repeated MIN_LOOP_REPEATS times or more up to the end.

    "the the" is ordinary speech; "we can we can we can we can" running to the end of the
    hypothesis is a decoder loop (Whisper loops until its token budget is spent). Repeats that
    are followed by other words ("Hello. Hello. Hello. Hello. Hello. I didn't know…") were
    heard, and are kept. Of a loop, the first occurrence is kept; so is the first of a
    sentence of four or more words that ends the hypothesis twice.
    """
    tokens = [_norm(w) for w in words]
    for start in range(len(tokens)):
        for n in range(1, MAX_LOOP_NGRAM + 1):
            phrase = tokens[start : start + n]
            if len(phrase) < n or not any(phrase):
                break
            repeats = 1
            pos = start + n
            while tokens[pos : pos + n] == phrase:
                repeats += 1
                pos += n
            runs_to_end = len(tokens) - pos < n
            if runs_to_end and repeats >= (MIN_WORD_REPEATS if n == 1 else MIN_LOOP_REPEATS):
                return list(words[: start + n])
    for n in range(len(tokens) // 2, MIN_REPEATED_SENTENCE_WORDS - 1, -1):
        if tokens[-2 * n : -n] == tokens[-n:]:
            return list(words[:-n])
    return list(words)


def words_before_loop(words: Sequence[Word]) -> list[Word]:
    """The words of a looped segment (`is_looped_segment`) before its loop; none if no loop.

    Whisper loops after what it heard: on overlapping speakers tiny.en decoded "…now though.
    Well there isn't that much difference at least. Well there isn't that much" (compression
    2.43), and dropping the whole segment left a live caption without its new words for a
    pass or two. The loop is the longest tail (of MIN_REPEATED_SENTENCE_WORDS words or more)
    that repeats, word for word, the phrase just before it, over and over; its last copy may
    be cut short by the token budget, even inside a word ("…Well there isn"). What comes before
    a loop is kept only if it spans MIN_BEFORE_LOOP_S: on the first second of a turn Whisper
    loops on a guess ("How long will it be?" x4 on 1 s of "How long will the upgrade take?").
    """
    tokens = [_norm(w) for w in words]
    n = len(tokens)

    def repeats(i: int, period: int) -> bool:
        earlier = tokens[i - period]
        return tokens[i] == earlier or (i == n - 1 and earlier.startswith(tokens[i]))

    for cut in range(1, n - MIN_REPEATED_SENTENCE_WORDS + 1):
        for period in range(1, cut + 1):
            if all(repeats(i, period) for i in range(cut, n)):
                heard = list(words[:cut])
                guessed = heard[-1].end_s - heard[0].start_s < MIN_BEFORE_LOOP_S
                return [] if guessed else heard
    return []


def drop_squeezed_repeats(words: Sequence[Word]) -> list[Word]:
    """Remove words that repeat the previous word in (almost) no time."""
    kept: list[Word] = []
    for word in words:
        squeezed = word.end_s - word.start_s < MIN_REPEAT_WORD_S
        if kept and squeezed and _norm(word) == _norm(kept[-1]):
            continue
        kept.append(word)
    return kept


def drop_unlikely_tail(words: Sequence[Word]) -> list[Word]:
    """Remove trailing words the model itself gave a very low probability."""
    end = len(words)
    while end and words[end - 1].probability < MIN_TAIL_WORD_PROB:
        end -= 1
    return list(words[:end])
