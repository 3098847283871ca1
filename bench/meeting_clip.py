"""A longer multi-speaker clip for the ladder: a three-voice stand-up, synthesised with espeak-ng.

The shared speech set is mostly short single-speaker files; a meeting has turns, changes of
voice and pauses. The audio is made on first use (espeak-ng and sox) and cached under
`bench/out/`, keyed by the script, so every run of a machine hears the same samples.
"""

from __future__ import annotations

import hashlib
import tempfile
import wave
from pathlib import Path

import numpy as np
from speech_set import RATE, Clip
from support_audio import espeak_wav

from server.file_streamer import decode_file

VOICES = {"Ana": "en-us+f3", "Ben": "en-gb", "Cleo": "en-us"}
#: Silence between turns: short enough to keep it a conversation, long enough to end an utterance.
TURN_GAP_S = 0.7
SCRIPT = (
    ("Ana", "Good morning everyone. Let's start the weekly review of the mobile release."),
    ("Ben", "The login screen is finished and the tests pass on both phones."),
    ("Cleo", "I still see a crash when the network drops during the upload."),
    ("Ana", "How often does that happen in the field reports?"),
    ("Cleo", "About three times a day, mostly on older devices with little memory."),
    ("Ben", "I can add a retry with a short delay before Friday."),
    ("Ana", "Good. Please also write a note for the support team about the crash."),
    ("Cleo", "The design team wants to change the colour of the main button to green."),
    ("Ben", "That sounds fine to me, but we should check it with the accessibility guide."),
    ("Ana", "Let's keep the current colour for this release and look at it again next month."),
    ("Cleo", "Then I will update the screenshots for the app store this afternoon."),
    ("Ana", "Thank you both. We meet again on Tuesday at ten."),
)


def _script_key() -> str:
    text = repr((sorted(VOICES.items()), SCRIPT, TURN_GAP_S))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def meeting_clip(cache_dir: Path) -> Clip:
    """The stand-up as one mono 16 kHz clip, with its script as the reference."""
    path = cache_dir / f"standup_{_script_key()}.wav"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        gap = np.zeros(round(TURN_GAP_S * RATE), np.int16)
        parts: list[np.ndarray] = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, (speaker, text) in enumerate(SCRIPT):
                wav = espeak_wav(text, Path(tmp) / f"{i}.wav", voice=VOICES[speaker])
                parts += [np.frombuffer(decode_file(wav), "<i2"), gap]
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(np.concatenate(parts).astype("<i2").tobytes())
    reference = " ".join(text for _, text in SCRIPT)
    return Clip("standup_meeting", path, decode_file(path), reference)
