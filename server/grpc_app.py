"""gRPC front door: `stenograph.v1.Transcription`, `stenograph.v1.Notes`, health, reflection."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from stenograph.v1 import notes_pb2 as npb
from stenograph.v1 import notes_pb2_grpc as npb_grpc
from stenograph.v1 import transcription_pb2 as pb
from stenograph.v1 import transcription_pb2_grpc as pb_grpc

from server.node import Node
from server.notes_grpc import NotesServicer
from server.stream_call import ClientGone, StreamCall
from server.translate import is_live
from streaming.errors import InvalidConfig, StreamError
from summariser.store import NotesStore

log = logging.getLogger(__name__)

#: gRPC's own message cap sits above our frame limit, so an oversized audio frame gets our
#: OUT_OF_RANGE with an explanation rather than the transport's RESOURCE_EXHAUSTED.
GRPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Transcription"].full_name
NOTES_SERVICE_NAME = npb.DESCRIPTOR.services_by_name["Notes"].full_name
#: How long an ending stream keeps reading (and discarding) what the client still sends.
LINGER_S = 1.0


class _GrpcChannel:
    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self._context = context

    async def receive(self) -> bytes | pb.Control | None:
        request = await self._context.read()
        if request is grpc.aio.EOF:
            return None
        assert isinstance(request, pb.StreamingRecognizeRequest)
        match request.WhichOneof("request"):
            case "audio_content":
                return request.audio_content
            case "control":
                return request.control
            case "streaming_config":
                raise InvalidConfig("streaming_config may only be sent once, as the first message")
            case _:
                raise InvalidConfig("empty StreamingRecognizeRequest")

    async def send(self, response: pb.StreamingRecognizeResponse) -> None:
        try:
            await self._context.write(response)
        except grpc.aio.AbortError:
            raise
        except Exception as e:  # the RPC was cancelled or its transport failed
            raise ClientGone() from e


async def _run_past_cancellation(call: StreamCall) -> None:
    """Run `call`; if the client cancels the RPC, still let it flush what the client sent.

    gRPC cancels the handler when the client cancels. Without this, the audio already
    received would never become finals (Kafka) and the stream would be recorded as "closed";
    a vanished WebSocket client gets the flush and "CANCELLED", so gRPC must too. A second
    cancellation (server shutdown) stops the call.
    """
    task = asyncio.ensure_future(call.run())
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(StreamError, ClientGone):
            await task
        raise


async def _linger(context: grpc.aio.ServicerContext) -> None:
    """Read and discard requests until the client half-closes, for at most `LINGER_S`.

    A client still writing when the trailers arrive has that write fail, and grpcio's asyncio
    client then replaces the server's status with its own `INTERNAL: Internal error from Core`
    (grpc/grpc#36066). Like an HTTP server's lingering close, reading on for a moment lets a
    client that is about to half-close (every client that sends CloseStream) see our status.
    """
    with contextlib.suppress(Exception):
        async with asyncio.timeout(LINGER_S):
            while await context.read() is not grpc.aio.EOF:
                pass


class TranscriptionServicer(pb_grpc.TranscriptionServicer):
    def __init__(self, node: Node) -> None:
        self._node = node

    async def StreamingRecognize(  # noqa: N802 (gRPC method name)
        self,
        request_iterator: object,
        context: grpc.aio.ServicerContext,
    ) -> None:
        try:
            first = await context.read()
            if first is grpc.aio.EOF or first.WhichOneof("request") != "streaming_config":
                raise InvalidConfig("the first message must be streaming_config")
            config = first.streaming_config
            with self._node.admit("grpc", live=is_live(config)):
                call = StreamCall(self._node, config, _GrpcChannel(context), "grpc")
                await _run_past_cancellation(call)
        except StreamError as e:
            await _linger(context)
            await context.abort(getattr(grpc.StatusCode, e.status), str(e))
        except ClientGone:
            return


async def start_grpc_server(
    node: Node, host: str, port: int, store: NotesStore | None = None
) -> tuple[grpc.aio.Server, int]:
    """Start serving; returns the server and the port it bound (port 0 picks one)."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", GRPC_MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", GRPC_MAX_MESSAGE_BYTES),
        ]
    )
    pb_grpc.add_TranscriptionServicer_to_server(  # type: ignore[no-untyped-call]
        TranscriptionServicer(node), server
    )
    services = [SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME]
    if store is not None:
        npb_grpc.add_NotesServicer_to_server(  # type: ignore[no-untyped-call]
            NotesServicer(store, node), server
        )
        services.append(NOTES_SERVICE_NAME)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(services, server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot listen for gRPC on {host}:{port}")
    await server.start()
    serving = health_pb2.HealthCheckResponse.SERVING
    for name in ("", *services[:1], *services[3:]):  # ours, not health's and reflection's
        await health_servicer.set(name, serving)
    return server, bound
