"""Live captions end to end: what a meeting app can rely on when it talks to a running node.

Every test drives the real `stenograph up` node of conftest (`node`) over real sockets with
real speech: audio is paced like a microphone (or sent as fast as the node takes it, in batch
mode), captions are read as they arrive, and what reached Kafka is read back with an independent
client (confluent-kafka).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import grpc
import httpx
import pytest
import pytest_asyncio
from conftest import RunningNode
from google.protobuf import descriptor_pb2, json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from kafka_broker import read_topic
from prometheus_client.parser import text_string_to_metric_families
from stenograph.client import (
    GrpcTranscriptionClient,
    TranscriptionError,
    TranscriptionStream,
    WebSocketTranscriptionClient,
    streaming_config,
)
from stenograph.v1 import transcription_pb2 as pb
from stenograph.v1.events_pb2 import MeetingEvent, TranscriptEvent
from support_audio import espeak_wav, normalise, wer
from websockets.asyncio.client import connect

from server.file_streamer import decode_file

Transport = Literal["grpc", "ws"]

RATE = 16_000
BYTES_PER_S = 2 * RATE
CHUNK_S = 0.1
CHUNK_BYTES = int(CHUNK_S * BYTES_PER_S)

JFK = "audio/jfk.flac"
LIBRI = "wav16k/librispeech_dev-clean_2412-153948-0000.wav"
SERVICE = "stenograph.v1.Transcription"
TRANSCRIPTS = "stenograph.transcripts.v1"
PARTIALS = "stenograph.partials.v1"
MEETINGS = "stenograph.meetings.v1"

MAX_WER = 0.10
#: JFK live: its first two utterances last 2 s each, and tiny.en's decode of a segment that
#: short moves by a word with the CPU's int8 kernels ("And so am I fellow" / "asked not"):
#: the same commit scored 2 errors in 22 words on one 2-core machine and 3 on another. Stream
#: accuracy is measured over 330+ words by bench/ladder_bench.py; here at most 3 of 22.
MAX_LIVE_JFK_WER = 0.14
#: The first partial should come ~1.5 s after speech starts; generous for a shared 2-core box.
MAX_FIRST_PARTIAL_LATENCY_S = 3.0
#: Word timestamps from Whisper jitter; spans are compared with this slack.
TIME_SLACK_S = 0.3
STREAM_TIMEOUT_S = 120.0


# --- helpers -------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def reference(speech: Path, audio: str) -> str:
    return (speech / "refs" / f"{Path(audio).stem}.txt").read_text().strip()


def manifest_duration(speech: Path, audio: str) -> float:
    for line in (speech / "MANIFEST.tsv").read_text().splitlines()[1:]:
        name, duration, *_ = line.split("\t")
        if name == audio:
            return float(duration)
    raise KeyError(audio)


def seconds(d: Any) -> float:
    """A google.protobuf.Duration as float seconds."""
    return float(d.ToTimedelta().total_seconds())


def open_client(
    node: RunningNode, transport: Transport
) -> GrpcTranscriptionClient | WebSocketTranscriptionClient:
    if transport == "grpc":
        return GrpcTranscriptionClient(node.grpc_target)
    return WebSocketTranscriptionClient(node.ws_url)


def config(meeting_id: str, *, batch: bool = False) -> pb.StreamingConfig:
    return streaming_config(
        meeting_id=meeting_id, participant_id="ada", display_name="Ada Lovelace", batch=batch
    )


async def send_pcm(
    stream: TranscriptionStream,
    pcm: bytes,
    *,
    paced_from: float | None,
    offset_s: float = 0.0,
    lead_s: float = 0.0,
) -> None:
    """Send `pcm` in 100 ms chunks; paced like a microphone when `paced_from` is a start time.

    `offset_s` is where `pcm` starts in the stream; a paced chunk is sent at most `lead_s`
    before its real-time moment.
    """
    for i, at in enumerate(range(0, len(pcm), CHUNK_BYTES)):
        if paced_from is not None:
            due = paced_from + offset_s + i * CHUNK_S - lead_s
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        await stream.send_audio(pcm[at : at + CHUNK_BYTES])


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float  # time.monotonic() when the client read it
    response: pb.StreamingRecognizeResponse

    @property
    def kind(self) -> str:
        return self.response.WhichOneof("response") or ""


@dataclass(slots=True)
class StreamRun:
    """Everything one stream sent back, in order, with arrival times."""

    meeting_id: str
    audio_start: float  # time.monotonic() when the first audio chunk was sent
    arrivals: list[Arrival]

    @property
    def kinds(self) -> list[str]:
        return [a.kind for a in self.arrivals]

    @property
    def results(self) -> list[pb.SpeechRecognitionResult]:
        return [a.response.result for a in self.arrivals if a.kind == "result"]

    @property
    def finals(self) -> list[pb.SpeechRecognitionResult]:
        return [r for r in self.results if r.is_final]

    @property
    def partials(self) -> list[pb.SpeechRecognitionResult]:
        return [r for r in self.results if not r.is_final]

    @property
    def transcript(self) -> str:
        return " ".join(r.text for r in self.finals if r.text)

    @property
    def metadata(self) -> pb.StreamMetadata:
        assert self.kinds[:1] == ["metadata"], f"first response is not metadata: {self.kinds}"
        return self.arrivals[0].response.metadata

    @property
    def summary(self) -> pb.StreamSummary:
        assert self.kinds[-1:] == ["summary"], f"last response is not the summary: {self.kinds}"
        return self.arrivals[-1].response.summary


async def stream_file(
    node: RunningNode,
    transport: Transport,
    pcm: bytes,
    *,
    meeting_id: str,
    batch: bool = False,
    realtime: bool = True,
) -> StreamRun:
    """Stream `pcm`, then CloseStream; read every response until the stream ends."""
    arrivals: list[Arrival] = []
    async with asyncio.timeout(STREAM_TIMEOUT_S), open_client(node, transport) as client:
        stream = await client.stream(config(meeting_id, batch=batch))
        async with stream:
            start = time.monotonic()

            async def send() -> None:
                await send_pcm(stream, pcm, paced_from=start if realtime else None)
                await stream.close_stream()

            sender = asyncio.create_task(send())
            try:
                async for response in stream:
                    arrivals.append(Arrival(time.monotonic(), response))
                await sender
            finally:
                sender.cancel()
    return StreamRun(meeting_id, start, arrivals)


async def stream_then_vanish(
    node: RunningNode, transport: Transport, pcm: bytes, *, meeting_id: str, vanish_after_s: float
) -> StreamRun:
    """Stream like a microphone, then drop the connection without CloseStream."""
    arrivals: list[Arrival] = []
    async with asyncio.timeout(STREAM_TIMEOUT_S), open_client(node, transport) as client:
        stream = await client.stream(config(meeting_id))

        async def read() -> None:
            try:
                async for response in stream:
                    arrivals.append(Arrival(time.monotonic(), response))
            except TranscriptionError:
                pass  # the connection we dropped

        reader = asyncio.create_task(read())
        start = time.monotonic()
        await send_pcm(stream, pcm[: round(vanish_after_s * RATE) * 2], paced_from=start)
        await stream.aclose()
        reader.cancel()
        await asyncio.wait({reader})
        return StreamRun(meeting_id, start, arrivals)


def assert_caption_invariants(run: StreamRun) -> None:
    """What every stream's results promise, whatever the transport and pace."""
    results = run.results
    assert results, f"no results at all: {run.kinds}"
    seqs = [r.seq for r in results]
    assert all(a < b for a, b in zip(seqs, seqs[1:], strict=False)), f"seq not increasing: {seqs}"

    # Segments follow one another: a segment's results are contiguous and end with its final,
    # which is the last word on it.
    order: list[str] = []
    for r in results:
        if not order or order[-1] != r.segment_id:
            assert r.segment_id not in order, (
                f"segment {r.segment_id} came back after another segment started: "
                f"{[(x.segment_id, x.is_final, x.text) for x in results]}"
            )
            order.append(r.segment_id)
    finalised: set[str] = set()
    for r in results:
        assert r.segment_id not in finalised, (
            f"result seq {r.seq} for segment {r.segment_id} after its final: {r.text!r}"
        )
        if r.is_final:
            finalised.add(r.segment_id)
    open_segments = [s for s in order if s not in finalised]
    assert not open_segments, f"segments without a final at the end: {open_segments}"

    # Each result is one segment's full text, backed by its words (word_timestamps is on).
    final_by_segment = {r.segment_id: r for r in run.finals}
    previous_end = 0.0
    for segment in order:
        final = final_by_segment[segment]
        for r in (x for x in results if x.segment_id == segment):
            assert r.participant.id == "ada" and r.participant.display_name == "Ada Lovelace"
            assert r.text == " ".join(w.word for w in r.words), f"text is not its words: {r}"
            assert 0.0 <= r.stability <= 1.0
            assert seconds(r.start) <= seconds(r.end)
            for w in r.words:
                assert seconds(r.start) - 0.01 <= seconds(w.start) <= seconds(w.end)
                assert seconds(w.end) <= seconds(r.end) + 0.01
            if r.words:
                # Not a delta: it starts where its segment starts ...
                assert seconds(r.start) <= seconds(final.start) + 1.0, (
                    f"partial {r.text!r} starts at {seconds(r.start)}, its final at "
                    f"{seconds(final.start)}: not the segment's full text"
                )
                # ... and it carries no text of the segments before it.
                assert seconds(r.start) >= previous_end - TIME_SLACK_S, (
                    f"{r.text!r} starts at {seconds(r.start)}, before the previous final "
                    f"ended ({previous_end})"
                )
        if final.words:
            previous_end = seconds(final.end)
        assert final.stability == pytest.approx(1.0)


def records_for(
    bootstrap: str, topic: str, key: str, *, expected: int, timeout_s: float = 30.0
) -> list[Any]:
    """The records of `topic` keyed `key`, once at least `expected` of them have landed."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_topic(bootstrap, topic, min_records=1, timeout_s=10.0)
        mine = [r for r in records if r.key() == key.encode()]
        if len(mine) >= expected or time.monotonic() > deadline:
            assert len(mine) >= expected, (
                f"{topic}: {len(mine)} records keyed {key} within {timeout_s}s, expected {expected}"
            )
            return mine


def transcript_events(
    records: Sequence[Any], schema: str = "stenograph.v1.TranscriptEvent"
) -> list[TranscriptEvent]:
    events: list[TranscriptEvent] = []
    for record in records:
        headers = dict(record.headers() or [])
        assert headers.get("content-type") == b"application/json", headers
        assert headers.get("schema") == schema.encode(), headers
        # Strict parse: the value is exactly the proto JSON mapping of a TranscriptEvent.
        events.append(json_format.Parse(record.value(), TranscriptEvent()))
    return events


def meeting_events(records: Sequence[Any]) -> list[MeetingEvent]:
    events: list[MeetingEvent] = []
    for record in records:
        headers = dict(record.headers() or [])
        assert headers.get("content-type") == b"application/json", headers
        assert headers.get("schema") == b"stenograph.v1.MeetingEvent", headers
        events.append(json_format.Parse(record.value(), MeetingEvent()))
    return events


async def readiness(node: RunningNode) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10.0) as http:
        return await http.get(f"{node.http_url}/readyz")


async def wait_until_idle(node: RunningNode, timeout_s: float = 30.0) -> None:
    """Wait until the node serves no stream (earlier streams have released their slots)."""
    async with asyncio.timeout(timeout_s):
        while True:
            response = await readiness(node)
            if response.status_code == 200 and response.json()["streams"] == 0:
                return
            await asyncio.sleep(0.1)


# --- one live gRPC stream of JFK, shared by the specs that read it -------------------------


@pytest_asyncio.fixture(scope="module")
async def jfk_live(node: RunningNode, speech: Path) -> StreamRun:
    """JFK over gRPC at real time (100 ms LINEAR16 chunks), then CloseStream."""
    return await stream_file(node, "grpc", decode_file(speech / JFK), meeting_id=unique("jfk-live"))


async def test_grpc_stream_opens_with_metadata_and_ends_with_summary(
    jfk_live: StreamRun, speech: Path
) -> None:
    metadata = jfk_live.metadata
    assert metadata.meeting_id == jfk_live.meeting_id
    assert metadata.participant.id == "ada"
    assert metadata.participant.display_name == "Ada Lovelace"
    assert metadata.request_id and metadata.model
    assert metadata.sample_rate == RATE

    summary = jfk_live.summary
    assert jfk_live.kinds.count("metadata") == 1 and jfk_live.kinds.count("summary") == 1
    duration = manifest_duration(speech, JFK)
    assert seconds(summary.audio_received) == pytest.approx(duration, abs=0.05)
    assert seconds(summary.audio_processed) == pytest.approx(duration, abs=0.05)
    assert summary.finals == len(jfk_live.finals)
    assert summary.segments == len({r.segment_id for r in jfk_live.results})
    assert "error" not in jfk_live.kinds and "warning" not in jfk_live.kinds


async def test_grpc_partials_come_first_and_finals_never_change(jfk_live: StreamRun) -> None:
    assert jfk_live.partials, "a live stream shows partial captions"
    assert not jfk_live.results[0].is_final, "the first caption is a partial, not a final"
    assert len(jfk_live.finals) >= 2, f"JFK has several utterances: {jfk_live.transcript!r}"
    assert_caption_invariants(jfk_live)


async def test_grpc_speech_events_frame_the_captions(jfk_live: StreamRun, speech: Path) -> None:
    kinds = jfk_live.kinds
    assert "speech_started" in kinds
    assert kinds.index("speech_started") < kinds.index("result"), kinds
    duration = manifest_duration(speech, JFK)
    for i, arrival in enumerate(jfk_live.arrivals):
        response = arrival.response
        if arrival.kind == "speech_started":
            assert 0.0 <= seconds(response.speech_started.timestamp) < duration
        if arrival.kind == "utterance_end":
            # It closes an utterance whose final was just sent, at that final's last word.
            before = jfk_live.arrivals[i - 1].response
            assert before.WhichOneof("response") == "result", kinds[: i + 1]
            assert before.result.is_final and before.result.speech_final
            assert seconds(response.utterance_end.last_word_end) == pytest.approx(
                seconds(before.result.end), abs=0.01
            )


async def test_grpc_finals_transcribe_jfk(jfk_live: StreamRun, speech: Path) -> None:
    error = wer(reference(speech, JFK), jfk_live.transcript)
    print(f"JFK over gRPC at real time: WER {error:.3f}")
    assert error < MAX_LIVE_JFK_WER, f"WER {error:.3f} for {jfk_live.transcript!r}"


async def test_grpc_first_partial_follows_speech_quickly(jfk_live: StreamRun) -> None:
    started = next(a for a in jfk_live.arrivals if a.kind == "speech_started")
    first_partial = next(
        a for a in jfk_live.arrivals if a.kind == "result" and not a.response.result.is_final
    )
    # The audio at the speech onset left the client this long after the first chunk.
    onset_sent = jfk_live.audio_start + seconds(started.response.speech_started.timestamp)
    latency = first_partial.at - onset_sent
    print(f"first partial {latency:.2f} s after speech start")
    assert latency < MAX_FIRST_PARTIAL_LATENCY_S, (
        f"first partial arrived {latency:.2f} s after speech started "
        f"(expected ~1.5 s, limit {MAX_FIRST_PARTIAL_LATENCY_S} s)"
    )


# --- Kafka: what other services of the meeting read -------------------------------------------


async def test_finals_are_published_keyed_by_meeting(
    jfk_live: StreamRun, node: RunningNode
) -> None:
    finals = jfk_live.finals
    records = await asyncio.to_thread(
        records_for, node.kafka_bootstrap, TRANSCRIPTS, jfk_live.meeting_id, expected=len(finals)
    )
    events = transcript_events(records)
    assert [(e.segment_id, e.seq, e.text) for e in events] == [
        (r.segment_id, r.seq, r.text) for r in finals
    ]
    metadata = jfk_live.metadata
    for event, final in zip(events, finals, strict=True):
        assert event.is_final and event.speech_final == final.speech_final
        assert event.meeting_id == jfk_live.meeting_id
        assert event.stream_id == metadata.request_id
        assert event.participant.id == "ada"
        assert event.model == metadata.model and event.node
        assert (event.start, event.end) == (final.start, final.end)
        assert [w.word for w in event.words] == [w.word for w in final.words]
        assert event.HasField("emitted_at") and event.HasField("stream_started_at")


async def test_partials_are_published_to_their_own_topic(
    jfk_live: StreamRun, node: RunningNode
) -> None:
    partials = jfk_live.partials
    records = await asyncio.to_thread(
        records_for, node.kafka_bootstrap, PARTIALS, jfk_live.meeting_id, expected=len(partials)
    )
    events = transcript_events(records)
    assert [(e.segment_id, e.seq, e.text, e.is_final) for e in events] == [
        (r.segment_id, r.seq, r.text, False) for r in partials
    ]


async def test_stream_start_and_end_are_published(
    jfk_live: StreamRun, node: RunningNode, speech: Path
) -> None:
    records = await asyncio.to_thread(
        records_for, node.kafka_bootstrap, MEETINGS, jfk_live.meeting_id, expected=2
    )
    events = meeting_events(records)
    assert [e.kind for e in events] == [
        MeetingEvent.KIND_STREAM_STARTED,
        MeetingEvent.KIND_STREAM_ENDED,
    ]
    started, ended = events
    for event in events:
        assert event.meeting_id == jfk_live.meeting_id
        assert event.stream_id == jfk_live.metadata.request_id
        assert event.participant.display_name == "Ada Lovelace"
    assert ended.end_reason == "closed"
    assert ended.finals == jfk_live.summary.finals == len(jfk_live.finals)
    assert ended.segments == jfk_live.summary.segments
    assert seconds(ended.audio_received) == pytest.approx(manifest_duration(speech, JFK), abs=0.05)
    assert started.emitted_at.ToNanoseconds() <= ended.emitted_at.ToNanoseconds()


# --- WebSocket ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module")
async def libri_ws_batch(node: RunningNode, speech: Path) -> StreamRun:
    """LibriSpeech over WebSocket in batch mode: sent as fast as the node accepts it."""
    return await stream_file(
        node,
        "ws",
        decode_file(speech / LIBRI),
        meeting_id=unique("libri-ws"),
        batch=True,
        realtime=False,
    )


async def test_websocket_batch_stream_transcribes_librispeech(
    libri_ws_batch: StreamRun, speech: Path
) -> None:
    run = libri_ws_batch
    assert run.metadata.meeting_id == run.meeting_id
    error = wer(reference(speech, LIBRI), run.transcript)
    print(f"LibriSpeech over WebSocket in batch mode: WER {error:.3f}")
    assert error < MAX_WER, f"WER {error:.3f} for {run.transcript!r}"
    assert_caption_invariants(run)
    assert seconds(run.summary.audio_received) == pytest.approx(
        manifest_duration(speech, LIBRI), abs=0.05
    )
    assert run.summary.finals == len(run.finals)
    assert "warning" not in run.kinds, "batch mode is never 'ahead of real time'"


async def test_numbers_and_hyphenated_words_are_captioned_as_written(
    node: RunningNode, tmp_path: Path
) -> None:
    # Whisper writes "$12,000" and "10%"; its word timestamps split them at the punctuation.
    said = "We will spend twelve thousand dollars on ads, ten percent over a so-called budget."
    pcm = decode_file(espeak_wav(said, tmp_path / "numbers.wav"))
    run = await stream_file(node, "grpc", pcm, meeting_id=unique("numbers"), realtime=False)
    text = run.transcript
    assert "12,000" in text, text
    assert not re.search(r"\s[,.%]|\s-\w", text), f"a word split at its punctuation: {text!r}"
    words = [w.word for r in run.finals for w in r.words]
    assert " ".join(words) == text, "a final's words spell its text"
    assert any("12,000" in w for w in words), words


def whisper_passes(node: RunningNode, priority: str) -> float:
    """Whisper passes the node has run for `priority` (each waited in its queue once)."""
    text = httpx.get(f"{node.http_url}/metrics", timeout=10.0).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "stenograph_inference_queue_wait_seconds_count"
        and s.labels.get("priority") == priority
    )


async def test_a_recording_is_decoded_in_windows_of_utterances_like_offline_whisper(
    node: RunningNode, speech: Path
) -> None:
    """Batch mode: no partials; JFK's utterances are decoded together in one window, and each
    still gets its SpeechStarted, final and UtteranceEnd, in order."""
    before = {p: whisper_passes(node, p) for p in ("bulk_final", "bulk_partial")}
    run = await stream_file(
        node,
        "grpc",
        decode_file(speech / JFK),
        meeting_id=unique("jfk-rec"),
        batch=True,
        realtime=False,
    )
    after = {p: whisper_passes(node, p) for p in ("bulk_final", "bulk_partial")}
    error = wer(reference(speech, JFK), run.transcript)
    print(f"JFK as a recording: WER {error:.3f}, finals {[f.text for f in run.finals]}")
    assert error < MAX_WER, run.transcript
    assert not run.partials
    events = [k for k in run.kinds if k in ("speech_started", "result", "utterance_end")]
    utterances = events.count("speech_started")
    assert utterances >= 2, events  # JFK pauses after "Americans" and after "you"
    expected = ["speech_started", "result", "utterance_end"] * utterances
    if not run.finals[-1].speech_final:
        expected.pop()  # ended by CloseStream, not by a pause: no UtteranceEnd (as in live mode)
    assert events == expected, events
    assert after["bulk_final"] - before["bulk_final"] == 1, (before, after)
    assert after["bulk_partial"] == before["bulk_partial"]
    assert_caption_invariants(run)


RESULT_KEYS = {
    "type",
    "segment_id",
    "seq",
    "is_final",
    "speech_final",
    "stability",
    "start",
    "end",
    "text",
    "words",
    "participant",
}
FRAME_KEYS = {
    "Metadata": {"type", "request_id", "meeting_id", "participant", "model", "sample_rate"},
    "Results": RESULT_KEYS,
    "SpeechStarted": {"type", "timestamp"},
    "UtteranceEnd": {"type", "last_word_end"},
    "Summary": {"type", "audio_received", "audio_processed", "segments", "finals"},
}


async def test_websocket_frames_are_documented_json(node: RunningNode, speech: Path) -> None:
    """A client in any language: query parameters in, JSON text frames out, close 1000."""
    meeting = unique("raw-ws")
    query = urlencode(
        {
            "meeting": meeting,
            "participant": "grace",
            "participant_name": "Grace Hopper",
            "encoding": "linear16",
            "sample_rate": "16000",
            "mode": "batch",
        }
    )
    pcm = decode_file(speech / JFK)[: 3 * BYTES_PER_S]  # "And so my fellow Americans"
    frames: list[dict[str, Any]] = []
    async with (
        asyncio.timeout(STREAM_TIMEOUT_S),
        connect(f"{node.ws_url}/v1/stream?{query}") as ws,
    ):
        for at in range(0, len(pcm), CHUNK_BYTES):
            await ws.send(pcm[at : at + CHUNK_BYTES])
        await ws.send(json.dumps({"type": "CloseStream"}))
        async for message in ws:
            assert isinstance(message, str), f"binary frame from the server: {message!r}"
            frames.append(json.loads(message))
    assert ws.close_code == 1000, (ws.close_code, ws.close_reason)

    types = [f["type"] for f in frames]
    assert types[0] == "Metadata" and types[-1] == "Summary", types
    assert set(types) <= set(FRAME_KEYS), types
    for frame in frames:
        assert set(frame) == FRAME_KEYS[frame["type"]], frame
    assert frames[0]["meeting_id"] == meeting
    assert frames[0]["participant"] == {"id": "grace", "display_name": "Grace Hopper"}

    results = [f for f in frames if f["type"] == "Results"]
    assert any(r["is_final"] for r in results), types
    for r in results:
        assert isinstance(r["segment_id"], str) and isinstance(r["seq"], int)
        assert isinstance(r["is_final"], bool) and isinstance(r["speech_final"], bool)
        assert isinstance(r["text"], str) and isinstance(r["stability"], int | float)
        # Durations are plain numbers of seconds.
        assert isinstance(r["start"], int | float) and isinstance(r["end"], int | float)
        assert r["participant"] == {"id": "grace", "display_name": "Grace Hopper"}
        assert r["words"], r
        for word in r["words"]:
            assert set(word) == {"word", "start", "end", "confidence"}, word
            assert isinstance(word["start"], int | float) and 0.0 <= word["confidence"] <= 1.0
    final_text = " ".join(r["text"] for r in results if r["is_final"])
    assert wer("and so my fellow americans", final_text) <= 0.4, final_text
    summary = frames[-1]
    assert summary["audio_received"] == pytest.approx(3.0, abs=0.01)
    assert summary["finals"] == sum(1 for r in results if r["is_final"])


# --- Finalize ---------------------------------------------------------------------------------


class Responses:
    """Reads a stream in the background so a test can wait for a response while it sends."""

    def __init__(self, stream: TranscriptionStream) -> None:
        self.stream = stream
        self.arrivals: list[Arrival] = []
        self._changed = asyncio.Condition()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for response in self.stream:
            async with self._changed:
                self.arrivals.append(Arrival(time.monotonic(), response))
                self._changed.notify_all()

    def _final(self, predicate: Callable[[pb.SpeechRecognitionResult], bool]) -> Any:
        for arrival in self.arrivals:
            result = arrival.response.result
            if arrival.kind == "result" and result.is_final and predicate(result):
                return result
        return None

    async def final_matching(
        self,
        predicate: Callable[[pb.SpeechRecognitionResult], bool],
        *,
        keep_alive_every_s: float = 1.0,
    ) -> pb.SpeechRecognitionResult:
        """Wait for a final result matching `predicate`, sending only KeepAlive meanwhile."""
        async with self._changed:
            while (found := self._final(predicate)) is None:
                if self.task.done():
                    self.task.result()  # the stream failed: raise why
                    raise AssertionError(f"stream ended without that final: {self.arrivals}")
                try:
                    await asyncio.wait_for(self._changed.wait(), keep_alive_every_s)
                except TimeoutError:
                    await self.stream.keep_alive()
        assert isinstance(found, pb.SpeechRecognitionResult)
        return found


async def test_finalize_flushes_the_open_utterance_before_more_audio(
    node: RunningNode, speech: Path
) -> None:
    """Push-to-talk: Finalize turns what was said into a final now, not after the silence."""
    pcm = decode_file(speech / JFK)
    cut_s = 4.5  # "... Ask not" has been said; the silence that would end it has not yet come
    cut = round(cut_s * RATE) * 2
    meeting = unique("finalize")
    async with (
        asyncio.timeout(STREAM_TIMEOUT_S),
        GrpcTranscriptionClient(node.grpc_target) as client,
    ):
        stream = await client.stream(config(meeting))
        async with stream:
            responses = Responses(stream)
            start = time.monotonic()
            await send_pcm(stream, pcm[:cut], paced_from=None)
            await stream.finalize()
            # The final that Finalize produced: the endpointer did not end this utterance.
            flushed = await responses.final_matching(lambda r: not r.speech_final)
            finals_before_more_audio = [
                a.response.result
                for a in responses.arrivals
                if a.kind == "result" and a.response.result.is_final
            ]

            # The rest of the speech, at most 4 s ahead of real time, then CloseStream.
            await send_pcm(stream, pcm[cut:], paced_from=start, offset_s=cut_s, lead_s=4.0)
            await stream.close_stream()
            await responses.task
    run = StreamRun(meeting, start, responses.arrivals)

    assert wer("ask not", flushed.text) <= 0.5, flushed.text
    for final in finals_before_more_audio:
        assert seconds(final.end) <= cut_s + 0.05, f"{final.text!r} is beyond the audio sent"
    later = [r for r in run.finals if r.seq > flushed.seq]
    assert later, f"CloseStream flushed nothing of the rest: {run.transcript!r}"
    for final in later:
        assert seconds(final.start) >= cut_s - 0.05, f"{final.text!r} re-finalises old audio"
    assert_caption_invariants(run)
    error = wer(reference(speech, JFK), run.transcript)
    assert error < MAX_WER, f"WER {error:.3f} for {run.transcript!r}"
    assert run.summary.finals == len(run.finals)
    assert "warning" not in run.kinds


async def test_finalize_mid_word_still_finalizes_the_audio_sent(
    node: RunningNode, speech: Path
) -> None:
    """Even when the last partial pass showed nothing, Finalize must not drop the audio."""
    pcm = decode_file(speech / JFK)
    cut_s = 4.0  # inside "Ask not" (3.0-4.3 s)
    meeting = unique("finalize-mid-word")
    async with (
        asyncio.timeout(STREAM_TIMEOUT_S),
        GrpcTranscriptionClient(node.grpc_target) as client,
    ):
        stream = await client.stream(config(meeting))
        async with stream:
            responses = Responses(stream)
            await send_pcm(stream, pcm[: round(cut_s * RATE) * 2], paced_from=None)
            await stream.finalize()
            flushed = await responses.final_matching(lambda r: not r.speech_final)
            await stream.close_stream()
            await responses.task
    run = StreamRun(meeting, 0.0, responses.arrivals)
    first = run.finals[0]
    assert first.speech_final and "fellow" in normalise(first.text), first
    assert flushed.segment_id != first.segment_id, "Finalize re-sent the first utterance"
    assert flushed.text, "Finalize sent an empty final for audio with speech in it"
    assert seconds(flushed.end) <= cut_s + 0.05, flushed
    assert "fellow" not in normalise(flushed.text), flushed.text
    assert run.summary.finals == len(run.finals)


# --- isolation ---------------------------------------------------------------------------------


async def test_streams_stay_correct_while_other_clients_vanish(
    node: RunningNode, speech: Path
) -> None:
    """Two meetings stream at real time while two other clients drop mid-utterance."""
    await wait_until_idle(node)
    jfk, libri = decode_file(speech / JFK), decode_file(speech / LIBRI)
    libri_words = normalise(reference(speech, LIBRI)).split()
    async with asyncio.timeout(STREAM_TIMEOUT_S):
        jfk_run, libri_run, ws_gone, grpc_gone = await asyncio.gather(
            stream_file(node, "grpc", jfk, meeting_id=unique("iso-jfk")),
            stream_file(node, "ws", libri, meeting_id=unique("iso-libri")),
            stream_then_vanish(
                node, "ws", libri, meeting_id=unique("iso-ws-gone"), vanish_after_s=3.0
            ),
            stream_then_vanish(
                node, "grpc", libri, meeting_id=unique("iso-grpc-gone"), vanish_after_s=4.0
            ),
        )

    for run, audio in ((jfk_run, JFK), (libri_run, LIBRI)):
        error = wer(reference(speech, audio), run.transcript)
        print(f"{audio} beside vanishing clients: WER {error:.3f}")
        limit = MAX_LIVE_JFK_WER if audio == JFK else MAX_WER
        assert error < limit, f"{audio}: WER {error:.3f} for {run.transcript!r}"
        assert_caption_invariants(run)
        assert run.summary.finals == len(run.finals)

    for gone, after_s in ((ws_gone, 3.0), (grpc_gone, 4.0)):
        # It vanished mid-utterance: speech had started, no final had been sent yet.
        assert "speech_started" in gone.kinds and not gone.finals, gone.kinds
        meeting_records = await asyncio.to_thread(
            records_for, node.kafka_bootstrap, MEETINGS, gone.meeting_id, expected=2
        )
        ended = meeting_events(meeting_records)[-1]
        assert ended.kind == MeetingEvent.KIND_STREAM_ENDED
        assert ended.end_reason == "CANCELLED", ended
        assert seconds(ended.audio_received) == pytest.approx(after_s, abs=0.05)
        # What the client said before it vanished still reaches the meeting's transcript.
        assert ended.finals >= 1, "the audio received before the client vanished became no final"
        records = await asyncio.to_thread(
            records_for, node.kafka_bootstrap, TRANSCRIPTS, gone.meeting_id, expected=ended.finals
        )
        said = normalise(" ".join(e.text for e in transcript_events(records))).split()
        assert said, "the finals of the vanished client are empty"
        prefix = " ".join(libri_words[: len(said)])
        assert wer(prefix, " ".join(said)) <= 0.25, (prefix, said)
        assert ended.finals == len(records)

    # The node is whole again: every slot released, ready, and serving a new stream.
    await wait_until_idle(node)
    ready = await readiness(node)
    assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text
    after = await stream_file(
        node, "grpc", jfk[: 3 * BYTES_PER_S], meeting_id=unique("after"), realtime=False
    )
    assert "fellow americans" in normalise(after.transcript), after.transcript
    assert after.summary.finals == len(after.finals)


# --- health ------------------------------------------------------------------------------------


async def test_grpc_health_and_reflection(node: RunningNode) -> None:
    async with grpc.aio.insecure_channel(node.grpc_target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, service
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND

        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE),
        ]
        replies = [reply async for reply in reflection.ServerReflectionInfo(iter(requests))]
    services = {s.name for s in replies[0].list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= services, services
    files = replies[1].file_descriptor_response.file_descriptor_proto
    assert files, replies[1]
    described = descriptor_pb2.FileDescriptorProto.FromString(files[0])
    assert described.name == "stenograph/v1/transcription.proto"
    assert [s.name for s in described.service] == ["Transcription"]


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus samples by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_http_health_and_metrics(node: RunningNode, jfk_live: StreamRun) -> None:
    async with httpx.AsyncClient(base_url=node.http_url, timeout=10.0) as http:
        healthz = await http.get("/healthz")
        assert healthz.status_code == 200 and healthz.json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text

        # Kafka acknowledgements arrive after the stream ends: poll, bounded.
        async with asyncio.timeout(30):
            while True:
                metrics = await http.get("/metrics")
                assert metrics.status_code == 200
                samples = metric_samples(metrics.text)
                published = samples.get(
                    ("stenograph_kafka_records_published_total", (("topic", TRANSCRIPTS),)), 0.0
                )
                if published >= len(jfk_live.finals):
                    break
                await asyncio.sleep(0.2)
    assert ("stenograph_active_streams", ()) in samples, sorted(samples)
    # Greedy partials are counted, so a scrape every 15 s misses none.
    assert samples[("stenograph_inference_greedy_partials_total", ())] >= 0
    assert samples[("stenograph_active_streams", ())] >= 0
    # Once idle (the load window is 3 s), the node refreshes partials at their configured
    # rate and beam.
    rate_and_beam = (
        ("stenograph_partial_interval_seconds", ()),
        ("stenograph_partial_beam_size", ()),
    )
    async with httpx.AsyncClient(base_url=node.http_url, timeout=10.0) as http:
        async with asyncio.timeout(15):
            while [samples[key] for key in rate_and_beam] != [0.5, 3.0]:
                await asyncio.sleep(0.5)
                samples = metric_samples((await http.get("/metrics")).text)
