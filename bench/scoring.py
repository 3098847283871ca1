"""Scoring one stream: WER, word lag, first partial, finalisation and partial revisions.

See bench/README.md for the metric definitions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

import jiwer
import numpy as np
from stream_run import ResultRec, StreamRun, WordRec

#: A word shown in a result "is" a word of the final transcript when its text matches and its
#: start time is within this of the final word's start.
MATCH_TOLERANCE_S = 0.5
#: A sender that falls this far behind its schedule was held back by the node (back-pressure).
MAX_SEND_LATE_S = 0.5
#: Speech the node's endpointer needs before it reports an onset (streaming/vad.py).
VAD_MIN_SPEECH_S = 0.064


def normalise(text: str) -> str:
    """Same normalisation as tests/support_audio.py: lower case, no punctuation."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


def token(word: str) -> str:
    """A word as compared between results (case and punctuation ignored)."""
    return "".join(ch for ch in word.lower() if ch.isalnum())


@dataclass(frozen=True, slots=True)
class WerScore:
    wer: float
    ref_words: int
    substitutions: int
    deletions: int
    insertions: int


def score_wer(references: Sequence[str], hypotheses: Sequence[str]) -> WerScore:
    """Corpus WER: all errors over all reference words."""
    out = jiwer.process_words(
        [normalise(r) for r in references], [normalise(h) for h in hypotheses]
    )
    ref_words = int(out.hits + out.substitutions + out.deletions)
    return WerScore(
        wer=float(out.wer),
        ref_words=ref_words,
        substitutions=int(out.substitutions),
        deletions=int(out.deletions),
        insertions=int(out.insertions),
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


def final_words(run: StreamRun) -> list[WordRec]:
    return [w for r in run.finals for w in r.words if token(w.text)]


def first_shown(run: StreamRun, words: Sequence[WordRec]) -> list[float]:
    """For each final word, when a result first showed it (same token, start within ±0.5 s).

    Each result is aligned (difflib, on tokens) with the final words in its time span, so a
    word is matched at its position, not just anywhere with the same spelling.
    """
    shown = [math.inf] * len(words)
    starts = [w.start_s for w in words]
    final_tokens = [token(w.text) for w in words]
    for r in run.results:
        shown_words = [w for w in r.words if token(w.text)]
        if not shown_words:
            continue
        lo = min(w.start_s for w in shown_words) - 2 * MATCH_TOLERANCE_S
        hi = max(w.start_s for w in shown_words) + 2 * MATCH_TOLERANCE_S
        span = [j for j, s in enumerate(starts) if lo <= s <= hi]
        if not span:
            continue
        first, last = span[0], span[-1] + 1
        matcher = SequenceMatcher(
            None, [token(w.text) for w in shown_words], final_tokens[first:last], autojunk=False
        )
        for a, b, size in matcher.get_matching_blocks():
            for d in range(size):
                j = first + b + d
                if abs(shown_words[a + d].start_s - starts[j]) <= MATCH_TOLERANCE_S:
                    shown[j] = min(shown[j], r.arrival)
    return shown


@dataclass(eq=False, slots=True)
class _Shown:
    token: str
    in_partial: bool
    committed: bool = False
    revised: bool = False


@dataclass(frozen=True, slots=True)
class RevisionStats:
    partial_words: int  # distinct words shown in partials
    revised: int  # of those, changed or removed before (or by) the final
    committed_words: int  # distinct words shown inside the committed (stable) prefix
    committed_revised: int  # of those, changed or removed later


def _result_tokens(r: ResultRec) -> list[tuple[str, bool]]:
    """(token, committed) for each word; the committed words are the stability prefix."""
    committed = round(r.stability * len(r.words)) if not r.is_final else len(r.words)
    return [(token(w.text), i < committed) for i, w in enumerate(r.words) if token(w.text)]


def revision_stats(results: Sequence[ResultRec]) -> RevisionStats:
    """Follow every displayed word through the stream's display (finals + open partial).

    Consecutive displays are diffed on tokens; a word that an update deletes or replaces is
    revised. A final that is not speech_final (a long-segment split) is applied together with
    the next result, because its tail moves to the next segment rather than being revised.
    """
    order: list[str] = []
    current: dict[str, list[_Shown]] = {}
    created: list[_Shown] = []

    def apply(batch: Sequence[ResultRec]) -> None:
        updates: dict[str, ResultRec] = {}
        for r in batch:
            if r.segment_id not in current:
                order.append(r.segment_id)
                current[r.segment_id] = []
            updates[r.segment_id] = r
        first = min(order.index(sid) for sid in updates)
        changed = order[first:]
        old = [s for sid in changed for s in current[sid]]
        layout: list[tuple[str, list[tuple[str, bool]] | list[_Shown], bool]] = []
        new_tokens: list[str] = []
        for sid in changed:
            if sid in updates:
                toks = _result_tokens(updates[sid])
                layout.append((sid, toks, not updates[sid].is_final))
                new_tokens.extend(t for t, _ in toks)
            else:
                kept = current[sid]
                layout.append((sid, kept, False))
                new_tokens.extend(s.token for s in kept)
        matcher = SequenceMatcher(None, [s.token for s in old], new_tokens, autojunk=False)
        carried: list[_Shown | None] = [None] * len(new_tokens)
        matched: set[int] = set()
        for a, b, size in matcher.get_matching_blocks():
            for d in range(size):
                carried[b + d] = old[a + d]
                matched.add(a + d)
        for i, gone in enumerate(old):
            if i not in matched:
                gone.revised = True
        pos = 0
        for sid, items, is_partial in layout:
            words: list[_Shown] = []
            for item in items:
                shown = carried[pos]
                if shown is None:
                    tok = item.token if isinstance(item, _Shown) else item[0]
                    shown = _Shown(tok, in_partial=is_partial)
                    created.append(shown)
                if isinstance(item, tuple) and is_partial:
                    shown.in_partial = True
                    shown.committed = shown.committed or item[1]
                words.append(shown)
                pos += 1
            current[sid] = words

    pending: list[ResultRec] = []
    for r in results:
        pending.append(r)
        if not (r.is_final and not r.speech_final):
            apply(pending)
            pending = []
    if pending:
        apply(pending)
    partial = [s for s in created if s.in_partial]
    committed = [s for s in created if s.committed]
    return RevisionStats(
        partial_words=len(partial),
        revised=sum(s.revised for s in partial),
        committed_words=len(committed),
        committed_revised=sum(s.revised for s in committed),
    )


@dataclass(frozen=True, slots=True)
class StreamMetrics:
    clip: str
    worker: int
    ok: bool
    error: str | None
    audio_sent_s: float
    final_text: str
    wer: float
    first_partial_s: float | None
    first_partial_from_vad_onset_s: float | None
    word_lags_s: list[float]
    final_latencies_s: list[float]  # speech_final finals with words
    other_finals: int  # finals that were not speech_final (splits, close flush)
    partial_gaps_s: list[float]  # between consecutive results of one segment
    vad_lags_s: list[float]  # SpeechStarted arrival − when its onset + 64 ms was sent
    results: int
    partials: int
    revision: RevisionStats
    summary_latency_s: float | None
    max_send_late_s: float
    kept_up: bool
    warnings: list[str]


def stream_metrics(run: StreamRun, keep_up_s: float) -> StreamMetrics:
    words = final_words(run)
    shown = first_shown(run, words) if run.sent_at else []
    lags = [
        (t if math.isfinite(t) else run.finals[-1].arrival) - run.send_time(w.end_s)
        for w, t in zip(words, shown, strict=True)
    ]
    first_partial = first_onset = None
    if words and run.results:
        first_partial = run.results[0].arrival - run.send_time(words[0].start_s)
        if run.speech_started:
            first_onset = run.results[0].arrival - run.send_time(run.speech_started[0][1])
    final_lat = [
        r.arrival - run.send_time(r.end_s) for r in run.finals if r.speech_final and r.words
    ]
    gaps = [
        b.arrival - a.arrival
        for a, b in zip(run.results, run.results[1:], strict=False)
        if a.segment_id == b.segment_id and not a.is_final
    ]
    vad_lags = [
        arrival - run.send_time(at_s + VAD_MIN_SPEECH_S) for arrival, at_s in run.speech_started
    ]
    summary_latency = (
        run.summary_at - run.close_sent_at
        if run.summary_at is not None and run.close_sent_at is not None
        else None
    )
    late = max((s - d for s, d in zip(run.sent_at, run.scheduled_at, strict=True)), default=0.0)
    ok = run.error is None
    kept_up = (
        ok
        and summary_latency is not None
        and summary_latency <= keep_up_s
        and late <= MAX_SEND_LATE_S
    )
    return StreamMetrics(
        clip=run.clip.name,
        worker=run.worker,
        ok=ok,
        error=run.error,
        audio_sent_s=round(run.audio_sent_s, 3),
        final_text=run.final_text,
        wer=score_wer([run.clip.reference], [run.final_text]).wer,
        first_partial_s=first_partial,
        first_partial_from_vad_onset_s=first_onset,
        word_lags_s=lags,
        final_latencies_s=final_lat,
        other_finals=sum(1 for r in run.finals if not r.speech_final),
        partial_gaps_s=gaps,
        vad_lags_s=vad_lags,
        results=len(run.results),
        partials=sum(1 for r in run.results if not r.is_final),
        revision=revision_stats(run.results),
        summary_latency_s=summary_latency,
        max_send_late_s=late,
        kept_up=kept_up,
        warnings=run.warnings,
    )
