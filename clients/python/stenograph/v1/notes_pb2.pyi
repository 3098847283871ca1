import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MeetingNotes(_message.Message):
    __slots__ = ("meeting_id", "kind", "version", "backend", "title", "summary", "participants", "topics", "decisions", "action_items", "open_questions", "generated_at")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[MeetingNotes.Kind]
        KIND_ROLLING: _ClassVar[MeetingNotes.Kind]
        KIND_FINAL: _ClassVar[MeetingNotes.Kind]
    KIND_UNSPECIFIED: MeetingNotes.Kind
    KIND_ROLLING: MeetingNotes.Kind
    KIND_FINAL: MeetingNotes.Kind
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    TOPICS_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    ACTION_ITEMS_FIELD_NUMBER: _ClassVar[int]
    OPEN_QUESTIONS_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    kind: MeetingNotes.Kind
    version: int
    backend: str
    title: str
    summary: str
    participants: _containers.RepeatedCompositeFieldContainer[NotesParticipant]
    topics: _containers.RepeatedCompositeFieldContainer[Topic]
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    action_items: _containers.RepeatedCompositeFieldContainer[ActionItem]
    open_questions: _containers.RepeatedCompositeFieldContainer[OpenQuestion]
    generated_at: _timestamp_pb2.Timestamp
    def __init__(self, meeting_id: _Optional[str] = ..., kind: _Optional[_Union[MeetingNotes.Kind, str]] = ..., version: _Optional[int] = ..., backend: _Optional[str] = ..., title: _Optional[str] = ..., summary: _Optional[str] = ..., participants: _Optional[_Iterable[_Union[NotesParticipant, _Mapping]]] = ..., topics: _Optional[_Iterable[_Union[Topic, _Mapping]]] = ..., decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., action_items: _Optional[_Iterable[_Union[ActionItem, _Mapping]]] = ..., open_questions: _Optional[_Iterable[_Union[OpenQuestion, _Mapping]]] = ..., generated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NotesParticipant(_message.Message):
    __slots__ = ("participant_id", "display_name")
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    participant_id: str
    display_name: str
    def __init__(self, participant_id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class Citation(_message.Message):
    __slots__ = ("segment_id", "participant_id", "start", "end", "quote")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    participant_id: str
    start: _duration_pb2.Duration
    end: _duration_pb2.Duration
    quote: str
    def __init__(self, segment_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., start: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., quote: _Optional[str] = ...) -> None: ...

class Topic(_message.Message):
    __slots__ = ("id", "title", "start", "end", "citations")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    start: _duration_pb2.Duration
    end: _duration_pb2.Duration
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., start: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("id", "text", "status", "citations")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[Decision.Status]
        STATUS_AGREED: _ClassVar[Decision.Status]
        STATUS_REJECTED: _ClassVar[Decision.Status]
        STATUS_DEFERRED: _ClassVar[Decision.Status]
    STATUS_UNSPECIFIED: Decision.Status
    STATUS_AGREED: Decision.Status
    STATUS_REJECTED: Decision.Status
    STATUS_DEFERRED: Decision.Status
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    status: Decision.Status
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., status: _Optional[_Union[Decision.Status, str]] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ...) -> None: ...

class ActionItem(_message.Message):
    __slots__ = ("id", "task", "owner_as_spoken", "owner_participant_id", "due_as_spoken", "due_date", "status", "citations")
    class Status(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATUS_UNSPECIFIED: _ClassVar[ActionItem.Status]
        STATUS_OPEN: _ClassVar[ActionItem.Status]
        STATUS_DONE: _ClassVar[ActionItem.Status]
        STATUS_CANCELLED: _ClassVar[ActionItem.Status]
    STATUS_UNSPECIFIED: ActionItem.Status
    STATUS_OPEN: ActionItem.Status
    STATUS_DONE: ActionItem.Status
    STATUS_CANCELLED: ActionItem.Status
    ID_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    OWNER_AS_SPOKEN_FIELD_NUMBER: _ClassVar[int]
    OWNER_PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    DUE_AS_SPOKEN_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    task: str
    owner_as_spoken: str
    owner_participant_id: str
    due_as_spoken: str
    due_date: str
    status: ActionItem.Status
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    def __init__(self, id: _Optional[str] = ..., task: _Optional[str] = ..., owner_as_spoken: _Optional[str] = ..., owner_participant_id: _Optional[str] = ..., due_as_spoken: _Optional[str] = ..., due_date: _Optional[str] = ..., status: _Optional[_Union[ActionItem.Status, str]] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ...) -> None: ...

class OpenQuestion(_message.Message):
    __slots__ = ("id", "text", "asked_by_participant_id", "citations")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ASKED_BY_PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    CITATIONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    asked_by_participant_id: str
    citations: _containers.RepeatedCompositeFieldContainer[Citation]
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., asked_by_participant_id: _Optional[str] = ..., citations: _Optional[_Iterable[_Union[Citation, _Mapping]]] = ...) -> None: ...

class GetNotesRequest(_message.Message):
    __slots__ = ("meeting_id", "kind")
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    kind: MeetingNotes.Kind
    def __init__(self, meeting_id: _Optional[str] = ..., kind: _Optional[_Union[MeetingNotes.Kind, str]] = ...) -> None: ...

class GetNotesResponse(_message.Message):
    __slots__ = ("notes",)
    NOTES_FIELD_NUMBER: _ClassVar[int]
    notes: MeetingNotes
    def __init__(self, notes: _Optional[_Union[MeetingNotes, _Mapping]] = ...) -> None: ...

class ListMeetingsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class MeetingInfo(_message.Message):
    __slots__ = ("meeting_id", "first_event_at", "last_event_at", "ended_at")
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_EVENT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_EVENT_AT_FIELD_NUMBER: _ClassVar[int]
    ENDED_AT_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    first_event_at: _timestamp_pb2.Timestamp
    last_event_at: _timestamp_pb2.Timestamp
    ended_at: _timestamp_pb2.Timestamp
    def __init__(self, meeting_id: _Optional[str] = ..., first_event_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_event_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListMeetingsResponse(_message.Message):
    __slots__ = ("meetings",)
    MEETINGS_FIELD_NUMBER: _ClassVar[int]
    meetings: _containers.RepeatedCompositeFieldContainer[MeetingInfo]
    def __init__(self, meetings: _Optional[_Iterable[_Union[MeetingInfo, _Mapping]]] = ...) -> None: ...

class WatchNotesRequest(_message.Message):
    __slots__ = ("meeting_id",)
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    def __init__(self, meeting_id: _Optional[str] = ...) -> None: ...

class WatchNotesResponse(_message.Message):
    __slots__ = ("notes",)
    NOTES_FIELD_NUMBER: _ClassVar[int]
    notes: MeetingNotes
    def __init__(self, notes: _Optional[_Union[MeetingNotes, _Mapping]] = ...) -> None: ...

class GetTranscriptRequest(_message.Message):
    __slots__ = ("meeting_id",)
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    def __init__(self, meeting_id: _Optional[str] = ...) -> None: ...

class TranscriptSegment(_message.Message):
    __slots__ = ("segment_id", "participant_id", "display_name", "start", "end", "text")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    participant_id: str
    display_name: str
    start: _duration_pb2.Duration
    end: _duration_pb2.Duration
    text: str
    def __init__(self, segment_id: _Optional[str] = ..., participant_id: _Optional[str] = ..., display_name: _Optional[str] = ..., start: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., text: _Optional[str] = ...) -> None: ...

class GetTranscriptResponse(_message.Message):
    __slots__ = ("meeting_id", "segments")
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    segments: _containers.RepeatedCompositeFieldContainer[TranscriptSegment]
    def __init__(self, meeting_id: _Optional[str] = ..., segments: _Optional[_Iterable[_Union[TranscriptSegment, _Mapping]]] = ...) -> None: ...

class DeleteMeetingRequest(_message.Message):
    __slots__ = ("meeting_id",)
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    def __init__(self, meeting_id: _Optional[str] = ...) -> None: ...

class DeleteMeetingResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
