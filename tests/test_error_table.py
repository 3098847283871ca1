"""The error table: the same cause gets the same answer on both transports.

| cause                                                          | gRPC status        | WS close |
|----------------------------------------------------------------|--------------------|----------|
| malformed config, first gRPC message not a config,             | INVALID_ARGUMENT   | 4400     |
| undecodable audio, LINEAR16 frame of an odd byte count         |                    |          |
| no audio (nor KeepAlive) for idle_timeout_s                    | DEADLINE_EXCEEDED  | 1008     |
| frame over max_frame_bytes, stream over max_stream_audio_s     | OUT_OF_RANGE       | 4008     |
| node full (refused at connect), live stream too far ahead      | RESOURCE_EXHAUSTED | 1013     |
| a failure inside the node                                      | INTERNAL           | 1011     |

A node is full for a live stream when its measured load leaves no headroom for one more, when
its live streams already run behind their audio, or at `max_streams`; recordings sent in
batch mode are held to `max_streams` only.

On WebSocket an `{"type": "Error", "code": …, "message": …}` frame precedes every error close;
gRPC reports the error as the call's status only. Every stream here goes through real sockets
to a real `stenograph up` node, with the project's own client wherever it can produce the bad
input, and a raw gRPC or WebSocket client where it cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import grpc
import numpy as np
import pytest
from conftest import TEST_NODE_SETTINGS, RunningNode, start_node
from stenograph.client import (
    GrpcTranscriptionClient,
    TranscriptionError,
    TranscriptionStream,
    WebSocketTranscriptionClient,
    streaming_config,
)
from stenograph.client.wire import STATUS_BY_WS_CLOSE, WS_CLOSE_CODES
from stenograph.v1 import transcription_pb2 as pb
from stenograph.v1 import transcription_pb2_grpc as pb_grpc
from support_audio import wer
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server.file_streamer import decode_file
from streaming.errors import (
    IdleTimeout,
    InternalFailure,
    InvalidAudio,
    InvalidConfig,
    LimitExceeded,
    NodeFull,
    Overloaded,
)

Transport = Literal["grpc", "ws"]
TRANSPORTS: tuple[Transport, ...] = ("grpc", "ws")

#: The table above, written out independently of the code under test.
WS_CLOSE_FOR: dict[str, int] = {
    "INVALID_ARGUMENT": 4400,
    "DEADLINE_EXCEEDED": 1008,
    "OUT_OF_RANGE": 4008,
    "RESOURCE_EXHAUSTED": 1013,
    "INTERNAL": 1011,
}

IDLE_TIMEOUT_S = float(TEST_NODE_SETTINGS["idle_timeout_s"])  # 3 s on the shared node
MAX_STREAMS = int(TEST_NODE_SETTINGS["max_streams"])  # 4 on the shared node
DEFAULT_MAX_FRAME_BYTES = 256 * 1024
RATE = 16_000
BYTES_PER_S = 2 * RATE  # LINEAR16 mono at 16 kHz
STREAM_TIMEOUT_S = 60.0


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def garbage(n: int, seed: int = 7) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def config(**overrides: Any) -> pb.StreamingConfig:
    kwargs: dict[str, Any] = {"meeting_id": "m-errors", "participant_id": "p-1"}
    kwargs.update(overrides)
    return streaming_config(**kwargs)


@contextlib.asynccontextmanager
async def open_client(
    node: RunningNode, transport: Transport
) -> AsyncIterator[GrpcTranscriptionClient | WebSocketTranscriptionClient]:
    client: GrpcTranscriptionClient | WebSocketTranscriptionClient
    if transport == "grpc":
        client = GrpcTranscriptionClient(node.grpc_target)
    else:
        client = WebSocketTranscriptionClient(node.ws_url)
    async with client:
        yield client


@dataclass
class Outcome:
    """Everything a stream answered, and the error it ended with (None: ended cleanly)."""

    responses: list[pb.StreamingRecognizeResponse] = field(default_factory=list)
    error: TranscriptionError | None = None
    ended_at: float = 0.0  # monotonic time the stream ended; 0.0 while it is open
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Wait (no polling) until `predicate` holds after a response or the end."""
        async with self.changed:
            await self.changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def kinds(self) -> list[str]:
        return [str(r.WhichOneof("response")) for r in self.responses]

    def of(self, kind: str) -> list[pb.StreamingRecognizeResponse]:
        return [r for r in self.responses if r.WhichOneof("response") == kind]

    def final_text(self) -> str:
        return " ".join(r.result.text for r in self.of("result") if r.result.is_final)


async def drain(stream: TranscriptionStream, outcome: Outcome) -> Outcome:
    """Read responses into `outcome` until the stream ends, cleanly or with an error."""
    try:
        async for response in stream:
            outcome.responses.append(response)
            await outcome._notify()
    except TranscriptionError as e:
        outcome.error = e
    outcome.ended_at = time.monotonic()
    await outcome._notify()
    return outcome


Actions = Callable[[TranscriptionStream, Outcome], Awaitable[None]]


async def run_stream(
    node: RunningNode,
    transport: Transport,
    cfg: pb.StreamingConfig,
    actions: Actions,
    timeout_s: float = STREAM_TIMEOUT_S,
) -> Outcome:
    """Open a stream with the project's client, run `actions` while reading every response."""
    outcome = Outcome()
    async with asyncio.timeout(timeout_s), open_client(node, transport) as client:
        try:
            stream = await client.stream(cfg)
        except TranscriptionError as e:  # refused before the config could even be written
            outcome.error = e
            return outcome
        async with stream, asyncio.TaskGroup() as tg:
            tg.create_task(drain(stream, outcome))
            await actions(stream, outcome)
    return outcome


def send_then_close(*frames: bytes) -> Actions:
    async def actions(stream: TranscriptionStream, outcome: Outcome) -> None:
        for frame in frames:
            await stream.send_audio(frame)
        await stream.close_stream()

    return actions


async def send_nothing(stream: TranscriptionStream, outcome: Outcome) -> None:
    return None


def assert_stream_error(outcome: Outcome, transport: Transport, status: str) -> str:
    """The stream ended with `status` the way its transport reports it; returns the message."""
    error = outcome.error
    assert error is not None, f"expected {status}, the stream ended cleanly: {outcome.kinds()}"
    assert error.code == status, f"expected {status}, got {error.code}: {error.message}"
    assert error.message, "an error must explain itself"
    assert not outcome.of("summary"), "a stream ended by an error has no closing summary"
    if transport == "ws":
        assert error.ws_close_code == WS_CLOSE_FOR[status]
        assert outcome.responses, "no Error frame before the close"
        last = outcome.responses[-1]
        assert last.WhichOneof("response") == "error", f"last frame: {outcome.kinds()}"
        assert last.error.code == status
        assert last.error.message == error.message
    else:
        assert error.ws_close_code is None
        assert not outcome.of("error"), "gRPC reports errors as the call status, not a message"
    return error.message


def http_get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


async def readyz(node: RunningNode) -> tuple[int, dict[str, Any]]:
    return await asyncio.to_thread(http_get, f"{node.http_url}/readyz")


async def poll_readyz(
    node: RunningNode, until: Callable[[int, dict[str, Any]], bool], timeout_s: float = 30.0
) -> None:
    """Bounded poll of /readyz: a stream's slot is given back a moment after it ends."""
    async with asyncio.timeout(timeout_s):
        while True:
            status, body = await readyz(node)
            if until(status, body):
                return
            await asyncio.sleep(0.05)


async def wait_ready_and_empty(node: RunningNode) -> None:
    await poll_readyz(node, lambda status, body: status == 200 and body.get("streams") == 0)


@dataclass(frozen=True)
class SpokenClip:
    pcm: bytes  # 16 kHz 16-bit mono
    reference: str

    def frames(self) -> list[bytes]:
        """100 ms frames, as a meeting client sends them."""
        step = BYTES_PER_S // 10
        return [self.pcm[i : i + step] for i in range(0, len(self.pcm), step)]


@pytest.fixture(scope="module")
def jfk(speech: Path) -> SpokenClip:
    """JFK's 11 s of speech and its reference transcript."""
    return SpokenClip(
        decode_file(speech / "audio" / "jfk_16k.wav"), (speech / "refs" / "jfk.txt").read_text()
    )


@pytest.fixture(scope="module")
def short_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A node whose streams may carry at most 2 s of audio."""
    with start_node(tmp_path_factory.mktemp("short-node"), max_stream_audio_s="2") as running:
        yield running


@pytest.fixture(scope="module")
def loaded_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A node whose admission limit is below the cost of one stream: one live stream fills it."""
    with start_node(
        tmp_path_factory.mktemp("loaded-node"), idle_timeout_s="3", admission_max_load="0.05"
    ) as running:
        yield running


# -- the mapping itself -----------------------------------------------------------------------


def test_every_engine_error_carries_the_status_of_its_row() -> None:
    assert InvalidConfig.status == "INVALID_ARGUMENT"
    assert InvalidAudio.status == "INVALID_ARGUMENT"
    assert IdleTimeout.status == "DEADLINE_EXCEEDED"
    assert LimitExceeded.status == "OUT_OF_RANGE"
    assert NodeFull.status == "RESOURCE_EXHAUSTED"
    assert Overloaded.status == "RESOURCE_EXHAUSTED"
    assert InternalFailure.status == "INTERNAL"


def test_ws_close_codes_match_the_table_and_internal_is_1011() -> None:
    # An internal failure cannot honestly be provoked over the wire, so its row is checked here.
    assert WS_CLOSE_CODES["INTERNAL"] == 1011
    assert InternalFailure.status == "INTERNAL"
    for status, close_code in WS_CLOSE_FOR.items():
        assert WS_CLOSE_CODES[status] == close_code
        assert STATUS_BY_WS_CLOSE[close_code] == status
        assert getattr(grpc.StatusCode, status).name == status  # a real gRPC status name
    assert len(set(WS_CLOSE_CODES.values())) == len(WS_CLOSE_CODES), "close codes are ambiguous"


# -- INVALID_ARGUMENT / 4400 ------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("overrides", "mentions"),
    [
        ({"meeting_id": ""}, "meeting_id"),
        ({"participant_id": ""}, "participant.id"),
        ({"sample_rate_hertz": 7000}, "7000"),
        ({"sample_rate_hertz": 96000}, "96000"),
        ({"channels": 9}, "channel"),
        ({"endpointing_ms": 20}, "silence_ms"),
        ({"language": "de"}, "English only"),
    ],
    ids=[
        "empty-meeting",
        "empty-participant",
        "rate-7000",
        "rate-96000",
        "9-channels",
        "endpointing-20ms",
        "language-de",
    ],
)
async def test_malformed_config_is_invalid_argument(
    node: RunningNode, transport: Transport, overrides: dict[str, Any], mentions: str
) -> None:
    outcome = await run_stream(node, transport, config(**overrides), send_nothing)
    message = assert_stream_error(outcome, transport, "INVALID_ARGUMENT")
    assert mentions in message
    assert not outcome.of("metadata"), "a refused config gets no stream metadata"


async def test_unknown_encoding_on_grpc_is_invalid_argument(node: RunningNode) -> None:
    cfg = config(encoding=pb.AUDIO_ENCODING_UNSPECIFIED)
    outcome = await run_stream(node, "grpc", cfg, send_nothing)
    assert "encoding" in assert_stream_error(outcome, "grpc", "INVALID_ARGUMENT")


async def raw_ws(url: str, *frames: bytes | str) -> tuple[list[dict[str, Any]], int]:
    """Connect without the project client; send `frames`; return (frames read, close code)."""
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(30), connect(url) as ws:
        for frame in frames:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(frame)
        try:
            while True:
                message = await ws.recv()
                assert isinstance(message, str), "the server sends text frames only"
                received.append(json.loads(message))
        except ConnectionClosed as e:
            assert e.rcvd is not None, "the server must close with a code, not drop the line"
            return received, e.rcvd.code


@pytest.mark.parametrize(
    ("query", "mentions"),
    [
        ({"encoding": "mp3"}, "encoding"),
        ({"sample_rate": "fast"}, "sample_rate"),
        ({"mode": "turbo"}, "mode"),
        ({"interim_results": "maybe"}, "interim_results"),
    ],
)
async def test_malformed_query_on_ws_is_error_frame_then_4400(
    node: RunningNode, query: dict[str, str], mentions: str
) -> None:
    params = {"meeting": "m-errors", "participant": "p-1", **query}
    frames, close_code = await raw_ws(f"{node.ws_url}/v1/stream?{urlencode(params)}")
    assert close_code == 4400
    assert [f["type"] for f in frames] == ["Error"]
    assert frames[0]["code"] == "INVALID_ARGUMENT"
    assert mentions in frames[0]["message"]


async def raw_grpc(node: RunningNode, *requests: pb.StreamingRecognizeRequest) -> grpc.RpcError:
    """Send `requests` with a bare stub (the project client always starts with the config)."""
    async with asyncio.timeout(30), grpc.aio.insecure_channel(node.grpc_target) as channel:
        stub = pb_grpc.TranscriptionStub(channel)  # type: ignore[no-untyped-call]
        call = stub.StreamingRecognize()
        for request in requests:
            # The server may already have ended the call; its status is read below.
            with contextlib.suppress(
                grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError
            ):
                await call.write(request)
        with contextlib.suppress(grpc.aio.AioRpcError, grpc.aio.UsageError):
            await call.done_writing()
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            async for response in call:
                assert response.WhichOneof("response") == "metadata"
        return raised.value


@pytest.mark.parametrize(
    "first",
    [
        pb.StreamingRecognizeRequest(audio_content=silence(0.1)),
        pb.StreamingRecognizeRequest(control=pb.Control(command=pb.Control.COMMAND_KEEP_ALIVE)),
        pb.StreamingRecognizeRequest(),
    ],
    ids=["audio", "control", "empty"],
)
async def test_grpc_first_message_not_config_is_invalid_argument(
    node: RunningNode, first: pb.StreamingRecognizeRequest
) -> None:
    # Only the bad first message: the server ends the call on it, and a second write racing
    # that end fails inside the client's gRPC core (INTERNAL), not on the server.
    error = await raw_grpc(node, first)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "first message must be streaming_config" in (error.details() or "")


async def test_grpc_second_config_is_invalid_argument(node: RunningNode) -> None:
    again = pb.StreamingRecognizeRequest(streaming_config=config())
    error = await raw_grpc(node, again, again)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "only be sent once" in (error.details() or "")


@pytest.mark.parametrize("frame", ['{"type": "Pause"}', "not json", "[1, 2]"])
async def test_ws_text_frame_that_is_no_control_message_is_4400(
    node: RunningNode, frame: str
) -> None:
    params = {"meeting": "m-errors", "participant": "p-1"}
    frames, close_code = await raw_ws(f"{node.ws_url}/v1/stream?{urlencode(params)}", frame)
    assert close_code == 4400
    assert [f["type"] for f in frames] == ["Metadata", "Error"]
    assert frames[-1]["code"] == "INVALID_ARGUMENT"
    assert "control message" in frames[-1]["message"]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "encoding", [pb.AUDIO_ENCODING_OGG_OPUS, pb.AUDIO_ENCODING_WEBM_OPUS], ids=["ogg", "webm"]
)
async def test_undecodable_container_audio_is_invalid_argument(
    node: RunningNode, transport: Transport, encoding: pb.AudioEncoding
) -> None:
    cfg = config(encoding=encoding, batch=True)
    outcome = await run_stream(node, transport, cfg, send_then_close(garbage(16_000)))
    message = assert_stream_error(outcome, transport, "INVALID_ARGUMENT")
    assert "cannot decode" in message
    assert outcome.kinds()[0] == "metadata", "the config itself was fine"
    assert not outcome.of("result")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("encoding", "channels", "size"),
    [
        (pb.AUDIO_ENCODING_LINEAR16, 1, 3201),
        (pb.AUDIO_ENCODING_LINEAR16, 2, 3202),
        (pb.AUDIO_ENCODING_FLOAT32, 1, 6402),
    ],
    ids=["linear16-odd", "linear16-stereo-half-frame", "float32-partial-sample"],
)
async def test_pcm_frame_of_partial_samples_is_invalid_argument(
    node: RunningNode, transport: Transport, encoding: pb.AudioEncoding, channels: int, size: int
) -> None:
    cfg = config(encoding=encoding, channels=channels)
    outcome = await run_stream(node, transport, cfg, send_then_close(silence(0.1), bytes(size)))
    message = assert_stream_error(outcome, transport, "INVALID_ARGUMENT")
    assert f"{size} bytes" in message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_speech_sent_as_float_at_integer_scale_is_invalid_argument(
    node: RunningNode, speech: Path, transport: Transport
) -> None:
    # The client's mistake: int16 samples cast to float32 without dividing by 32768. Whisper
    # would hear nothing in it; the stream is told why instead.
    samples = np.frombuffer(decode_file(speech / "audio" / "jfk_16k.wav"), "<i2")
    as_float = samples.astype("<f4").tobytes()
    chunk = 4 * RATE // 10
    frames = [as_float[i : i + chunk] for i in range(0, len(as_float), chunk)]
    cfg = config(encoding=pb.AUDIO_ENCODING_FLOAT32)
    outcome = await run_stream(node, transport, cfg, send_then_close(*frames))
    message = assert_stream_error(outcome, transport, "INVALID_ARGUMENT")
    assert "LINEAR16" in message and "divide by 32768" in message
    assert not outcome.of("result")


# -- DEADLINE_EXCEEDED / 1008 -----------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_no_audio_for_idle_timeout_is_deadline_exceeded(
    node: RunningNode, transport: Transport
) -> None:
    last_sent = 0.0

    async def one_chunk_then_quiet(stream: TranscriptionStream, outcome: Outcome) -> None:
        nonlocal last_sent
        await stream.send_audio(silence(0.2))
        last_sent = time.monotonic()

    outcome = await run_stream(node, transport, config(), one_chunk_then_quiet)
    message = assert_stream_error(outcome, transport, "DEADLINE_EXCEEDED")
    assert f"no audio for {IDLE_TIMEOUT_S:g} s" in message
    assert "KeepAlive" in message, "the message tells the client how to avoid it"
    quiet_s = outcome.ended_at - last_sent
    assert IDLE_TIMEOUT_S - 0.1 <= quiet_s <= IDLE_TIMEOUT_S + 7.0, quiet_s


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_keep_alive_resets_the_idle_timer(node: RunningNode, transport: Transport) -> None:
    keep_alive_for_s = IDLE_TIMEOUT_S + 2.0
    last_sent = 0.0
    open_after_keep_alives: list[bool] = []

    async def keep_alive_then_stop(stream: TranscriptionStream, outcome: Outcome) -> None:
        nonlocal last_sent
        started = time.monotonic()
        while time.monotonic() - started < keep_alive_for_s:
            await stream.keep_alive()
            last_sent = time.monotonic()
            await asyncio.sleep(1.0)  # the client's keep-alive cadence, not synchronisation
        open_after_keep_alives.append(outcome.ended_at == 0.0)

    outcome = await run_stream(node, transport, config(), keep_alive_then_stop)
    assert open_after_keep_alives == [True], "KeepAlive did not keep the stream open"
    assert assert_stream_error(outcome, transport, "DEADLINE_EXCEEDED")
    assert outcome.kinds()[0] == "metadata"
    quiet_s = outcome.ended_at - last_sent
    assert IDLE_TIMEOUT_S - 0.1 <= quiet_s <= IDLE_TIMEOUT_S + 7.0, quiet_s


# -- OUT_OF_RANGE / 4008 ----------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_frame_over_max_frame_bytes_is_out_of_range(
    node: RunningNode, transport: Transport
) -> None:
    frame = bytes(300 * 1024)
    outcome = await run_stream(node, transport, config(batch=True), send_then_close(frame))
    message = assert_stream_error(outcome, transport, "OUT_OF_RANGE")
    assert str(len(frame)) in message
    assert str(DEFAULT_MAX_FRAME_BYTES) in message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_client_still_writing_after_a_rejected_frame_gets_the_nodes_status(
    node: RunningNode, transport: Transport
) -> None:
    # The client's writes race the node's error (grpc/grpc#36066 turns a lost race into a
    # client-side INTERNAL); the status must be the node's every time.
    async def oversized_then_keep_writing(stream: TranscriptionStream, outcome: Outcome) -> None:
        await stream.send_audio(bytes(300 * 1024))
        for _ in range(10):
            await stream.send_audio(silence(0.1))
        await stream.close_stream()

    outcomes: list[Outcome] = []
    for _ in range(8):  # four at once: the node fixture's stream limit
        await wait_ready_and_empty(node)
        outcomes += await asyncio.gather(
            *(
                run_stream(node, transport, config(batch=True), oversized_then_keep_writing)
                for _ in range(4)
            )
        )
    assert [o.error.code if o.error else None for o in outcomes] == ["OUT_OF_RANGE"] * 32


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_frame_of_exactly_max_frame_bytes_is_accepted(
    node: RunningNode, transport: Transport
) -> None:
    frame = bytes(DEFAULT_MAX_FRAME_BYTES)  # 8.192 s of LINEAR16
    outcome = await run_stream(node, transport, config(batch=True), send_then_close(frame))
    assert outcome.error is None, outcome.error
    (summary,) = outcome.of("summary")
    received = summary.summary.audio_received.ToTimedelta().total_seconds()
    assert received == pytest.approx(DEFAULT_MAX_FRAME_BYTES / BYTES_PER_S, abs=0.01)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_stream_over_max_stream_audio_is_out_of_range(
    short_node: RunningNode, transport: Transport
) -> None:
    chunks = [silence(0.5)] * 6  # 3 s against a 2 s limit
    outcome = await run_stream(short_node, transport, config(batch=True), send_then_close(*chunks))
    message = assert_stream_error(outcome, transport, "OUT_OF_RANGE")
    assert "2 s audio limit" in message


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_stream_within_max_stream_audio_ends_cleanly(
    short_node: RunningNode, transport: Transport
) -> None:
    chunks = [silence(0.5)] * 3  # 1.5 s against a 2 s limit
    outcome = await run_stream(short_node, transport, config(batch=True), send_then_close(*chunks))
    assert outcome.error is None, outcome.error
    assert outcome.kinds()[0] == "metadata"
    assert outcome.kinds()[-1] == "summary"


# -- RESOURCE_EXHAUSTED / 1013 ----------------------------------------------------------------


class HeldStream:
    """An open stream kept alive with KeepAlive, its responses read in the background."""

    def __init__(self, stream: TranscriptionStream, tg: asyncio.TaskGroup) -> None:
        self.stream = stream
        self.outcome = Outcome()
        self.reader = tg.create_task(drain(stream, self.outcome))
        self._keep_alive = tg.create_task(self._keep_alive_loop())

    async def _keep_alive_loop(self) -> None:
        while True:
            await self.stream.keep_alive()
            await asyncio.sleep(1.0)  # well inside the 3 s idle timeout

    async def admitted(self) -> None:
        """Wait for the stream's metadata: it is sent once the node admitted the stream."""
        outcome = self.outcome
        await outcome.wait_until(lambda: bool(outcome.of("metadata")) or bool(outcome.ended_at))
        assert outcome.of("metadata"), outcome.error

    async def close(self) -> Outcome:
        self._keep_alive.cancel()
        await self.stream.close_stream()
        return await self.reader


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_full_node_refuses_at_connect_and_readyz_says_503(
    node: RunningNode, transport: Transport
) -> None:
    await wait_ready_and_empty(node)
    async with (
        asyncio.timeout(STREAM_TIMEOUT_S),
        contextlib.AsyncExitStack() as stack,
        asyncio.TaskGroup() as tg,
    ):
        held: list[HeldStream] = []
        for i in range(MAX_STREAMS):  # a mix of both transports fills the node
            client = await stack.enter_async_context(open_client(node, TRANSPORTS[i % 2]))
            stream = await stack.enter_async_context(await client.stream(config()))
            held.append(HeldStream(stream, tg))
            await held[-1].admitted()

        status, problem = await readyz(node)
        assert status == 503
        assert problem["title"] == "Node full"
        assert str(MAX_STREAMS) in problem["detail"]

        refused = await run_stream(node, transport, config(), send_nothing)
        message = assert_stream_error(refused, transport, "RESOURCE_EXHAUSTED")
        assert f"maximum of {MAX_STREAMS} streams" in message
        assert not refused.of("metadata"), "refused at connect, before any stream metadata"
        assert all(not h.reader.done() for h in held), "the refusal disturbed admitted streams"

        closed = await held.pop(0).close()
        assert closed.error is None and closed.kinds()[-1] == "summary"
        await poll_readyz(node, lambda status, _: status == 200, timeout_s=10)

        accepted = await run_stream(node, transport, config(), send_then_close(silence(0.5)))
        assert accepted.error is None, accepted.error
        assert accepted.kinds()[0] == "metadata" and accepted.kinds()[-1] == "summary"

        for h in held:
            outcome = await h.close()
            assert outcome.error is None, outcome.error
    await wait_ready_and_empty(node)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_node_without_headroom_refuses_live_streams_but_takes_uploads(
    loaded_node: RunningNode, transport: Transport
) -> None:
    node = loaded_node
    await wait_ready_and_empty(node)
    assert await asyncio.to_thread(node.metric, "stenograph_accepting_live_streams") == 1.0
    async with (
        asyncio.timeout(STREAM_TIMEOUT_S),
        contextlib.AsyncExitStack() as stack,
        asyncio.TaskGroup() as tg,
    ):
        client = await stack.enter_async_context(open_client(node, transport))
        held = HeldStream(await stack.enter_async_context(await client.stream(config())), tg)
        await held.admitted()  # the first live stream is always admitted

        status, problem = await readyz(node)
        assert status == 503 and "no headroom for another live stream" in problem["detail"]
        assert await asyncio.to_thread(node.metric, "stenograph_accepting_live_streams") == 0.0

        refused = await run_stream(node, transport, config(), send_nothing)
        message = assert_stream_error(refused, transport, "RESOURCE_EXHAUSTED")
        assert "predicted load" in message and "another node" in message
        assert not refused.of("metadata"), "refused at connect, before any stream metadata"

        # A recording only uses what live streams leave: it is admitted and served.
        upload = await run_stream(node, transport, config(batch=True), send_then_close(silence(1)))
        assert upload.error is None, upload.error
        assert upload.kinds()[0] == "metadata" and upload.kinds()[-1] == "summary"

        assert not held.reader.done(), "the refusal disturbed the admitted stream"
        closed = await held.close()
        assert closed.error is None and closed.kinds()[-1] == "summary"
    await poll_readyz(node, lambda status, _: status == 200, timeout_s=10)


@pytest.fixture(scope="module")
def admitting_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A node with the default admission control on."""
    with start_node(tmp_path_factory.mktemp("admitting-node"), idle_timeout_s="3") as running:
        yield running


async def test_a_node_whose_live_streams_run_behind_their_audio_admits_no_more(
    admitting_node: RunningNode, jfk: SpokenClip
) -> None:
    node = admitting_node
    await wait_ready_and_empty(node)

    def behind(status: int, body: dict[str, Any]) -> bool:
        return status == 503 and "behind their audio" in body.get("detail", "")

    async with (
        asyncio.timeout(STREAM_TIMEOUT_S),
        open_client(node, "grpc") as client,
        await client.stream(config()) as stream,
        asyncio.TaskGroup() as tg,
    ):
        outcome = Outcome()
        reader = tg.create_task(drain(stream, outcome))
        done_refusing = asyncio.Event()

        async def burst_then_keep_alive() -> None:
            # 11 s of speech at once (a client catching up after its network stalled): its
            # audio waits behind its passes, as on a node too slow for its load.
            for frame in jfk.frames():
                await stream.send_audio(frame)
            while not done_refusing.is_set():  # one writer: gRPC takes one write at a time
                await stream.keep_alive()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done_refusing.wait(), 1.0)

        sender = tg.create_task(burst_then_keep_alive())
        await poll_readyz(node, behind, timeout_s=30)
        reading = await asyncio.to_thread(node.metric, "stenograph_live_streams_behind_seconds")
        assert reading > 1.5, "the metric shows what admission read"

        refused = await run_stream(node, "ws", config(), send_nothing)
        message = assert_stream_error(refused, "ws", "RESOURCE_EXHAUSTED")
        assert "behind their audio" in message and "another node" in message
        assert not refused.of("metadata"), "refused at connect, before any stream metadata"

        done_refusing.set()
        await sender
        await stream.close_stream()
        await reader
        assert outcome.error is None, outcome.error
        assert wer(jfk.reference, outcome.final_text()) < 0.2, (
            "the stream that fell behind lost words"
        )
    # Caught up: once the backlog is out of the admission window, the node admits again.
    await poll_readyz(node, lambda status, _: status == 200, timeout_s=30)


async def test_one_client_sending_seconds_at_once_does_not_close_a_node_serving_others(
    admitting_node: RunningNode, jfk: SpokenClip
) -> None:
    node = admitting_node
    await wait_ready_and_empty(node)
    readings: list[tuple[int, dict[str, Any]]] = []

    async with (
        asyncio.timeout(STREAM_TIMEOUT_S),
        open_client(node, "grpc") as client,
        await client.stream(config()) as muted,
        await client.stream(config()) as bursting,
        asyncio.TaskGroup() as tg,
    ):
        muted_outcome, bursting_outcome = Outcome(), Outcome()
        muted_reader = tg.create_task(drain(muted, muted_outcome))
        bursting_reader = tg.create_task(drain(bursting, bursting_outcome))

        async def in_real_time() -> None:
            # A muted participant: its client streams silence, in real time, as clients do.
            # (A talking one shares the two cores with the burst's passes, and on a busy
            # machine it too ran 2 s behind now and then: then the node is behind.)
            for _ in jfk.frames():
                await muted.send_audio(silence(0.1))
                await asyncio.sleep(0.1)

        steady_done = tg.create_task(in_real_time())

        async def all_at_once_then_keep_alive() -> None:
            # 11 s of speech at once (a client catching up after its network stalled): its
            # own audio waits behind its passes; the other stream's does not.
            for frame in jfk.frames():
                await bursting.send_audio(frame)
            while not steady_done.done():
                await bursting.keep_alive()
                await asyncio.wait([steady_done], timeout=1.0)

        burster = tg.create_task(all_at_once_then_keep_alive())
        while not steady_done.done():
            readings.append(await readyz(node))
            await asyncio.sleep(0.1)
        await burster
        for stream in (muted, bursting):
            await stream.close_stream()
        await muted_reader
        await bursting_reader

    behind = [body["detail"] for _, body in readings if "behind" in body.get("detail", "")]
    assert not behind, f"one client's burst closed the node to others: {behind[:3]}"
    assert len(readings) > 20, "the node was watched through the burst"
    for outcome in (muted_outcome, bursting_outcome):
        assert outcome.error is None, outcome.error
    assert wer(jfk.reference, bursting_outcome.final_text()) < 0.2
    assert muted_outcome.final_text() == "", "no words in silence"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_live_stream_far_ahead_of_real_time_is_warned_then_refused(
    node: RunningNode, transport: Transport
) -> None:
    # Defaults: warned beyond 5 s ahead of real time, ended beyond 15 s.
    second = silence(1.0)

    async def flood(stream: TranscriptionStream, outcome: Outcome) -> None:
        for _ in range(7):  # 7 s of audio at once: past the warning budget only
            await stream.send_audio(second)
        await outcome.wait_until(lambda: bool(outcome.of("warning")) or bool(outcome.ended_at))
        assert not outcome.ended_at, f"ended before any warning: {outcome.error}"
        for _ in range(40):  # keep flooding until the node ends the stream
            if outcome.ended_at:
                return
            await stream.send_audio(second)
            await asyncio.sleep(0)  # let the reader see the end
        await outcome.wait_until(lambda: bool(outcome.ended_at))

    outcome = await run_stream(node, transport, config(), flood)
    message = assert_stream_error(outcome, transport, "RESOURCE_EXHAUSTED")
    assert "ahead of real time" in message
    assert "BATCH" in message, "the message points at the right mode for recordings"
    (warning,) = outcome.of("warning")
    assert warning.warning.code == "CLIENT_AHEAD_OF_REAL_TIME"
    assert "ahead of real time" in warning.warning.message
    kinds = outcome.kinds()
    # gRPC's status comes after every response; on WebSocket the Error frame is last.
    assert kinds.index("warning") < (kinds.index("error") if transport == "ws" else len(kinds))


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_batch_stream_may_run_ahead_of_real_time(
    node: RunningNode, transport: Transport
) -> None:
    chunks = [silence(1.0)] * 20  # 20 s at once would end a live stream
    outcome = await run_stream(node, transport, config(batch=True), send_then_close(*chunks))
    assert outcome.error is None, outcome.error
    assert not outcome.of("warning")
    (summary,) = outcome.of("summary")
    assert summary.summary.audio_received.ToTimedelta().total_seconds() == pytest.approx(20.0)


# -- isolation --------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_bad_stream_never_affects_a_good_one(
    node: RunningNode, jfk: SpokenClip, transport: Transport
) -> None:
    await wait_ready_and_empty(node)
    other: Transport = "ws" if transport == "grpc" else "grpc"

    good, *bad = await asyncio.gather(
        run_stream(node, transport, config(batch=True), send_then_close(*jfk.frames())),
        run_stream(node, transport, config(), send_then_close(silence(0.5), bytes(3201))),
        run_stream(node, other, config(batch=True), send_then_close(bytes(300 * 1024))),
        run_stream(
            node,
            other,
            config(encoding=pb.AUDIO_ENCODING_OGG_OPUS),
            send_then_close(garbage(16_000)),
        ),
    )
    assert [b.error.code if b.error else None for b in bad] == [
        "INVALID_ARGUMENT",
        "OUT_OF_RANGE",
        "INVALID_ARGUMENT",
    ]
    assert good.error is None, good.error
    assert good.kinds()[-1] == "summary"
    assert wer(jfk.reference, good.final_text()) < 0.2, good.final_text()
    await wait_ready_and_empty(node)
