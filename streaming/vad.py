"""Voice activity: one silero-vad model per process, one recurrent state per stream.

The TorchScript model keeps its recurrent state inside the module, which would make streams
overwrite each other. Its inner 16 kHz network takes the state explicitly, so we call that
with a `VadState` owned by each stream and share the weights.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import torch

from streaming.audio import SAMPLE_RATE, Pcm, empty_pcm

WINDOW = 512  # samples per silero window at 16 kHz (32 ms)
_CONTEXT = 64  # samples of the previous window the model sees


@dataclass(slots=True)
class VadState:
    """One stream's recurrent state and the samples not yet forming a whole window."""

    rnn: torch.Tensor = field(default_factory=lambda: torch.zeros(2, 1, 128))
    context: torch.Tensor = field(default_factory=lambda: torch.zeros(1, _CONTEXT))
    pending: Pcm = field(default_factory=empty_pcm)


class SileroVoiceDetector:
    """Speech probability per 32 ms window. Thread-safe; state lives in `VadState`."""

    def __init__(self) -> None:
        from silero_vad import load_silero_vad

        self._net = load_silero_vad(onnx=False)._model
        self._lock = threading.Lock()  # the TorchScript module is not documented re-entrant
        # One 32 ms window is too little work to split across threads: two threads cost 1.6x
        # the CPU of one per chunk, taken from Whisper's workers. Torch serves only VAD here.
        torch.set_num_threads(1)

    def probabilities(self, state: VadState, pcm: Pcm) -> list[float]:
        """Feed samples; one probability per completed window (blocking: call off the loop)."""
        audio = np.concatenate([state.pending, pcm]) if state.pending.size else pcm
        whole = (audio.size // WINDOW) * WINDOW
        state.pending = audio[whole:].copy()
        if whole == 0:
            return []
        windows = torch.from_numpy(np.ascontiguousarray(audio[:whole])).reshape(-1, WINDOW)
        probs: list[float] = []
        with self._lock, torch.inference_mode():
            for window in windows:
                x = torch.cat([state.context, window.unsqueeze(0)], dim=1)
                out, state.rnn = self._net(x, state.rnn)
                state.context = x[:, -_CONTEXT:]
                probs.append(float(out))
        return probs


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
