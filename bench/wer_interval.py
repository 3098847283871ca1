"""How sure a WER difference is: a paired bootstrap over the reference's sentences.

The speech set has about 330 reference words, so one word is 0.3 points of WER, and moving a
final pass's audio by 10 ms flips a word or two of tiny.en's output (bench/README.md). A
difference of a point or two between the live streams and offline decoding may be chance.
Resampling sentences (both systems' errors on the same sentence stay together) gives the
interval that a difference of WER points, measured on this set, is known to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import jiwer
import numpy as np
from numpy.typing import NDArray
from scoring import normalise

RESAMPLES = 10_000
SEED = 20261126


def sentences(reference: str) -> list[str]:
    """The reference's sentences, normalised (a reference without punctuation is one)."""
    parts = (normalise(p) for p in re.split(r"(?<=[.?!])\s+", reference.strip()))
    return [p for p in parts if p]


def sentence_errors(reference: str, hypothesis: str) -> list[int]:
    """Errors per sentence of `reference`, from one alignment of the whole text.

    Insertions count against the sentence of the reference word before them (the first
    sentence when they come before any).
    """
    units = sentences(reference)
    owner = [i for i, s in enumerate(units) for _ in s.split()]
    errors = [0] * len(units)
    if not owner:
        return errors
    out = jiwer.process_words(" ".join(units), normalise(hypothesis) or "<nothing>")
    for chunk in out.alignments[0]:
        if chunk.type in ("substitute", "delete"):
            for i in range(chunk.ref_start_idx, chunk.ref_end_idx):
                errors[owner[i]] += 1
        elif chunk.type == "insert":
            at = owner[max(0, chunk.ref_start_idx - 1)]
            errors[at] += chunk.hyp_end_idx - chunk.hyp_start_idx
    return errors


@dataclass(frozen=True, slots=True)
class WerDelta:
    points: float  # stream WER minus offline WER, in points
    low: float  # 95 % interval of that difference
    high: float
    sentences: int


def wer_delta(
    references: Sequence[str],
    stream_texts: Sequence[Sequence[str]],
    offline_texts: Sequence[Sequence[str]],
) -> WerDelta:
    """Stream WER minus offline WER with its 95 % bootstrap interval.

    `stream_texts[i]` holds every stream's final text of file i, `offline_texts[i]` every
    offline decode of it (a level streams each file several times; `live_wer.py --dither`
    decodes each both ways several times): a sentence's errors on either side are their mean.
    """
    words: list[int] = []
    diffs: list[float] = []
    for ref, streams, offline in zip(references, stream_texts, offline_texts, strict=True):
        diffs += list(_mean_errors(ref, streams) - _mean_errors(ref, offline))
        words += [len(s.split()) for s in sentences(ref)]
    w, d = np.array(words, dtype=np.float64), np.array(diffs)
    rng = np.random.default_rng(SEED)
    picks = rng.integers(0, len(w), size=(RESAMPLES, len(w)))
    resampled = 100 * d[picks].sum(axis=1) / w[picks].sum(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return WerDelta(
        points=round(float(100 * d.sum() / w.sum()), 2),
        low=round(float(low), 2),
        high=round(float(high), 2),
        sentences=len(w),
    )


def _mean_errors(reference: str, hypotheses: Sequence[str]) -> NDArray[np.float64]:
    """Errors per sentence of `reference`, averaged over `hypotheses`."""
    per = np.array([sentence_errors(reference, h) for h in hypotheses], dtype=np.float64)
    mean: NDArray[np.float64] = per.mean(axis=0)
    return mean
