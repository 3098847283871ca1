"""The benchmark's offline reference: a WER over several decodes of the same speech.

tiny.en changes words on a change as small as numpy's BLAS thread count, so one offline
decode is a draw. bench/offline_baseline.py decodes the files again with one bit of seeded
noise, or with silence before them (bench/speech_set.py), and reports the mean; these specify
the changed audio and the mean, and how bench/live_wer.py pools the live and offline errors.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from offline_baseline import OfflineRun  # noqa: E402
from speech_set import RATE, Clip, delayed, dithered, perturbed  # noqa: E402


def clip(name: str, samples: list[int], reference: str = "hello world") -> Clip:
    pcm = np.array(samples, dtype="<i2").tobytes()
    return Clip(name, Path(f"{name}.wav"), pcm, reference)


def samples(c: Clip) -> np.ndarray:
    return np.frombuffer(c.pcm, "<i2").astype(np.int32)


def test_dither_moves_each_sample_by_at_most_one_step_and_stays_in_range() -> None:
    loud = clip("loud", [32767, -32768] * 2000 + [0] * 4000)
    (noisy,) = dithered([loud], seed=1)
    diff = samples(noisy) - samples(loud)
    assert set(np.unique(diff)) <= {-1, 0, 1}
    assert np.count_nonzero(diff) > 4000  # about two samples in three change
    assert samples(noisy).max() <= 32767 and samples(noisy).min() >= -32768
    assert (noisy.name, noisy.reference) == (loud.name, loud.reference)


def test_dither_is_repeatable_by_seed_and_differs_between_seeds_and_files() -> None:
    a, b = clip("a", [0] * 16000), clip("b", [0] * 16000)
    first, second = dithered([a, b], seed=1), dithered([a, b], seed=1)
    assert [c.pcm for c in first] == [c.pcm for c in second]
    assert dithered([a, b], seed=2)[0].pcm != first[0].pcm
    assert first[0].pcm != first[1].pcm  # two silent files do not get the same noise


def test_a_delayed_clip_is_the_same_audio_after_silence_with_the_same_reference() -> None:
    speech = clip("speech", [1000, -1000] * 800, "hello there")
    (later,) = delayed([speech], lead_s=1.5)
    pcm = samples(later)
    assert pcm.size == samples(speech).size + round(1.5 * RATE)
    assert not pcm[: round(1.5 * RATE)].any()
    assert (pcm[round(1.5 * RATE) :] == samples(speech)).all()
    assert (later.name, later.reference) == (speech.name, speech.reference)


def test_both_systems_get_the_noise_seeds_first_then_the_leads() -> None:
    speech = clip("speech", [1000, -1000] * 800)
    copies = perturbed([speech], dither=3, leads_s=[0.5])
    assert [c[0].pcm for c in copies] == [
        dithered([speech], seed=1)[0].pcm,
        dithered([speech], seed=2)[0].pcm,
        delayed([speech], lead_s=0.5)[0].pcm,
    ]
    assert perturbed([speech], dither=1, leads_s=[]) == []


def test_offline_wer_is_the_mean_over_its_decodes() -> None:
    files = [clip("a", [0], "one two three four"), clip("b", [0], "five six seven eight")]
    run = OfflineRun(
        beam_size=5,
        texts={"a": "one two three four", "b": "five six seven eight"},
        seconds={"a": 0.1, "b": 0.1},
        wall_s=0.2,
        cpu_s=0.2,
        audio_s=2.0,
        again=(
            {"a": "one two three for", "b": "five six seven eight"},
            {"a": "one two three four", "b": "five six seven"},
        ),
    )
    assert run.wer_by_decode(files) == [0.0, 1 / 8, 1 / 8]
    assert run.wer(files) == 1 / 12
    # A file streamed twice counts twice, as a level's streams do.
    assert (
        run.mean_wer(["a", "a", "b"], {"a": "one two three four", "b": "five six seven eight"})
        == (0.0 + 2 / 12 + 1 / 12) / 3
    )


def test_the_pooled_gap_is_also_given_for_recorded_and_synthetic_speech_apart() -> None:
    from live_wer import summarise_pooled

    person = clip("person", [0], "one two three four")
    espeak = replace(clip("espeak", [0], "five six seven eight"), synthetic=True)
    assert [c[0].synthetic for c in perturbed([espeak], dither=2, leads_s=[1.0])] == [True, True]
    summary = summarise_pooled(
        [
            (person, ["one two three for"], ["one two three four"]),
            (espeak, ["five six seven eight"], ["five six eight"]),
        ]
    )
    assert summary["live_errors"] == [1] and summary["offline_errors"] == [1]
    by_kind = summary["by_kind"]
    assert isinstance(by_kind, dict)
    assert by_kind["recorded"]["live_errors"] == [1]
    assert by_kind["recorded"]["offline_errors"] == [0]
    assert by_kind["synthetic"]["live_errors"] == [0]
    assert by_kind["synthetic"]["delta_pts"] == -25.0
    # One kind alone: nothing to split.
    assert "by_kind" not in summarise_pooled([(person, ["one"], ["one"])])
