"""HTTP retrieval of meetings, notes and transcripts (reads the notes store)."""

from __future__ import annotations

from google.protobuf import json_format
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from stenograph.v1.events_pb2 import MeetingEvent

from server.node import Node
from server.problems import problem
from summariser.markdown import render_markdown
from summariser.store import NotesStore
from summariser.transcript_formats import FORMATS, as_json, as_srt, as_text, as_webvtt

NOTES_FORMATS = {"json": "application/json", "markdown": "text/markdown; charset=utf-8"}


def _store(request: Request) -> NotesStore | None:
    store: NotesStore | None = request.app.state.store
    return store


def _wanted(request: Request, formats: dict[str, str], default: str) -> str | None:
    """The format asked for by `?format=` or, failing that, by the Accept header."""
    if "format" in request.query_params:
        name = request.query_params["format"].lower()
        return name if name in formats else None
    accept = request.headers.get("accept", "")
    for name, media_type in formats.items():
        if media_type.split(";")[0] in accept:
            return name
    return default


def _no_store() -> Response:
    return problem(503, "No notes store", "this node runs without a notes store")


async def list_meetings(request: Request) -> Response:
    store = _store(request)
    if store is None:
        return _no_store()
    meetings = await store.meetings()
    return JSONResponse(
        {
            "meetings": [
                {
                    "meeting_id": m.meeting_id,
                    "first_event_at": m.first_event_at.isoformat() + "Z",
                    "last_event_at": m.last_event_at.isoformat() + "Z",
                    "ended_at": m.ended_at.isoformat() + "Z" if m.ended_at else None,
                }
                for m in meetings
            ]
        }
    )


async def get_notes(request: Request) -> Response:
    store = _store(request)
    if store is None:
        return _no_store()
    meeting_id = request.path_params["meeting_id"]
    fmt = _wanted(request, NOTES_FORMATS, "json")
    if fmt is None:
        return problem(400, "Unknown format", f"format must be one of {', '.join(NOTES_FORMATS)}")
    kind = request.query_params.get("kind")
    if kind not in (None, "rolling", "final"):
        return problem(400, "Unknown kind", "kind must be rolling or final")
    notes = await store.latest_notes(meeting_id, kind)
    if notes is None:
        return problem(404, "No notes", f"no notes for meeting {meeting_id!r} yet")
    if fmt == "markdown":
        return Response(render_markdown(notes), media_type=NOTES_FORMATS["markdown"])
    body = json_format.MessageToDict(notes, preserving_proto_field_name=True)
    return JSONResponse(body)


async def request_notes(request: Request) -> Response:
    """Ask the summarisers for rolling notes now; 202, as they write them asynchronously."""
    store = _store(request)
    if store is None:
        return _no_store()
    meeting_id = request.path_params["meeting_id"]
    if await store.last_offset(meeting_id) is None:
        return problem(404, "No transcript", f"nothing was said in meeting {meeting_id!r} yet")
    node: Node = request.app.state.node
    if node.publisher is None:
        return problem(503, "No broker", "this node does not publish to Kafka")
    event = MeetingEvent(meeting_id=meeting_id, kind=MeetingEvent.KIND_NOTES_REQUESTED)
    event.emitted_at.GetCurrentTime()
    node.publisher.publish_meeting(event)
    return JSONResponse({"meeting_id": meeting_id, "status": "requested"}, status_code=202)


async def get_transcript(request: Request) -> Response:
    store = _store(request)
    if store is None:
        return _no_store()
    meeting_id = request.path_params["meeting_id"]
    fmt = _wanted(request, FORMATS, "json")
    if fmt is None:
        return problem(400, "Unknown format", f"format must be one of {', '.join(FORMATS)}")
    segments = await store.segments(meeting_id)
    if not segments:
        return problem(404, "No transcript", f"no transcript for meeting {meeting_id!r}")
    if fmt == "json":
        return JSONResponse(as_json(meeting_id, segments))
    render = {"text": as_text, "vtt": as_webvtt, "srt": as_srt}[fmt]
    return Response(render(segments), media_type=FORMATS[fmt])


async def delete_meeting(request: Request) -> Response:
    store = _store(request)
    if store is None:
        return _no_store()
    meeting_id = request.path_params["meeting_id"]
    if not await store.delete_meeting(meeting_id):
        return problem(404, "No such meeting", f"nothing is stored for meeting {meeting_id!r}")
    node: Node = request.app.state.node
    if node.publisher is not None:
        await node.publisher.tombstone_notes(meeting_id)
    return Response(status_code=204)


NOTES_ROUTES = [
    Route("/v1/meetings", list_meetings, methods=["GET"]),
    Route("/v1/meetings/{meeting_id}", delete_meeting, methods=["DELETE"]),
    Route("/v1/meetings/{meeting_id}/notes", get_notes, methods=["GET"]),
    Route("/v1/meetings/{meeting_id}/notes", request_notes, methods=["POST"]),
    Route("/v1/meetings/{meeting_id}/transcript", get_transcript, methods=["GET"]),
]
