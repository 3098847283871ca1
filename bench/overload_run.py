"""Two runs beside the ladder: an upload on an idle node, and more live streams than fit.

Upload: the file in batch mode (`stenograph stream --fast`), sent as fast as the node takes
it; timed from the first audio sent to the stream's summary, against offline faster-whisper
(beam 5, same model, 2 threads) on the same file. The two take turns, `UPLOAD_ROUNDS` times,
and are compared by their medians: on a 2-core VM one run of either varies by ±20 % from the
next (1.5–2.0 s for offline on the stand-up in one session), as much as the difference.

Overload: `attempts` real-time streams connect `STAGGER_S` apart to a node with admission
control on. Refused streams must be refused at connect with RESOURCE_EXHAUSTED; admitted ones
must keep their latency and accuracy; the node must still be ready afterwards.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import urllib.request
from typing import Any

from node_process import RunningNode
from offline_baseline import load_offline_model, run_offline
from scoring import percentile, score_wer, stream_metrics
from speech_set import RATE, Clip
from stenograph.client import streaming_config
from stream_client import opener_for, run_stream

STAGGER_S = 0.5
KEEP_UP_S = 3.0
UPLOAD_ROUNDS = 3


async def upload_once(node: RunningNode, clip: Clip) -> tuple[float, str]:
    """Seconds from the first audio sent to the summary, and the finals' text."""
    config = streaming_config(
        meeting_id="bench-upload", participant_id="upload", batch=True, interim_results=False
    )
    finals: list[str] = []
    started = time.monotonic()
    async with opener_for("grpc", node)(config) as stream:

        async def send() -> None:
            step = RATE * 2  # one second of LINEAR16 per message
            for offset in range(0, len(clip.pcm), step):
                await stream.send_audio(clip.pcm[offset : offset + step])
            await stream.close_stream()

        async with asyncio.TaskGroup() as tg:
            tg.create_task(send())
            async for response in stream:
                if response.WhichOneof("response") == "result" and response.result.is_final:
                    finals.append(response.result.text)
    return time.monotonic() - started, " ".join(finals)


async def run_upload(node: RunningNode, clip: Clip, threads: int = 2) -> dict[str, Any]:
    uploads: list[float] = []
    offlines: list[float] = []
    text = offline_text = ""
    model = await asyncio.to_thread(load_offline_model, threads)
    for _ in range(UPLOAD_ROUNDS):
        # The node is idle while offline runs here, and this process idle during the upload.
        (beam5,) = await asyncio.to_thread(run_offline, [clip], [5], threads, model=model)
        offlines.append(beam5.seconds[clip.name])
        offline_text = beam5.texts[clip.name]
        seconds, text = await upload_once(node, clip)
        uploads.append(seconds)
    upload_s, offline_s = statistics.median(uploads), statistics.median(offlines)
    return {
        "file": clip.name,
        "audio_s": clip.duration_s,
        "rounds": UPLOAD_ROUNDS,
        "stenograph_runs_s": [round(x, 3) for x in uploads],
        "offline_runs_s": [round(x, 3) for x in offlines],
        "stenograph_s": upload_s,
        "stenograph_speed": clip.duration_s / upload_s,
        "stenograph_wer": score_wer([clip.reference], [text]).wer,
        "offline_s": offline_s,
        "offline_speed": clip.duration_s / offline_s,
        "offline_wer": score_wer([clip.reference], [offline_text]).wer,
        # > 1: the upload finished sooner than offline faster-whisper on the same file.
        "ratio": offline_s / upload_s,
    }


def _ready(node: RunningNode) -> int:
    try:
        with urllib.request.urlopen(f"{node.http_url}/readyz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


async def run_overload(node: RunningNode, clip: Clip, attempts: int) -> dict[str, Any]:
    opener = opener_for("grpc", node)
    t0 = time.monotonic() + 1.0

    async def attempt(k: int) -> Any:
        return await run_stream(
            opener,
            clip,
            worker=k,
            start_at=t0 + k * STAGGER_S,
            chunk_s=0.1,
            tail_s=1.5,
            meeting=f"overload-{k}",
        )

    async def staggered(k: int) -> Any:
        await asyncio.sleep(max(0.0, t0 + k * STAGGER_S - time.monotonic()))
        return await attempt(k)

    runs = await asyncio.gather(*(staggered(k) for k in range(attempts)))
    refused = [r for r in runs if r.error and not r.results and "RESOURCE_EXHAUSTED" in r.error]
    admitted = [r for r in runs if r not in refused and r.error is None]
    failed = [r for r in runs if r not in refused and r not in admitted]
    metrics = [stream_metrics(r, KEEP_UP_S) for r in admitted]
    lags = [x for m in metrics for x in m.word_lags_s]
    return {
        "attempts": attempts,
        "stagger_s": STAGGER_S,
        "admitted": len(admitted),
        "refused": len(refused),
        "refusal_codes": sorted({r.error.split(":")[0] for r in refused if r.error}),
        "refusal_messages": sorted({r.error for r in refused if r.error})[:3],
        "failed": len(failed),
        "failures": [r.error for r in failed][:5],
        "word_lag_p50": percentile(lags, 50),
        "word_lag_p95": percentile(lags, 95),
        "wer": score_wer([r.clip.reference for r in admitted], [r.final_text for r in admitted]).wer
        if admitted
        else None,
        "kept_up": sum(m.kept_up for m in metrics),
        "ready_after": await asyncio.to_thread(_ready, node),
    }
