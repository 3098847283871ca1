import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from stenograph.v1 import transcription_pb2 as _transcription_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TranscriptEvent(_message.Message):
    __slots__ = ("meeting_id", "stream_id", "participant", "segment_id", "seq", "is_final", "speech_final", "text", "words", "start", "end", "node", "model", "emitted_at", "stream_started_at")
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FINAL_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    EMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    STREAM_STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    stream_id: str
    participant: _transcription_pb2.Participant
    segment_id: str
    seq: int
    is_final: bool
    speech_final: bool
    text: str
    words: _containers.RepeatedCompositeFieldContainer[_transcription_pb2.WordInfo]
    start: _duration_pb2.Duration
    end: _duration_pb2.Duration
    node: str
    model: str
    emitted_at: _timestamp_pb2.Timestamp
    stream_started_at: _timestamp_pb2.Timestamp
    def __init__(self, meeting_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., participant: _Optional[_Union[_transcription_pb2.Participant, _Mapping]] = ..., segment_id: _Optional[str] = ..., seq: _Optional[int] = ..., is_final: _Optional[bool] = ..., speech_final: _Optional[bool] = ..., text: _Optional[str] = ..., words: _Optional[_Iterable[_Union[_transcription_pb2.WordInfo, _Mapping]]] = ..., start: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., node: _Optional[str] = ..., model: _Optional[str] = ..., emitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stream_started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MeetingEvent(_message.Message):
    __slots__ = ("meeting_id", "stream_id", "participant", "kind", "node", "emitted_at", "audio_received", "finals", "segments", "end_reason")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[MeetingEvent.Kind]
        KIND_STREAM_STARTED: _ClassVar[MeetingEvent.Kind]
        KIND_STREAM_ENDED: _ClassVar[MeetingEvent.Kind]
        KIND_NOTES_REQUESTED: _ClassVar[MeetingEvent.Kind]
    KIND_UNSPECIFIED: MeetingEvent.Kind
    KIND_STREAM_STARTED: MeetingEvent.Kind
    KIND_STREAM_ENDED: MeetingEvent.Kind
    KIND_NOTES_REQUESTED: MeetingEvent.Kind
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    EMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    FINALS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    stream_id: str
    participant: _transcription_pb2.Participant
    kind: MeetingEvent.Kind
    node: str
    emitted_at: _timestamp_pb2.Timestamp
    audio_received: _duration_pb2.Duration
    finals: int
    segments: int
    end_reason: str
    def __init__(self, meeting_id: _Optional[str] = ..., stream_id: _Optional[str] = ..., participant: _Optional[_Union[_transcription_pb2.Participant, _Mapping]] = ..., kind: _Optional[_Union[MeetingEvent.Kind, str]] = ..., node: _Optional[str] = ..., emitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., audio_received: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., finals: _Optional[int] = ..., segments: _Optional[int] = ..., end_reason: _Optional[str] = ...) -> None: ...
