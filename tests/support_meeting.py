"""A synthetic four-person meeting, one WAV per participant, with the traps notes fall into."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
from support_audio import espeak_wav

from server.file_streamer import decode_file

RATE = 16_000
#: Silence between turns: longer than the node's 600 ms endpointing, so every turn is final.
TURN_GAP_S = 1.0
#: Voices tiny.en transcribes these lines well enough for the planted items to survive.
VOICES = {"Alice": "en-gb-x-rp", "Bob": "en-gb", "Carol": "en-us+f3", "David": "en-us"}
MEETING = [
    ("Alice", "Good morning everyone. Let's talk about the product launch."),
    ("Bob", "I think we should move the launch to March third."),
    ("Alice", "Agreed. Let's move the launch to March third."),
    ("Carol", "Let's switch the hosting to Google Cloud."),
    # A proposal that is rejected.
    ("Bob", "No. Let's not switch the hosting to Google Cloud. It costs too much."),
    ("Alice", "Bob, can you send the revised budget before Friday?"),
    # A task reassigned mid-meeting.
    ("Alice", "Actually, Carol will take that, not Bob."),
    # An owner who is not the speaker, a number and a date that must survive.
    ("Bob", "David, can you book the room for forty people before March first?"),
    ("David", "Sure. I will write the press release by next Tuesday."),
    ("Carol", "How much will the new laptops cost?"),
    ("Alice", "Let's revisit the pricing page next quarter."),
]


def meeting_tracks(
    folder: Path,
    script: list[tuple[str, str]] = MEETING,
    voices: dict[str, str] = VOICES,
) -> dict[str, Path]:
    """Each participant's microphone: their turns where they speak, silence elsewhere."""
    turns = []
    for i, (who, text) in enumerate(script):
        wav = espeak_wav(text, folder / f"turn{i}.wav", voice=voices[who])
        turns.append((who, np.frombuffer(decode_file(wav), "<i2")))
    gap = round(TURN_GAP_S * RATE)
    total = sum(t.size + gap for _, t in turns) + gap
    tracks = {who: np.zeros(total, np.int16) for who in voices}
    cursor = gap
    for who, audio in turns:
        tracks[who][cursor : cursor + audio.size] = audio
        cursor += audio.size + gap
    paths = {}
    for who, samples in tracks.items():
        path = folder / f"{who.lower()}.wav"
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(samples.tobytes())
        paths[who] = path
    return paths
