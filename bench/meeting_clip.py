"""Multi-speaker clips for the benchmarks: scripted meetings, synthesised with espeak-ng.

The shared speech set is mostly short single-speaker files; a meeting has turns, changes of
voice and pauses. The ladder streams one of them, a three-voice stand-up (`meeting_clip`).
The engine ladder's `--set meetings` streams eight (`meeting_set`): the stand-up, the notes
benchmark's four meetings and three more, about 90 turns, so a difference in WER between the
live streams and offline decoding can be told from chance (`wer_interval.py`: on the speech
set's 33 sentences its 95 % interval is about 7 points wide).

The audio is made on first use (espeak-ng and sox) and cached under `bench/out/`, keyed by
the script, so every run of a machine hears the same samples.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import wave
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from speech_set import RATE, Clip
from support_audio import espeak_wav

from server.file_streamer import decode_file

Script = Sequence[tuple[str, str]]

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

#: Three more meetings for `meeting_set`, in the voices the others use.
MORE_MEETINGS: dict[str, tuple[dict[str, str], Script]] = {
    "retro": (
        {"Maya": "en-us+f3", "Omar": "en-gb", "Lena": "en-gb-x-rp"},
        (
            ("Maya", "Welcome to the retrospective. Let's start with what went well this sprint."),
            ("Omar", "The new deployment pipeline saved us about two hours every week."),
            ("Lena", "Code reviews were faster because the pull requests were smaller."),
            ("Maya", "What did not go so well?"),
            ("Omar", "The staging server was down for most of Wednesday."),
            ("Lena", "And we found three bugs only after the release."),
            ("Maya", "Why did the tests miss them?"),
            ("Lena", "They were in the payment flow, which has no automated tests yet."),
            ("Omar", "I can write tests for the payment flow next sprint."),
            ("Maya", "Good. Let's also add an alert for the staging server."),
            ("Lena", "I will ask the platform team about a second server."),
            ("Maya", "Thanks everyone. See you at planning on Monday morning."),
        ),
    ),
    "budget": (
        {"Ruth": "en-gb-x-rp", "Sam": "en-us", "Tara": "en-us+f3"},
        (
            ("Ruth", "Let's go through the budget for the third quarter."),
            ("Sam", "We spent eighty thousand dollars on cloud services, ten percent over plan."),
            ("Ruth", "What caused the increase?"),
            ("Sam", "Mostly storage. The new video feature keeps every upload for a year."),
            ("Tara", "We could move old videos to cheaper storage after thirty days."),
            ("Sam", "That would save about a quarter of the storage cost."),
            ("Ruth", "Let's do that. Tara, can you write a proposal by next week?"),
            ("Tara", "Yes. I will include the cost of moving the existing files."),
            ("Sam", "We should also review the licences for the design tools."),
            ("Ruth", "How many of those licences are still in use?"),
            ("Sam", "Twelve out of twenty, according to last month's report."),
            ("Ruth", "Then we cancel the other eight when they renew in January."),
        ),
    ),
    "support": (
        {"Uma": "en-us+f3", "Victor": "en-gb", "Wendy": "en-us"},
        (
            ("Uma", "Good afternoon. Let's review this week's support tickets."),
            ("Victor", "We received four hundred tickets, a little less than last week."),
            ("Uma", "What was the most common problem?"),
            ("Victor", "Password resets. Many users did not receive the email."),
            ("Wendy", "The email provider blocked some of our messages as spam."),
            ("Uma", "Have we fixed that?"),
            ("Wendy", "We changed the sender address on Tuesday, and the complaints stopped."),
            ("Victor", "The second problem was slow loading of the reports page."),
            ("Wendy", "The database index for reports is missing. I will add it tomorrow."),
            ("Uma", "Please tell the customers who complained once it is fixed."),
            ("Victor", "I will send them a short message on Thursday."),
            ("Uma", "Great. That is all for today. Thank you."),
        ),
    ),
}


def _script_key(voices: Mapping[str, str], script: Script, gap_s: float) -> str:
    # "repeatable": clips made before espeak_wav's dither was seeded sound slightly different.
    text = repr((sorted(voices.items()), tuple(script), gap_s, "repeatable"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def scripted_clip(
    name: str,
    voices: Mapping[str, str],
    script: Script,
    cache_dir: Path,
    gap_s: float = TURN_GAP_S,
) -> Clip:
    """A script's turns, one after another, as one mono 16 kHz clip with the script as its
    reference."""
    path = cache_dir / f"{name}_{_script_key(voices, script, gap_s)}.wav"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        gap = np.zeros(round(gap_s * RATE), np.int16)
        parts: list[np.ndarray] = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, (speaker, text) in enumerate(script):
                wav = espeak_wav(text, Path(tmp) / f"{i}.wav", voice=voices[speaker])
                parts += [np.frombuffer(decode_file(wav), "<i2"), gap]
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(np.concatenate(parts).astype("<i2").tobytes())
    reference = " ".join(text for _, text in script)
    return Clip(name, path, decode_file(path), reference, synthetic=True)


def meeting_clip(cache_dir: Path) -> Clip:
    """The stand-up (57 s, 12 turns)."""
    return dataclasses.replace(
        scripted_clip("standup", VOICES, SCRIPT, cache_dir), name="standup_meeting"
    )


#: The same eight meetings in other espeak-ng voices (`meeting_set(voices=...)`): a WER change
#: measured on one voice set can be a few words that tiny.en flips on those voices.
OTHER_VOICES: dict[str, dict[str, str]] = {
    "b": {"en-us+f3": "en-us+f2", "en-gb": "en-gb-scotland", "en-us": "en-029",
          "en-gb-x-rp": "en-gb-x-gbcwmd"},
    "c": {"en-us+f3": "en-gb+f4", "en-gb": "en-gb-x-gbclan", "en-us": "en-us+m3",
          "en-gb-x-rp": "en-us+m7"},
}  # fmt: skip


def meeting_set(cache_dir: Path, voices: str = "a") -> list[Clip]:
    """Eight meetings: the stand-up, the notes benchmark's four, and `MORE_MEETINGS`, in
    their own voices ("a") or in one of `OTHER_VOICES` (names then end in "_b", "_c")."""
    from notes_meetings import MEETINGS

    plans: list[tuple[str, Mapping[str, str], Script]] = [
        (m.meeting_id, m.voices, m.script) for m in MEETINGS
    ]
    plans += [(n, v, s) for n, (v, s) in MORE_MEETINGS.items()]
    if voices == "a":
        return [meeting_clip(cache_dir), *(scripted_clip(*plan, cache_dir) for plan in plans)]
    plans.insert(0, ("standup", VOICES, SCRIPT))
    swap = OTHER_VOICES[voices]
    return [
        scripted_clip(f"{n}_{voices}", {who: swap.get(x, x) for who, x in v.items()}, s, cache_dir)
        for n, v, s in plans
    ]
