"""The speech set: which files the benchmark streams, decoded to 16 kHz mono LINEAR16."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

RATE = 16_000


@dataclass(frozen=True, slots=True)
class BenchFile:
    name: str
    audio: str  # relative to the data directory
    reference: str


#: Single-speaker English files with text references, plus the two-speaker pyannote sample.
#: jfk_16k.wav is the same recording as jfk.flac and the Mandarin file is out of scope.
DEFAULT_FILES: tuple[BenchFile, ...] = (
    BenchFile("jfk", "audio/jfk.flac", "refs/jfk.txt"),
    BenchFile(
        "librispeech_1995-1837-0001",
        "audio/librispeech_test-clean_1995-1837-0001.wav",
        "refs/librispeech_test-clean_1995-1837-0001.txt",
    ),
    BenchFile(
        "librispeech_2412-153948-0000",
        "audio/librispeech_dev-clean_2412-153948-0000.flac",
        "refs/librispeech_dev-clean_2412-153948-0000.txt",
    ),
    BenchFile(
        "ami_ES2011a_40-46s",
        "audio/ami_ES2011a_Headset-0_40-46s.wav",
        "refs/ami_ES2011a_Headset-0_40-46s.txt",
    ),
    BenchFile(
        "voices_sg0042",
        "audio/voices_Lab41-SRI-VOiCES-src-sp0307-ch127535-sg0042.wav",
        "refs/voices_Lab41-SRI-VOiCES-src-sp0307-ch127535-sg0042.txt",
    ),
    BenchFile("pyannote_sample", "audio/pyannote_sample.wav", "refs/pyannote_sample.txt"),
)


@dataclass(frozen=True, slots=True)
class Clip:
    name: str
    path: Path
    pcm: bytes  # 16 kHz mono LINEAR16
    reference: str
    #: Spoken by espeak-ng (the scripted meetings), not recorded from a person.
    synthetic: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / RATE

    def float32(self) -> NDArray[np.float32]:
        return np.frombuffer(self.pcm, dtype="<i2").astype(np.float32) / 32768.0


def dithered(clips: Sequence[Clip], seed: int) -> list[Clip]:
    """`clips` with one least significant bit of seeded noise added (-1, 0 or +1 a sample).

    About 90 dB below full scale, inaudible; yet tiny.en changes words on far less (numpy's
    BLAS thread count moves offline's WER by a point), so decoding a file again with another
    seed shows how far a WER moves on a change that is no change.
    """
    out = []
    for i, clip in enumerate(clips):
        pcm = np.frombuffer(clip.pcm, "<i2").astype(np.int32)
        noise = np.random.default_rng([seed, i]).integers(-1, 2, pcm.size)
        noisy = np.clip(pcm + noise, -32768, 32767).astype("<i2")
        out.append(replace(clip, pcm=noisy.tobytes()))
    return out


def delayed(clips: Sequence[Clip], lead_s: float) -> list[Clip]:
    """`clips` starting `lead_s` seconds later: digital silence first, the reference unchanged.

    Where a recording starts is arbitrary, yet it decides where offline's 30 s windows fall,
    and so which turns share a window: offline's errors on each set of eight meetings moved
    by 13 to 15 over leads of 0, 1, 2 and 3 s (bench/README.md). Live's errors moved as
    much (18 to 21): its voice detector's 32 ms windows fall elsewhere on the speech.
    """
    lead = b"\0\0" * round(lead_s * RATE)
    return [replace(c, pcm=lead + c.pcm) for c in clips]


def perturbed(clips: Sequence[Clip], dither: int, leads_s: Sequence[float]) -> list[list[Clip]]:
    """The copies of `clips` decoded again after the files as they are, in this order: with
    one bit of noise for each seed from 1 to `dither` - 1, then after each of `leads_s`."""
    return [dithered(clips, seed) for seed in range(1, dither)] + [
        delayed(clips, lead_s) for lead_s in leads_s
    ]


def load_clips(data_dir: Path, files: Sequence[BenchFile]) -> list[Clip]:
    # Imported here: the server package (and PyAV) is absent where only saved clips are read.
    from server.file_streamer import decode_file

    clips = []
    for f in files:
        path = data_dir / f.audio
        reference = (data_dir / f.reference).read_text().strip()
        clips.append(Clip(f.name, path, decode_file(path), reference))
    return clips


def save_clips(path: Path, clips: Sequence[Clip]) -> None:
    """The decoded clips and their references in one file, for a machine without the decoders."""
    meta = [
        {"name": c.name, "path": str(c.path), "reference": c.reference, "synthetic": c.synthetic}
        for c in clips
    ]
    arrays = [np.frombuffer(c.pcm, "<i2") for c in clips]
    np.savez_compressed(path, *arrays, meta=np.array(json.dumps(meta)))


def load_saved_clips(path: Path) -> list[Clip]:
    with np.load(path) as saved:
        meta = json.loads(str(saved["meta"]))
        return [
            Clip(
                m["name"],
                Path(m["path"]),
                saved[f"arr_{i}"].astype("<i2").tobytes(),
                m["reference"],
                m.get("synthetic", False),
            )
            for i, m in enumerate(meta)
        ]
