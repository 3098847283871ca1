import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_ENCODING_UNSPECIFIED: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_LINEAR16: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_FLOAT32: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_OGG_OPUS: _ClassVar[AudioEncoding]
    AUDIO_ENCODING_WEBM_OPUS: _ClassVar[AudioEncoding]

class ProcessingMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROCESSING_MODE_UNSPECIFIED: _ClassVar[ProcessingMode]
    PROCESSING_MODE_LIVE: _ClassVar[ProcessingMode]
    PROCESSING_MODE_BATCH: _ClassVar[ProcessingMode]
AUDIO_ENCODING_UNSPECIFIED: AudioEncoding
AUDIO_ENCODING_LINEAR16: AudioEncoding
AUDIO_ENCODING_FLOAT32: AudioEncoding
AUDIO_ENCODING_OGG_OPUS: AudioEncoding
AUDIO_ENCODING_WEBM_OPUS: AudioEncoding
PROCESSING_MODE_UNSPECIFIED: ProcessingMode
PROCESSING_MODE_LIVE: ProcessingMode
PROCESSING_MODE_BATCH: ProcessingMode

class StreamingRecognizeRequest(_message.Message):
    __slots__ = ("streaming_config", "audio_content", "control")
    STREAMING_CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    streaming_config: StreamingConfig
    audio_content: bytes
    control: Control
    def __init__(self, streaming_config: _Optional[_Union[StreamingConfig, _Mapping]] = ..., audio_content: _Optional[bytes] = ..., control: _Optional[_Union[Control, _Mapping]] = ...) -> None: ...

class Participant(_message.Message):
    __slots__ = ("id", "display_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    display_name: str
    def __init__(self, id: _Optional[str] = ..., display_name: _Optional[str] = ...) -> None: ...

class EndpointingConfig(_message.Message):
    __slots__ = ("silence_ms",)
    SILENCE_MS_FIELD_NUMBER: _ClassVar[int]
    silence_ms: int
    def __init__(self, silence_ms: _Optional[int] = ...) -> None: ...

class StreamingConfig(_message.Message):
    __slots__ = ("meeting_id", "participant", "language", "encoding", "sample_rate_hertz", "audio_channel_count", "interim_results", "model", "endpointing", "word_timestamps", "processing_mode")
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HERTZ_FIELD_NUMBER: _ClassVar[int]
    AUDIO_CHANNEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    INTERIM_RESULTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTING_FIELD_NUMBER: _ClassVar[int]
    WORD_TIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_MODE_FIELD_NUMBER: _ClassVar[int]
    meeting_id: str
    participant: Participant
    language: str
    encoding: AudioEncoding
    sample_rate_hertz: int
    audio_channel_count: int
    interim_results: bool
    model: str
    endpointing: EndpointingConfig
    word_timestamps: bool
    processing_mode: ProcessingMode
    def __init__(self, meeting_id: _Optional[str] = ..., participant: _Optional[_Union[Participant, _Mapping]] = ..., language: _Optional[str] = ..., encoding: _Optional[_Union[AudioEncoding, str]] = ..., sample_rate_hertz: _Optional[int] = ..., audio_channel_count: _Optional[int] = ..., interim_results: _Optional[bool] = ..., model: _Optional[str] = ..., endpointing: _Optional[_Union[EndpointingConfig, _Mapping]] = ..., word_timestamps: _Optional[bool] = ..., processing_mode: _Optional[_Union[ProcessingMode, str]] = ...) -> None: ...

class Control(_message.Message):
    __slots__ = ("command",)
    class Command(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        COMMAND_UNSPECIFIED: _ClassVar[Control.Command]
        COMMAND_FINALIZE: _ClassVar[Control.Command]
        COMMAND_KEEP_ALIVE: _ClassVar[Control.Command]
        COMMAND_CLOSE_STREAM: _ClassVar[Control.Command]
    COMMAND_UNSPECIFIED: Control.Command
    COMMAND_FINALIZE: Control.Command
    COMMAND_KEEP_ALIVE: Control.Command
    COMMAND_CLOSE_STREAM: Control.Command
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    command: Control.Command
    def __init__(self, command: _Optional[_Union[Control.Command, str]] = ...) -> None: ...

class StreamingRecognizeResponse(_message.Message):
    __slots__ = ("metadata", "result", "speech_started", "utterance_end", "warning", "summary", "error")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    SPEECH_STARTED_FIELD_NUMBER: _ClassVar[int]
    UTTERANCE_END_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    metadata: StreamMetadata
    result: SpeechRecognitionResult
    speech_started: SpeechStarted
    utterance_end: UtteranceEnd
    warning: StreamWarning
    summary: StreamSummary
    error: StreamError
    def __init__(self, metadata: _Optional[_Union[StreamMetadata, _Mapping]] = ..., result: _Optional[_Union[SpeechRecognitionResult, _Mapping]] = ..., speech_started: _Optional[_Union[SpeechStarted, _Mapping]] = ..., utterance_end: _Optional[_Union[UtteranceEnd, _Mapping]] = ..., warning: _Optional[_Union[StreamWarning, _Mapping]] = ..., summary: _Optional[_Union[StreamSummary, _Mapping]] = ..., error: _Optional[_Union[StreamError, _Mapping]] = ...) -> None: ...

class StreamMetadata(_message.Message):
    __slots__ = ("request_id", "meeting_id", "participant", "model", "sample_rate")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    MEETING_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    meeting_id: str
    participant: Participant
    model: str
    sample_rate: int
    def __init__(self, request_id: _Optional[str] = ..., meeting_id: _Optional[str] = ..., participant: _Optional[_Union[Participant, _Mapping]] = ..., model: _Optional[str] = ..., sample_rate: _Optional[int] = ...) -> None: ...

class WordInfo(_message.Message):
    __slots__ = ("word", "start", "end", "confidence")
    WORD_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    word: str
    start: _duration_pb2.Duration
    end: _duration_pb2.Duration
    confidence: float
    def __init__(self, word: _Optional[str] = ..., start: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., confidence: _Optional[float] = ...) -> None: ...

class SpeechRecognitionResult(_message.Message):
    __slots__ = ("segment_id", "seq", "is_final", "speech_final", "stability", "text", "start", "end", "words", "participant")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FINAL_FIELD_NUMBER: _ClassVar[int]
    STABILITY_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_FIELD_NUMBER: _ClassVar[int]
    segment_id: str
    seq: int
    is_final: bool
    speech_final: bool
    stability: float
    text: str
    start: _duration_pb2.Duration
    end: _duration_pb2.Duration
    words: _containers.RepeatedCompositeFieldContainer[WordInfo]
    participant: Participant
    def __init__(self, segment_id: _Optional[str] = ..., seq: _Optional[int] = ..., is_final: _Optional[bool] = ..., speech_final: _Optional[bool] = ..., stability: _Optional[float] = ..., text: _Optional[str] = ..., start: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., end: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., words: _Optional[_Iterable[_Union[WordInfo, _Mapping]]] = ..., participant: _Optional[_Union[Participant, _Mapping]] = ...) -> None: ...

class SpeechStarted(_message.Message):
    __slots__ = ("timestamp",)
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    timestamp: _duration_pb2.Duration
    def __init__(self, timestamp: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class UtteranceEnd(_message.Message):
    __slots__ = ("last_word_end",)
    LAST_WORD_END_FIELD_NUMBER: _ClassVar[int]
    last_word_end: _duration_pb2.Duration
    def __init__(self, last_word_end: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class StreamWarning(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class StreamError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class StreamSummary(_message.Message):
    __slots__ = ("audio_received", "audio_processed", "segments", "finals")
    AUDIO_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    AUDIO_PROCESSED_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    FINALS_FIELD_NUMBER: _ClassVar[int]
    audio_received: _duration_pb2.Duration
    audio_processed: _duration_pb2.Duration
    segments: int
    finals: int
    def __init__(self, audio_received: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., audio_processed: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., segments: _Optional[int] = ..., finals: _Optional[int] = ...) -> None: ...
