"""Audio and scoring helpers for tests and benchmarks: decode files, make audio, score WER."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import av
import jiwer
import numpy as np

RATE = 16_000


def pcm16(path: Path) -> bytes:
    """Any audio file as 16 kHz mono LINEAR16 bytes (PyAV decodes and resamples)."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    parts: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(parts).astype("<i2").tobytes()


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def espeak_wav(text: str, out: Path, voice: str = "en-us", words_per_minute: int = 160) -> Path:
    """Synthesise `text` with espeak-ng, converted by sox to 16 kHz mono 16-bit WAV."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} is required (apt-get install espeak-ng sox)")
    raw = out.with_suffix(".raw.wav")
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text], check=True
    )
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    raw.unlink()
    return out
