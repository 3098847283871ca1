"""The recognition engine: audio in, partial and final captions out. Knows nothing of transports."""

from streaming.errors import (
    IdleTimeout,
    InternalFailure,
    InvalidAudio,
    InvalidConfig,
    LimitExceeded,
    NodeFull,
    Overloaded,
    StreamError,
)
from streaming.events import (
    EngineWarning,
    SegmentUpdate,
    SessionEvent,
    SpeechStarted,
    StreamSummary,
    UtteranceEnd,
    Word,
)
from streaming.options import SessionOptions
from streaming.recognizer import WhisperRecognizer, load_whisper
from streaming.scheduler import InferenceScheduler
from streaming.session import TranscriptionSession
from streaming.vad import SileroVoiceDetector

__all__ = [
    "EngineWarning",
    "IdleTimeout",
    "InferenceScheduler",
    "InternalFailure",
    "InvalidAudio",
    "InvalidConfig",
    "LimitExceeded",
    "NodeFull",
    "Overloaded",
    "SegmentUpdate",
    "SessionEvent",
    "SessionOptions",
    "SileroVoiceDetector",
    "SpeechStarted",
    "StreamError",
    "StreamSummary",
    "TranscriptionSession",
    "UtteranceEnd",
    "WhisperRecognizer",
    "Word",
    "load_whisper",
]
