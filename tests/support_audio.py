"""Test helpers: synthesise speech, score WER. Files are decoded with the CLI's own
`server.file_streamer.decode_file`, so tests send exactly what `stenograph stream` sends."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import jiwer


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
    # -R: the same dither noise on every run and machine (sox seeds it randomly otherwise),
    # so a spec or a benchmark hears the same samples each time.
    subprocess.run(
        ["sox", "-R", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True
    )
    raw.unlink()
    return out
