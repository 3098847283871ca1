"""HTTP front door (Starlette): the WebSocket stream, meetings and notes, health, metrics."""

from __future__ import annotations

import json
import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from stenograph.client.wire import (
    WS_CLOSE_CODES,
    WireFormatError,
    config_from_query,
    control_from_json,
    response_to_json,
)
from stenograph.v1 import transcription_pb2 as pb

from server.node import Node
from server.notes_http import NOTES_ROUTES
from server.problems import problem
from server.stream_call import ClientGone, StreamCall
from server.translate import is_live
from streaming.errors import InvalidConfig, StreamError
from summariser.store import NotesStore

log = logging.getLogger(__name__)

#: WebSocket close reasons are limited to 123 bytes.
MAX_CLOSE_REASON_BYTES = 123


class _WebSocketChannel:
    def __init__(self, ws: WebSocket) -> None:
        self._ws = ws

    async def receive(self) -> bytes | pb.Control | None:
        message = await self._ws.receive()
        if message["type"] == "websocket.disconnect":
            raise ClientGone()
        if message.get("bytes") is not None:
            return bytes(message["bytes"])
        try:
            return control_from_json(json.loads(message.get("text") or ""))
        except (ValueError, AttributeError) as e:
            raise InvalidConfig(f"bad control message: {e}") from None

    async def send(self, response: pb.StreamingRecognizeResponse) -> None:
        try:
            await self._ws.send_text(json.dumps(response_to_json(response)))
        except (WebSocketDisconnect, RuntimeError, OSError) as e:
            raise ClientGone() from e


async def _close_with_error(ws: WebSocket, error: StreamError) -> None:
    if ws.client_state != WebSocketState.CONNECTED:
        return
    message = str(error)
    frame = pb.StreamingRecognizeResponse(error=pb.StreamError(code=error.status, message=message))
    reason = message.encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
    try:
        await ws.send_text(json.dumps(response_to_json(frame)))
        await ws.close(code=WS_CLOSE_CODES[error.status], reason=reason)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass


async def stream_endpoint(ws: WebSocket) -> None:
    node: Node = ws.app.state.node
    await ws.accept()
    try:
        try:
            config = config_from_query(ws.query_params)
        except WireFormatError as e:
            raise InvalidConfig(str(e)) from None
        with node.admit("websocket", live=is_live(config)):
            await StreamCall(node, config, _WebSocketChannel(ws), "websocket").run()
        await ws.close(code=1000)
    except StreamError as e:
        await _close_with_error(ws, e)
    except ClientGone:
        return


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    node: Node = request.app.state.node
    admission = node.live_admission()
    checks = {
        "model": node.model_label,
        "streams": node.active_streams,
        "predicted_load": round(admission.predicted_busy, 3),
    }
    if not admission.admitted:
        return problem(503, "Node full", f"no headroom for another live stream: {admission.reason}")
    if node.publisher is not None and not await node.publisher.is_reachable(timeout_s=2.0):
        return problem(503, "Broker unreachable", "the Kafka bootstrap servers do not answer")
    return JSONResponse({"status": "ready", **checks})


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def build_http_app(node: Node, store: NotesStore | None = None) -> Starlette:
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            WebSocketRoute("/v1/stream", stream_endpoint),
            *NOTES_ROUTES,
        ]
    )
    app.state.node = node
    app.state.store = store
    return app
