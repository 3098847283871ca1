"""The report: machine and git details, the Markdown rendering, and the JSON and Markdown files."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

#: The repository root, where git is asked about the commit.
ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    mem = re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)
    cpu_max = Path("/sys/fs/cgroup/cpu.max")
    return {
        "hostname": platform.node(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": models[0].strip() if models else platform.processor(),
        "cgroup_cpu_max": cpu_max.read_text().strip() if cpu_max.is_file() else None,
        "ram_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {
            p: _version(p) for p in ("faster-whisper", "ctranslate2", "torch", "grpcio", "numpy")
        },
    }


def gpu_query(fields: str) -> list[str]:
    """One GPU's `nvidia-smi` fields, or [] where there is none."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [part.strip() for part in out.splitlines()[0].split(",")] if out else []


def git_info() -> dict[str, Any]:
    status = _git("status", "--porcelain")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "describe": _git("log", "-1", "--format=%h %s"),
        "dirty_files": len(status.splitlines()) if status else 0,
    }


def dash(value: float | None, digits: int = 2) -> str:
    """A table cell: the value, or a dash where there is none."""
    return "–" if value is None else f"{value:.{digits}f}"


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else ("PASS" if passed else "FAIL")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def render_markdown(report: dict[str, Any]) -> str:
    meta, machine, git = report["meta"], report["machine"], report["git"]
    lines = [
        f"# Stenograph streaming benchmark — {meta['started_at']}",
        "",
    ]
    if meta.get("note"):
        lines += [f"**{meta['note']}**", ""]
    dirty = f" (+{git['dirty_files']} uncommitted files)" if git["dirty_files"] else ""
    lines += [
        f"- commit: `{git['describe']}`{dirty}",
        f"- machine: {machine['cpu_model']}, {machine['nproc']} CPUs, {machine['ram_gib']} GiB RAM,"
        f" load avg before/after {meta['loadavg_before']} / {meta['loadavg_after']}",
        f"- node: model `{meta['model']}`, settings {meta['node_settings'] or 'defaults'};"
        f" transport {meta['transport']}; {meta['chunk_ms']} ms LINEAR16 chunks at real time;"
        f" {meta['tail_silence_s']} s of silence after each file",
        f"- files: {', '.join(meta['files'])} ({meta['speech_s']:.1f} s of audio)",
        "",
        "| N | streams ok | first partial p50 / max (s) | word lag p50 / p95 (s) "
        "| finalisation p50 / p95 (s) | partial words revised | stream WER % "
        "| offline WER % (beam 5 / greedy) | Δ WER pts vs beam 5 / greedy "
        "| node CPU s / audio s | node peak RSS MiB | kept up |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in report["levels"]:
        fp, lag, fin, rev, wer = (
            s["first_partial_s"],
            s["word_lag_s"],
            s["final_latency_s"],
            s["partial_revision"],
            s["wer"],
        )
        lines.append(
            f"| {s['streams']} | {s['stream_runs_ok']}/{s['stream_runs']} "
            f"| {_fmt(fp['p50'])} / {_fmt(fp['max'])} | {_fmt(lag['p50'])} / {_fmt(lag['p95'])} "
            f"| {_fmt(fin['p50'])} / {_fmt(fin['p95'])} "
            f"| {_pct(rev['rate'])} % ({rev['revised']}/{rev['partial_words']}) "
            f"| {_pct(wer['stream'])} "
            f"| {_pct(wer.get('offline_beam5'))} / {_pct(wer.get('offline_beam1'))} "
            f"| {_fmt(wer.get('delta_pts_vs_beam5'), 1)} "
            f"/ {_fmt(wer.get('delta_pts_vs_beam1'), 1)} "
            f"| {_fmt(s['node_cpu_s_per_audio_s'], 3)} | {_fmt(s['node_peak_rss_mib'], 0)} "
            f"| {s['kept_up']}/{s['stream_runs']} |"
        )
    if delta := wer_vs_offline(report["levels"]):
        lines += ["", delta + "."]
    targets = report.get("targets")
    if targets:
        lines += ["", "## Targets (N = 1)", "", "| target | value | pass |", "|---|---|---|"]
        for t in targets:
            lines.append(f"| {t['name']} | {_fmt(t['value'])} | {_verdict(t['pass'])} |")
    if report["offline"]:
        lines += [
            "",
            "## Offline faster-whisper (bench process, not concurrent with streaming)",
            "",
            "| decoding | WER % | real-time factor (wall) | CPU s / audio s |",
            "|---|---|---|---|",
        ]
        for o in report["offline"]:
            lines.append(
                f"| beam {o['beam_size']} | {_pct(o['wer'])}{decodes_note(o)} | {o['rtf']:.3f} "
                f"| {o['cpu_s_per_audio_s']:.3f} |"
            )
    for s in report["levels"]:
        lines += [
            "",
            f"## Per file, N = {s['streams']}",
            "",
            "| file | audio s | stream WER % | offline WER % (beam 5 / greedy) "
            "| first partial s | word lag p50 / p95 s | revised | committed revised |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for f in s["per_file"]:
            lines.append(
                f"| {f['clip']} | {f['audio_s']:.1f} | {_pct(f['stream_wer'])} "
                f"| {_pct(f.get('offline_beam5'))} / {_pct(f.get('offline_beam1'))} "
                f"| {_fmt(f['first_partial_s_p50'])} "
                f"| {_fmt(f['word_lag_s_p50'])} / {_fmt(f['word_lag_s_p95'])} "
                f"| {f['revised']}/{f['partial_words']} "
                f"| {f['committed_revised']}/{f['committed_words']} |"
            )
        extra = [
            f"word lag min {_fmt(s['word_lag_s']['min'])} s "
            f"({s['word_lag_s']['negative']} of {s['word_lag_s']['n']} negative)",
            f"summary after close p50 / max {_fmt(s['summary_latency_s']['p50'])} / "
            f"{_fmt(s['summary_latency_s']['max'])} s",
            f"sender max lateness {_fmt(s['max_send_late_s'])} s",
            f"gap between results of a segment p50 / p95 {_fmt(s['result_gap_s']['p50'])} / "
            f"{_fmt(s['result_gap_s']['p95'])} s",
            f"SpeechStarted lag p50 / max {_fmt(s['vad_onset_lag_s']['p50'])} / "
            f"{_fmt(s['vad_onset_lag_s']['max'])} s",
            f"finalisation net of {s['final_latency_s']['endpointing_s']:g} s endpointing "
            f"p50 / p95 {_fmt(s['final_latency_s']['net_of_endpointing_p50'])} / "
            f"{_fmt(s['final_latency_s']['net_of_endpointing_p95'])} s",
            f"node CPU {s['node_cpu_s']} s over {s['wall_s']} s "
            f"({s['node_cores_busy']} cores busy on average)",
            f"{s['results']} results, {s['partials']} partials",
            f"committed words later revised {_pct(s['partial_revision']['committed_rate'])} %",
        ]
        if s["errors"]:
            extra.append(f"errors: {s['errors']}")
        if s["warnings"]:
            extra.append(f"warnings: {s['warnings']}")
        lines += ["", "; ".join(extra) + "."]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], prefix: Path) -> tuple[Path, Path, str]:
    """PREFIX.json and PREFIX.md; returns their paths and the Markdown."""
    markdown = render_markdown(report)
    json_path, md_path = Path(f"{prefix}.json"), Path(f"{prefix}.md")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown)
    return json_path, md_path, markdown


def decodes_note(offline: dict[str, Any]) -> str:
    """The spread behind an offline WER decoded more than once, for the report line."""
    each = offline.get("wer_by_decode") or []
    if len(each) < 2:
        return ""
    return f" (mean of {len(each)} decodes: {' / '.join(f'{100 * w:.1f}' for w in each)} %)"


def wer_vs_offline(levels: Sequence[dict[str, Any]], beam: int = 5) -> str:
    """Each level's WER minus offline's, with its 95 % interval (bench/wer_interval.py)."""
    parts = []
    for lv in levels:
        wer = lv["wer"]
        delta, ci = wer.get(f"delta_pts_vs_beam{beam}"), wer.get(f"delta_pts_vs_beam{beam}_ci95")
        if delta is None or ci is None:
            continue
        parts.append(f"N = {lv['streams']}: {delta:+.1f} ({ci[0]:+.1f} to {ci[1]:+.1f})")
    if not parts:
        return ""
    sentences = levels[0]["wer"].get("sentences", "?")
    return (
        f"WER minus offline beam {beam}, points (95 % interval, paired bootstrap over "
        f"{sentences} reference sentences): " + "; ".join(parts)
    )
