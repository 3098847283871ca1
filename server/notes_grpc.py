"""gRPC retrieval: `stenograph.v1.Notes` over the notes store."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from stenograph.v1 import notes_pb2 as npb
from stenograph.v1 import notes_pb2_grpc as npb_grpc

from server.node import Node
from summariser.offline_notes import kind_name, to_duration
from summariser.store import NotesStore

#: How often WatchNotes looks for a newer version in the store.
WATCH_POLL_S = 1.0
MAX_MEETINGS = 1000
_KINDS = (npb.MeetingNotes.KIND_ROLLING, npb.MeetingNotes.KIND_FINAL)


def _timestamp(value: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value.replace(tzinfo=dt.UTC))
    return stamp


async def _meeting_id(request: object, context: grpc.aio.ServicerContext) -> str:
    meeting_id = str(getattr(request, "meeting_id", ""))
    if not meeting_id:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "meeting_id is required")
    return meeting_id


class NotesServicer(npb_grpc.NotesServicer):
    def __init__(self, store: NotesStore, node: Node) -> None:
        self._store = store
        self._node = node

    async def GetNotes(  # noqa: N802 (gRPC method name)
        self, request: npb.GetNotesRequest, context: grpc.aio.ServicerContext
    ) -> npb.GetNotesResponse:
        meeting_id = await _meeting_id(request, context)
        notes = await self._store.latest_notes(
            meeting_id, kind_name(request.kind) if request.kind in _KINDS else None
        )
        if notes is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no notes for meeting {meeting_id!r}")
        return npb.GetNotesResponse(notes=notes)

    async def ListMeetings(  # noqa: N802
        self, request: npb.ListMeetingsRequest, context: grpc.aio.ServicerContext
    ) -> npb.ListMeetingsResponse:
        limit = min(request.limit or MAX_MEETINGS, MAX_MEETINGS)
        meetings = await self._store.meetings(limit)
        response = npb.ListMeetingsResponse()
        for m in meetings:
            info = response.meetings.add(
                meeting_id=m.meeting_id,
                first_event_at=_timestamp(m.first_event_at),
                last_event_at=_timestamp(m.last_event_at),
            )
            if m.ended_at is not None:
                info.ended_at.CopyFrom(_timestamp(m.ended_at))
        return response

    async def WatchNotes(  # noqa: N802
        self, request: npb.WatchNotesRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[npb.WatchNotesResponse]:
        meeting_id = await _meeting_id(request, context)
        sent: tuple[int, int] | None = None
        while True:
            notes = await self._store.latest_notes(meeting_id)
            if notes is not None and (notes.version, notes.kind) != sent:
                sent = (notes.version, notes.kind)
                yield npb.WatchNotesResponse(notes=notes)
                if notes.kind == npb.MeetingNotes.KIND_FINAL:
                    return
            await asyncio.sleep(WATCH_POLL_S)

    async def GetTranscript(  # noqa: N802
        self, request: npb.GetTranscriptRequest, context: grpc.aio.ServicerContext
    ) -> npb.GetTranscriptResponse:
        meeting_id = await _meeting_id(request, context)
        segments = [s for s in await self._store.segments(meeting_id) if s.text.strip()]
        if not segments:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"no transcript for meeting {meeting_id!r}"
            )
        return npb.GetTranscriptResponse(
            meeting_id=meeting_id,
            segments=[
                npb.TranscriptSegment(
                    segment_id=s.segment_id,
                    participant_id=s.participant_id,
                    display_name=s.display_name,
                    start=to_duration(s.start_s),
                    end=to_duration(s.end_s),
                    text=s.text,
                )
                for s in segments
            ],
        )

    async def DeleteMeeting(  # noqa: N802
        self, request: npb.DeleteMeetingRequest, context: grpc.aio.ServicerContext
    ) -> npb.DeleteMeetingResponse:
        meeting_id = await _meeting_id(request, context)
        if not await self._store.delete_meeting(meeting_id):
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"nothing is stored for meeting {meeting_id!r}"
            )
        if self._node.publisher is not None:
            await self._node.publisher.tombstone_notes(meeting_id)
        return npb.DeleteMeetingResponse()
