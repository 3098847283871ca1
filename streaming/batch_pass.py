"""One Whisper pass over several streams' audio at once.

CTranslate2 batches the encoder, the decoder and the word alignment: a batch of eight short
windows costs far less than eight separate calls, because tiny models are bound by per-call
overhead and the decoder's small matrix products rather than by arithmetic. Each window is
its real audio plus some of Whisper's silent padding (never a padded 30 s window); windows
of one batch are padded to the longest, which the scheduler keeps close by bucketing lengths.

This is faster-whisper's `transcribe` reduced to what a streaming pass needs: one window, one
temperature, timestamps on, word times from the alignment heads. Anything that looks like a
failed decode is reported, and the recogniser redoes that item alone on the padded window.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio

from streaming.audio import SAMPLE_RATE, Pcm
from streaming.events import Word
from streaming.guards import (
    SegmentLike,
    drop_repetition_loop,
    drop_squeezed_repeats,
    is_invented_segment,
    is_looped_segment,
    words_before_loop,
)

#: Padding kept after the audio (in 10 ms mel frames). With none, tiny.en decodes 2-12 s
#: prefixes of the shared speech set into loops or runaways half the time (22 of 48); 8 s of it
#: brings that to 4 of 48 (then redone padded) at the padded window's WER, in 0.6x the time.
PADDING_KEPT_FRAMES = 800
#: Partial passes keep less: they are two thirds of a live node's work, the encoder's cost
#: grows faster than its window (one core: 0.29 s for 10 s, 1.3 s for 30 s), and a partial
#: that fails is kept as heard rather than redone (the segment's final decides).
PARTIAL_PADDING_FRAMES = 400
WHISPER_FRAMES = 3000
#: What padding sounds like. Whisper was trained on audio padded with digital silence, whose
#: log-mel is the floor the feature extractor clamps to: 8 decades below the window's peak,
#: which its normalisation ((x + 4) / 4) puts 2 below the peak. faster-whisper pads features
#: with 0 instead, far louder than any silence. Padding with the floor took live WER on the
#: eight scripted meetings from 13.0 to 12.3 %, and from 19.3 to 17.7 % with other voices.
SILENCE_BELOW_PEAK = 2.0
HOP_SAMPLES = 160
#: Speech rarely exceeds ~5 tokens per second; a decoder that produces far more is looping
#: (seen: "We'll see you next time" x40 on a 0.5 s tail). The cap bounds the damage and cost.
MAX_TOKENS_PER_AUDIO_S = 12
MIN_TOKEN_BUDGET = 16
MAX_TOKEN_BUDGET = 220
#: faster-whisper's defaults for the first timestamp and the punctuation merged into words.
MAX_INITIAL_TIMESTAMP_INDEX = 50
TIME_PRECISION = 0.02
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


def token_budget(audio_s: float) -> int:
    return min(MAX_TOKEN_BUDGET, int(MIN_TOKEN_BUDGET + MAX_TOKENS_PER_AUDIO_S * audio_s))


def window_frames(audio: Pcm, *, final: bool) -> int:
    """Encoder frames of `audio` heard with the kept padding (even, at most Whisper's 30 s)."""
    padding = PADDING_KEPT_FRAMES if final else PARTIAL_PADDING_FRAMES
    frames = audio.size // HOP_SAMPLES + padding
    return min(frames + frames % 2, WHISPER_FRAMES)


@dataclass(frozen=True, slots=True)
class PassRequest:
    """One stream's audio for one pass; word times come back relative to `audio`'s start."""

    audio: Pcm
    #: The stream's earlier words, already tokenised (batch mates share their length).
    prompt_tokens: tuple[int, ...]

    @property
    def audio_s(self) -> float:
        return self.audio.size / SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class PassOutput:
    words: list[Word]
    #: A loop, a runaway or text that compresses too well: redo on the padded window.
    failed: bool
    #: Whisper stopped early: the audio from here on (seconds into the request's) is undecoded.
    resume_s: float | None = None


def silence_level(mel: np.ndarray) -> float:
    """The normalised log-mel of digital silence in a window whose features are `mel`."""
    return float(mel.max()) - SILENCE_BELOW_PEAK if mel.size else 0.0


def window_features(
    model: WhisperModel, requests: Sequence[PassRequest], final: bool
) -> np.ndarray:
    """Each request's log-mel, padded with silence to the batch's longest window."""
    frames = max(window_frames(r.audio, final=final) for r in requests)
    mels = [model.feature_extractor(r.audio) for r in requests]
    batch = np.zeros((len(requests), mels[0].shape[0], frames), np.float32)
    for i, (r, mel) in enumerate(zip(requests, mels, strict=True)):
        content = min(r.audio.size // HOP_SAMPLES, frames)
        batch[i, :, :content] = mel[:, :content]
        batch[i, :, content:] = silence_level(mel[:, :content])
    return batch


def split_by_timestamps(
    tokenizer: Tokenizer, tokens: list[int], duration_s: float
) -> tuple[list[dict[str, Any]], float | None]:
    """Sub-segments between timestamp tokens, as faster-whisper splits them, and whether the
    decode may have stopped early (it did not end on a single timestamp), with the time of its
    last complete segment's end.

    Whisper often stops after the first utterance of a window ("…before Friday." and end of
    text): faster-whisper then decodes again from the last word's end, and so must we (seen: a
    final pass with context heard the context utterance only and dropped the new one).
    """
    begin = tokenizer.timestamp_begin
    single_ending = len(tokens) >= 2 and tokens[-2] < begin <= tokens[-1]
    cuts = [i for i in range(1, len(tokens)) if tokens[i] >= begin and tokens[i - 1] >= begin]
    if not cuts:
        stamps = [t for t in tokens if t >= begin]
        end = (stamps[-1] - begin) * TIME_PRECISION if stamps and stamps[-1] > begin else duration_s
        stopped_early = bool(tokens) and tokens[-1] < begin
        return [
            {"seek": 0, "start": 0.0, "end": end, "tokens": tokens}
        ], 0.0 if stopped_early else None
    if single_ending:
        cuts.append(len(tokens))
    segments = []
    last = 0
    for cut in cuts:
        piece = tokens[last:cut]
        segments.append(
            {
                "seek": 0,
                "start": (piece[0] - begin) * TIME_PRECISION,
                "end": (piece[-1] - begin) * TIME_PRECISION,
                "tokens": piece,
            }
        )
        last = cut
    resume_s = None if single_ending else (tokens[last - 1] - begin) * TIME_PRECISION
    return segments, resume_s


def encode(model: WhisperModel, features: np.ndarray) -> ctranslate2.StorageView:
    """The batch's encoder output. On a CPU each window is encoded alone and the outputs are
    stacked for the one decoder call: a batched encoder call costs more than its windows one
    by one once its activations outgrow the cache (2-core AVX2 EPYC, int8: four 18 s windows
    1.31 s in one call, 0.90 s one by one; bench/README, "the 2-core AVX2 AMD EPYC (Zen 3):
    where a pass's time goes"). A GPU encodes the batch in one call, which it is fast at."""
    whisper = model.model
    if whisper.device != "cpu" or len(features) == 1:
        return whisper.encode(ctranslate2.StorageView.from_array(features))
    outputs = [
        np.asarray(whisper.encode(ctranslate2.StorageView.from_array(features[i : i + 1])))
        for i in range(len(features))
    ]
    return ctranslate2.StorageView.from_array(np.concatenate(outputs))


def generate(
    model: WhisperModel,
    tokenizer: Tokenizer,
    requests: Sequence[PassRequest],
    encoded: ctranslate2.StorageView,
    *,
    beam_size: int,
    suppress_tokens: Sequence[int],
) -> list[Any]:
    """One decoder call for the batch, each request prompted with its own tokens and given
    the token budget of the longest."""
    prompts = [model.get_prompt(tokenizer, list(r.prompt_tokens)) for r in requests]
    return list(
        model.model.generate(
            encoded,
            prompts,
            beam_size=beam_size,
            max_length=len(prompts[0]) + max(token_budget(r.audio_s) for r in requests),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=list(suppress_tokens),
            max_initial_timestamp_index=MAX_INITIAL_TIMESTAMP_INDEX,
        )
    )


def add_word_times(
    model: WhisperModel,
    tokenizer: Tokenizer,
    requests: Sequence[PassRequest],
    encoded: ctranslate2.StorageView,
    segmented: list[list[dict[str, Any]]],
) -> None:
    """Word timings for every request's segments, from one alignment call."""
    model.add_word_timestamps(
        segmented,
        tokenizer,
        encoded,
        [min(r.audio.size // HOP_SAMPLES, WHISPER_FRAMES) for r in requests],
        PREPEND_PUNCTUATIONS,
        APPEND_PUNCTUATIONS,
        0.0,
    )


def decode_batch(
    model: WhisperModel,
    tokenizer: Tokenizer,
    requests: Sequence[PassRequest],
    *,
    beam_size: int,
    suppress_tokens: Sequence[int],
    final: bool,
) -> list[PassOutput]:
    """Words for every request, from one encoder, one decoder and one alignment call."""
    encoded = encode(model, window_features(model, requests, final))
    results = generate(
        model, tokenizer, requests, encoded, beam_size=beam_size, suppress_tokens=suppress_tokens
    )
    budgets = [token_budget(r.audio_s) for r in requests]
    segmented: list[list[dict[str, Any]]] = []
    runaway: list[bool] = []
    resumes: list[float | None] = []
    for r, result, budget in zip(requests, results, budgets, strict=True):
        tokens = list(result.sequences_ids[0])
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        pieces, resume_s = split_by_timestamps(tokenizer, tokens, r.audio_s)
        resumes.append(resume_s)
        for piece in pieces:
            text = tokenizer.decode([t for t in piece["tokens"] if t < tokenizer.eot])
            piece.update(
                text=text,
                avg_logprob=avg_logprob,
                no_speech_prob=result.no_speech_prob,
                compression_ratio=get_compression_ratio(text),
            )
        segmented.append(pieces)
        runaway.append(len(tokens) >= budget)
    add_word_times(model, tokenizer, requests, encoded, segmented)
    return [
        _output(pieces, ran_away, resume_at(pieces, resume_s))
        for pieces, ran_away, resume_s in zip(segmented, runaway, resumes, strict=True)
    ]


def resume_at(pieces: list[dict[str, Any]], stopped_at: float | None) -> float | None:
    """Where to decode again after an early stop: the last word's end, as faster-whisper does
    with word timestamps on, else the last timestamp; None when nothing would be gained."""
    if stopped_at is None:
        return None
    ends = [float(w["end"]) for piece in pieces for w in piece.get("words", ())]
    resume_s = ends[-1] if ends else stopped_at
    return resume_s if resume_s > 0 else None


@dataclass(slots=True)
class _Piece:
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float


#: A decoded segment: its quality, and its words as (text, start, end, probability).
HeardSegment = tuple[SegmentLike, Iterable[tuple[str, float, float, float]]]


def whole_words(segment_words: Iterable[tuple[str, float, float, float]]) -> list[Word]:
    """Whisper's words with the pieces its word split cut off at punctuation joined back.

    The split starts a word at every space and every punctuation token, so "$12,000" comes
    back as " $12" and ",000", "10%" as " 10" and "%", "so-called" as " so" and "-called".
    A piece that starts with punctuation and no space belongs to the word before it: captions
    show "$12,000", not "$12 ,000". (Languages written without spaces split into characters,
    which stay as they are.) The joined word spans both pieces, with their mean probability (as
    faster-whisper averages a word's tokens).
    """
    heard: list[Word] = []
    for text, start, end, probability in segment_words:
        if not text.strip():
            continue
        if heard and not text[0].isspace() and not text[0].isalnum():
            last = heard[-1]
            heard[-1] = Word(
                last.text + text.strip(),
                last.start_s,
                float(end),
                (last.probability + float(probability)) / 2,
            )
        else:
            heard.append(Word(text.strip(), float(start), float(end), float(probability)))
    return heard


def heard_words(segments: Iterable[HeardSegment]) -> tuple[list[Word], bool]:
    """The words of the segments Whisper did not invent (of a segment that compresses like a
    loop, those before the loop), without squeezed repeats, cut at a repetition loop, and
    whether the decode looks failed (text that compresses too well, or a loop)."""
    words: list[Word] = []
    failed = False
    for quality, segment_words in segments:
        if is_invented_segment(quality):
            continue
        heard = whole_words(segment_words)
        if is_looped_segment(quality):
            failed = True
            heard = words_before_loop(heard)
        words += heard
    # Squeezed repeats are dropped without calling the decode failed: the rest is sound.
    words = drop_squeezed_repeats(words)
    kept = drop_repetition_loop(words)
    return kept, failed or len(kept) < len(words)


def _output(pieces: list[dict[str, Any]], ran_away: bool, resume_s: float | None) -> PassOutput:
    words, failed = heard_words(
        (
            _Piece(piece["no_speech_prob"], piece["avg_logprob"], piece["compression_ratio"]),
            (
                (str(w["word"]), w["start"], w["end"], w["probability"])
                for w in piece.get("words", ())
            ),
        )
        for piece in pieces
    )
    return PassOutput(words, failed or ran_away, resume_s)
