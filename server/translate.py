"""Between wire messages (stenograph.v1) and engine terms: configs in, events out."""

from __future__ import annotations

import time

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from stenograph.v1 import events_pb2 as events
from stenograph.v1 import transcription_pb2 as pb

from server.settings import Settings
from streaming.audio import AudioDecoder, Encoding, make_decoder
from streaming.errors import InvalidConfig
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

_ENCODINGS: dict[int, Encoding] = {
    pb.AUDIO_ENCODING_LINEAR16: "linear16",
    pb.AUDIO_ENCODING_FLOAT32: "float32",
    pb.AUDIO_ENCODING_OGG_OPUS: "ogg_opus",
    pb.AUDIO_ENCODING_WEBM_OPUS: "webm_opus",
}
MAX_ID_CHARS = 128
#: Languages the node's model can transcribe; English-only models (".en") accept "en" only.
ENGLISH_ONLY_SUFFIX = ".en"


def _check_id(value: str, what: str) -> None:
    if not value:
        raise InvalidConfig(f"{what} is required")
    if len(value) > MAX_ID_CHARS or not value.isprintable():
        raise InvalidConfig(f"{what} must be at most {MAX_ID_CHARS} printable characters")


def validate_config(config: pb.StreamingConfig, settings: Settings, model_label: str) -> None:
    """Raise InvalidConfig for anything the node cannot serve."""
    _check_id(config.meeting_id, "meeting_id")
    _check_id(config.participant.id, "participant.id")
    if config.encoding not in _ENCODINGS:
        raise InvalidConfig("encoding must be LINEAR16, FLOAT32, OGG_OPUS or WEBM_OPUS")
    language = config.language or "en"
    if model_label.endswith(ENGLISH_ONLY_SUFFIX) and language.split("-")[0].lower() != "en":
        raise InvalidConfig(f"model {model_label} transcribes English only, not {language!r}")
    if config.model and config.model not in (model_label, settings.model):
        raise InvalidConfig(
            f"model {config.model!r} is not served here; this node runs {model_label}"
        )
    silence = config.endpointing.silence_ms
    if silence and not 100 <= silence <= 10_000:
        raise InvalidConfig("endpointing.silence_ms must be within 100..10000")


def make_stream_decoder(config: pb.StreamingConfig) -> AudioDecoder:
    return make_decoder(
        _ENCODINGS[config.encoding],
        config.sample_rate_hertz or 16_000,
        config.audio_channel_count or 1,
    )


def is_live(config: pb.StreamingConfig) -> bool:
    """Audio at real time from a microphone, as opposed to a recording sent as fast as possible."""
    return config.processing_mode != pb.PROCESSING_MODE_BATCH


def session_options(
    config: pb.StreamingConfig, settings: Settings, stream_id: str
) -> SessionOptions:
    return SessionOptions(
        stream_id=stream_id,
        language=(config.language or "en").split("-")[0].lower(),
        interim_results=config.interim_results if config.HasField("interim_results") else True,
        silence_ms=config.endpointing.silence_ms or settings.endpointing_ms,
        vad_threshold=settings.vad_threshold,
        partial_interval_s=settings.partial_interval_s,
        max_segment_s=settings.max_segment_s,
        max_pending_chunks=settings.max_pending_chunks,
    )


def duration(seconds: float) -> Duration:
    d = Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def _words(words: tuple[Word, ...]) -> list[pb.WordInfo]:
    return [
        pb.WordInfo(
            word=w.text,
            start=duration(w.start_s),
            end=duration(w.end_s),
            confidence=round(w.probability, 3),
        )
        for w in words
    ]


def to_response(
    event: SessionEvent, participant: pb.Participant, word_timestamps: bool
) -> pb.StreamingRecognizeResponse:
    match event:
        case SegmentUpdate():
            return pb.StreamingRecognizeResponse(
                result=pb.SpeechRecognitionResult(
                    segment_id=event.segment_id,
                    seq=event.seq,
                    is_final=event.is_final,
                    speech_final=event.speech_final,
                    stability=event.stability,
                    text=event.text,
                    start=duration(event.start_s),
                    end=duration(event.end_s),
                    words=_words(event.words) if word_timestamps else [],
                    participant=participant,
                )
            )
        case SpeechStarted():
            return pb.StreamingRecognizeResponse(
                speech_started=pb.SpeechStarted(timestamp=duration(event.timestamp_s))
            )
        case UtteranceEnd():
            return pb.StreamingRecognizeResponse(
                utterance_end=pb.UtteranceEnd(last_word_end=duration(event.last_word_end_s))
            )
        case EngineWarning():
            return pb.StreamingRecognizeResponse(
                warning=pb.StreamWarning(code=event.code, message=event.message)
            )
        case StreamSummary():
            return pb.StreamingRecognizeResponse(
                summary=pb.StreamSummary(
                    audio_received=duration(event.audio_received_s),
                    audio_processed=duration(event.audio_processed_s),
                    segments=event.segments,
                    finals=event.finals,
                )
            )


def now_timestamp() -> Timestamp:
    ts = Timestamp()
    ts.FromNanoseconds(time.time_ns())
    return ts


def transcript_event(
    update: SegmentUpdate,
    *,
    config: pb.StreamingConfig,
    stream_id: str,
    node: str,
    model: str,
    stream_started_at: Timestamp,
) -> events.TranscriptEvent:
    return events.TranscriptEvent(
        meeting_id=config.meeting_id,
        stream_id=stream_id,
        participant=config.participant,
        segment_id=update.segment_id,
        seq=update.seq,
        is_final=update.is_final,
        speech_final=update.speech_final,
        text=update.text,
        words=_words(update.words),
        start=duration(update.start_s),
        end=duration(update.end_s),
        node=node,
        model=model,
        emitted_at=now_timestamp(),
        stream_started_at=stream_started_at,
    )
