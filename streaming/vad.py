"""Voice activity: one silero-vad model per process, one recurrent state per stream.

silero-vad ships its network exported as an ONNX "sequence" model: it takes a block of
32 ms frames and the LSTM state explicitly, so each stream owns its `VadState`, the weights
are shared, and a 100 ms chunk is one ONNX Runtime call (three frames) instead of three
TorchScript calls. Same probabilities as the stock streaming model, at a sixth of its CPU
(0.004 s instead of 0.028 s per second of audio on one core), which the Whisper workers get.
"""

from __future__ import annotations

import importlib.util
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime

from streaming.audio import SAMPLE_RATE, Pcm, empty_pcm

WINDOW = 512  # samples per silero window at 16 kHz (32 ms)
#: Audio kept before a detected speech onset: silero reports onsets a little late.
PRE_ROLL_S = 0.3
_CONTEXT = 64  # samples of the previous window the model sees
_MODEL_FILE = "silero_vad_16k_sequence.onnx"


def _zeros_state() -> np.ndarray:
    return np.zeros((1, 1, 128), np.float32)


@dataclass(slots=True)
class VadState:
    """One stream's LSTM state and the samples not yet forming a whole window."""

    hidden: np.ndarray = field(default_factory=_zeros_state)
    cell: np.ndarray = field(default_factory=_zeros_state)
    context: np.ndarray = field(default_factory=lambda: np.zeros(_CONTEXT, np.float32))
    pending: Pcm = field(default_factory=empty_pcm)


def _model_path() -> Path:
    # Found without importing the package, whose __init__ loads torch for the TorchScript model.
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("silero-vad is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / _MODEL_FILE


class SileroVoiceDetector:
    """Speech probability per 32 ms window. Thread-safe; state lives in `VadState`."""

    def __init__(self) -> None:
        options = onnxruntime.SessionOptions()
        # A few frames per call are too little work to split across threads: the cores
        # belong to Whisper's workers.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(_model_path()), options, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, state: VadState, pcm: Pcm) -> list[float]:
        """Feed samples; one probability per completed window (blocking: call off the loop)."""
        audio = np.concatenate([state.pending, pcm]) if state.pending.size else pcm
        whole = audio.size // WINDOW
        state.pending = audio[whole * WINDOW :].copy()
        if whole == 0:
            return []
        frames = np.asarray(audio[: whole * WINDOW], np.float32).reshape(whole, WINDOW)
        # Each frame is heard with the last samples of the one before it.
        contexts = np.empty((whole, _CONTEXT), np.float32)
        contexts[0] = state.context
        contexts[1:] = frames[:-1, -_CONTEXT:]
        state.context = frames[-1, -_CONTEXT:].copy()
        probs, state.hidden, state.cell = self._session.run(
            ["speech_probs", "hn", "cn"],
            {
                "input": np.concatenate([contexts, frames], axis=1),
                "h": state.hidden,
                "c": state.cell,
            },
        )
        return [float(p) for p in np.asarray(probs).reshape(-1)]


@dataclass(frozen=True, slots=True)
class Boundary:
    """Speech started or ended at `at_s` (stream seconds)."""

    kind: str  # "start" | "end"
    at_s: float


class UtteranceEndpointer:
    """Hysteresis over window probabilities: where utterances start and end.

    Speech starts after `min_speech_ms` of windows above `threshold`; it ends after
    `silence_ms` of windows below `threshold - 0.15` (silero's recommended gap), so a
    breath inside a sentence does not split it.
    """

    def __init__(self, threshold: float, silence_ms: int, min_speech_ms: int = 64) -> None:
        self._on = threshold
        self._off = max(0.01, threshold - 0.15)
        self._silence_windows = max(1, round(silence_ms / 1000 * SAMPLE_RATE / WINDOW))
        self._speech_windows = max(1, round(min_speech_ms / 1000 * SAMPLE_RATE / WINDOW))
        self._windows_seen = 0
        self.in_speech = False
        self._run = 0  # consecutive windows pointing the other way
        self._run_start = 0
        #: End of the last window that sounded like speech (stream seconds).
        self.last_voiced_s = 0.0

    def update(self, probs: list[float]) -> list[Boundary]:
        boundaries: list[Boundary] = []
        for p in probs:
            index = self._windows_seen
            self._windows_seen += 1
            if p >= self._off:
                self.last_voiced_s = self._windows_seen * WINDOW / SAMPLE_RATE
            if not self.in_speech:
                if p >= self._on:
                    if self._run == 0:
                        self._run_start = index
                    self._run += 1
                    if self._run >= self._speech_windows:
                        self.in_speech, self._run = True, 0
                        boundaries.append(Boundary("start", self._run_start * WINDOW / SAMPLE_RATE))
                else:
                    self._run = 0
            elif p < self._off:
                if self._run == 0:
                    self._run_start = index
                self._run += 1
                if self._run >= self._silence_windows:
                    self.in_speech, self._run = False, 0
                    boundaries.append(Boundary("end", self._run_start * WINDOW / SAMPLE_RATE))
            else:
                self._run = 0
        return boundaries

    @property
    def trailing_silence_s(self) -> float:
        """How long the current utterance has been silent (0 while someone speaks)."""
        if not self.in_speech or self._run == 0:
            return 0.0
        return self._run * WINDOW / SAMPLE_RATE


class VoiceActivityTrace:
    """A stream's recent window probabilities, addressed in stream seconds.

    A long utterance without an endpointing pause is cut by the session; the trace says where
    it paused most, so a cut does not fall inside a word or between two overlapping speakers.
    """

    def __init__(self, capacity_s: float) -> None:
        self._probs: deque[float] = deque(maxlen=int(capacity_s * SAMPLE_RATE / WINDOW) + 1)
        self._windows_seen = 0

    def extend(self, probs: list[float]) -> None:
        self._probs.extend(probs)
        self._windows_seen += len(probs)

    def _held(self, from_s: float, to_s: float) -> list[tuple[int, float]]:
        """(stream index, probability) of the held windows whose middle lies in [from_s, to_s]."""
        first = self._windows_seen - len(self._probs)  # stream index of self._probs[0]
        lo = max(first, int(np.ceil(from_s * SAMPLE_RATE / WINDOW - 0.5)))
        hi = min(self._windows_seen - 1, int(np.floor(to_s * SAMPLE_RATE / WINDOW - 0.5)))
        return [(k, self._probs[k - first]) for k in range(lo, hi + 1)]

    def quietest(self, from_s: float, to_s: float) -> tuple[float, float] | None:
        """(probability, middle in stream seconds) of the least speech-like window whose middle
        lies in [from_s, to_s], or None if the trace holds none there."""
        held = self._held(from_s, to_s)
        if not held:
            return None
        k, p = min(held, key=lambda window: window[1])
        return p, (k + 0.5) * WINDOW / SAMPLE_RATE
