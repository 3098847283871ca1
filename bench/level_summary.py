"""Aggregates for the report: per level, per file, per stream, and the N = 1 targets."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from concurrency_level import LevelResult
from offline_baseline import OfflineRun
from scoring import StreamMetrics, percentile, score_wer
from stream_run import StreamRun
from wer_interval import wer_delta

#: Targets the benchmark checks for N = 1.
TARGET_WER_DELTA_PTS = 1.0
TARGET_WORD_LAG_P95_S = 2.0
TARGET_FIRST_PARTIAL_S = 1.5
#: The headline: p95 word lag under this, and WER within this many points of the system's N = 1.
LAG_BAR_S, WER_BAR_PTS = 2.0, 1.0


def endpointing_ms(settings: Mapping[str, str]) -> int:
    """The node's endpointing silence: our override, else the node's default."""
    if "endpointing_ms" in settings:
        return int(settings["endpointing_ms"])
    from server.settings import Settings

    default: int = Settings.model_fields["endpointing_ms"].default
    return default


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summarise_level(level: LevelResult, offline: Sequence[OfflineRun]) -> dict[str, Any]:
    ms = level.metrics
    lags = [x for m in ms for x in m.word_lags_s]
    firsts = [m.first_partial_s for m in ms if m.first_partial_s is not None]
    finals = [x for m in ms for x in m.final_latencies_s]
    summaries = [m.summary_latency_s for m in ms if m.summary_latency_s is not None]
    gaps = [x for m in ms for x in m.partial_gaps_s]
    vad_lags = [x for m in ms for x in m.vad_lags_s]
    endpointing_s = endpointing_ms(level.settings) / 1000
    refs = [r.clip.reference for r in level.runs]
    stream_wer = score_wer(refs, [r.final_text for r in level.runs])
    partial_words = sum(m.revision.partial_words for m in ms)
    committed_words = sum(m.revision.committed_words for m in ms)
    audio_s = sum(r.audio_sent_s for r in level.runs)
    speech_s = sum(r.clip.duration_s for r in level.runs)
    out: dict[str, Any] = {
        "streams": level.streams,
        "stream_runs": len(ms),
        "stream_runs_ok": sum(m.ok for m in ms),
        "errors": [f"{m.clip}: {m.error}" for m in ms if m.error],
        "audio_sent_s": round(audio_s, 2),
        "speech_file_s": round(speech_s, 2),
        "first_partial_s": {
            "p50": _r(percentile(firsts, 50)),
            "p95": _r(percentile(firsts, 95)),
            "max": _r(max(firsts, default=None)),
            "n": len(firsts),
        },
        "word_lag_s": {
            "p50": _r(percentile(lags, 50)),
            "p95": _r(percentile(lags, 95)),
            "max": _r(max(lags, default=None)),
            "min": _r(min(lags, default=None)),
            "negative": sum(x < 0 for x in lags),
            # Words first shown right more than the bar late: what a p95 over the bar is made of.
            "over_bar": sum(x > LAG_BAR_S for x in lags),
            "n": len(lags),
            # One hard file can make the p95 (the pyannote sample's corrected words do).
            "p95_by_file": {f["clip"]: f["word_lag_s_p95"] for f in per_file(level, [])},
        },
        "final_latency_s": {
            "p50": _r(percentile(finals, 50)),
            "p95": _r(percentile(finals, 95)),
            "max": _r(max(finals, default=None)),
            "n": len(finals),
            "other_finals": sum(m.other_finals for m in ms),
            "endpointing_s": endpointing_s,
            "net_of_endpointing_p50": _r(percentile([x - endpointing_s for x in finals], 50)),
            "net_of_endpointing_p95": _r(percentile([x - endpointing_s for x in finals], 95)),
        },
        "result_gap_s": {"p50": _r(percentile(gaps, 50)), "p95": _r(percentile(gaps, 95))},
        "vad_onset_lag_s": {
            "p50": _r(percentile(vad_lags, 50)),
            "max": _r(max(vad_lags, default=None)),
            "n": len(vad_lags),
        },
        "partial_revision": {
            "rate": _r(sum(m.revision.revised for m in ms) / partial_words, 4)
            if partial_words
            else None,
            "partial_words": partial_words,
            "revised": sum(m.revision.revised for m in ms),
            "committed_words": committed_words,
            "committed_revised": sum(m.revision.committed_revised for m in ms),
            "committed_rate": _r(sum(m.revision.committed_revised for m in ms) / committed_words, 4)
            if committed_words
            else None,
        },
        "results": sum(m.results for m in ms),
        "partials": sum(m.partials for m in ms),
        "wer": {
            "stream": round(stream_wer.wer, 4),
            "ref_words": stream_wer.ref_words,
            "substitutions": stream_wer.substitutions,
            "deletions": stream_wer.deletions,
            "insertions": stream_wer.insertions,
        },
        "node_cpu_s": round(level.cpu_s, 2),
        "node_cpu_s_per_audio_s": round(level.cpu_s / audio_s, 4) if audio_s else None,
        "node_cpu_s_per_speech_file_s": round(level.cpu_s / speech_s, 4) if speech_s else None,
        "node_cores_busy": round(level.cpu_s / level.wall_s, 3),
        "node_peak_rss_mib": _r(level.peak_rss_mib, 1),
        "node_peak_rss_reset": level.peak_rss_reset,
        "wall_s": round(level.wall_s, 2),
        "summary_latency_s": {
            "p50": _r(percentile(summaries, 50)),
            "max": _r(max(summaries, default=None)),
        },
        "max_send_late_s": _r(max((m.max_send_late_s for m in ms), default=0.0)),
        "kept_up": sum(m.kept_up for m in ms),
        "warnings": sorted({w for m in ms for w in m.warnings}),
    }
    names = list(dict.fromkeys(r.clip.name for r in level.runs))
    clips = {r.clip.name: r.clip for r in level.runs}
    by_file = [[r.final_text for r in level.runs if r.clip.name == n] for n in names]
    references = {n: c.reference for n, c in clips.items()}
    for run in offline:
        # The same multiset of files as the streams, mean over offline's decodes.
        offline_wer = run.mean_wer([r.clip.name for r in level.runs], references)
        beam = run.beam_size
        out["wer"][f"offline_beam{beam}"] = round(offline_wer, 4)
        out["wer"][f"delta_pts_vs_beam{beam}"] = round(100 * (stream_wer.wer - offline_wer), 2)
        delta = wer_delta(
            [clips[n].reference for n in names],
            by_file,
            [[d[n] for d in run.decodes] for n in names],
        )
        out["wer"][f"delta_pts_vs_beam{beam}_ci95"] = [delta.low, delta.high]
        out["wer"]["sentences"] = delta.sentences
    return out


def per_file(level: LevelResult, offline: Sequence[OfflineRun]) -> list[dict[str, Any]]:
    rows = []
    names = list(dict.fromkeys(r.clip.name for r in level.runs))
    for name in names:
        runs = [r for r in level.runs if r.clip.name == name]
        ms = [m for m in level.metrics if m.clip == name]
        clip = runs[0].clip
        lags = [x for m in ms for x in m.word_lags_s]
        firsts = [m.first_partial_s for m in ms if m.first_partial_s is not None]
        row: dict[str, Any] = {
            "clip": name,
            "audio_s": round(clip.duration_s, 2),
            "reference": clip.reference,
            "stream_texts": [r.final_text for r in runs],
            "stream_wer": round(
                score_wer([clip.reference] * len(runs), [r.final_text for r in runs]).wer, 4
            ),
            "first_partial_s_p50": _r(percentile(firsts, 50)),
            "word_lag_s_p50": _r(percentile(lags, 50)),
            "word_lag_s_p95": _r(percentile(lags, 95)),
            "partial_words": sum(m.revision.partial_words for m in ms),
            "revised": sum(m.revision.revised for m in ms),
            "committed_words": sum(m.revision.committed_words for m in ms),
            "committed_revised": sum(m.revision.committed_revised for m in ms),
        }
        for o in offline:
            row[f"offline_beam{o.beam_size}"] = round(o.mean_wer([name], {name: clip.reference}), 4)
            row[f"offline_beam{o.beam_size}_text"] = o.texts[name]
        rows.append(row)
    return rows


def stream_detail(run: StreamRun, m: StreamMetrics, raw: bool) -> dict[str, Any]:
    detail: dict[str, Any] = {
        **{k: v for k, v in dataclasses.asdict(m).items() if k not in ("word_lags_s",)},
        "word_lags_s": [round(x, 3) for x in m.word_lags_s],
        "final_latencies_s": [round(x, 3) for x in m.final_latencies_s],
        "summary": run.summary,
    }
    if raw:
        t0 = run.sent_at[0] - run.chunk_s if run.sent_at else 0.0
        detail["results_raw"] = [
            {
                **dataclasses.asdict(r),
                "arrival": round(r.arrival - t0, 4),
                "words": [[w.text, w.start_s, w.end_s] for w in r.words],
            }
            for r in run.results
        ]
    return detail


def check_targets(levels: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    one = next((s for s in levels if s["streams"] == 1), None)
    if one is None:
        return []
    delta = one["wer"].get("delta_pts_vs_beam5")
    lag = one["word_lag_s"]["p95"]
    first = one["first_partial_s"]["max"]
    return [
        {
            "name": f"stream WER − offline beam-5 WER ≤ {TARGET_WER_DELTA_PTS:g} pt",
            "value": delta,
            "pass": None if delta is None else delta <= TARGET_WER_DELTA_PTS,
        },
        {
            "name": f"p95 word lag < {TARGET_WORD_LAG_P95_S:g} s",
            "value": lag,
            "pass": None if lag is None else lag < TARGET_WORD_LAG_P95_S,
        },
        {
            "name": f"first partial (max over streams) < {TARGET_FIRST_PARTIAL_S:g} s",
            "value": first,
            "pass": None if first is None else first < TARGET_FIRST_PARTIAL_S,
        },
    ]


def headline(levels: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Largest N with p95 word lag < 2 s and WER within 1 point of the system's N = 1 WER."""
    if not levels:
        return {"streams": 0}
    base = levels[0]["wer"]["stream"]
    good = [
        lv["streams"]
        for lv in levels
        if lv["word_lag_s"]["p95"] is not None
        and lv["word_lag_s"]["p95"] < LAG_BAR_S
        and 100 * (lv["wer"]["stream"] - base) <= WER_BAR_PTS
    ]
    return {"streams": max(good, default=0), "wer_at_1": base}
