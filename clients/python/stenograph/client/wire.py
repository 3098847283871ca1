"""The WebSocket form of the stenograph.v1 messages, derived from the protos.

Server frames are `StreamingRecognizeResponse` messages written as one JSON object each: the
oneof case picks `"type"`, the message's fields follow in snake_case, and every
`google.protobuf.Duration` becomes a number of seconds. Query parameters map onto
`StreamingConfig`, and control frames onto `Control`. Both the server and this client use
these functions, so the two sides cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message

from stenograph.v1 import transcription_pb2 as pb

#: `"type"` of each server frame, by the oneof case of StreamingRecognizeResponse.
RESPONSE_TYPES: dict[str, str] = {
    "metadata": "Metadata",
    "result": "Results",
    "speech_started": "SpeechStarted",
    "utterance_end": "UtteranceEnd",
    "warning": "Warning",
    "summary": "Summary",
    "error": "Error",
}
_RESPONSE_CASES = {v: k for k, v in RESPONSE_TYPES.items()}

#: Control frames, Deepgram's vocabulary.
CONTROL_TYPES: dict[str, pb.Control.Command] = {
    "KeepAlive": pb.Control.COMMAND_KEEP_ALIVE,
    "Finalize": pb.Control.COMMAND_FINALIZE,
    "CloseStream": pb.Control.COMMAND_CLOSE_STREAM,
}

#: WebSocket close code for each gRPC status a stream can end with; the same cause gets the
#: same answer on both transports.
WS_CLOSE_CODES: dict[str, int] = {
    "OK": 1000,
    "INVALID_ARGUMENT": 4400,
    "UNAUTHENTICATED": 4401,
    "DEADLINE_EXCEEDED": 1008,
    "OUT_OF_RANGE": 4008,
    "RESOURCE_EXHAUSTED": 1013,
    "INTERNAL": 1011,
    "UNAVAILABLE": 1012,
}
STATUS_BY_WS_CLOSE: dict[int, str] = {v: k for k, v in WS_CLOSE_CODES.items()}

_ENCODINGS: dict[str, pb.AudioEncoding] = {
    "linear16": pb.AUDIO_ENCODING_LINEAR16,
    "float32": pb.AUDIO_ENCODING_FLOAT32,
    "opus": pb.AUDIO_ENCODING_OGG_OPUS,
    "webm": pb.AUDIO_ENCODING_WEBM_OPUS,
}
_MODES: dict[str, pb.ProcessingMode] = {
    "live": pb.PROCESSING_MODE_LIVE,
    "batch": pb.PROCESSING_MODE_BATCH,
}


class WireFormatError(ValueError):
    """A frame or query parameter that does not match the protocol."""


def _is_duration(field: Any) -> bool:
    return bool(
        field.type == FieldDescriptor.TYPE_MESSAGE
        and field.message_type.full_name == Duration.DESCRIPTOR.full_name
    )


def _value_to_json(field: Any, value: Any) -> Any:
    if _is_duration(field):
        return round(value.ToTimedelta().total_seconds(), 3)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_json(value)
    if field.type == FieldDescriptor.TYPE_ENUM:
        return field.enum_type.values_by_number[value].name
    if field.type == FieldDescriptor.TYPE_FLOAT:
        # float32 fields would print as 0.3330000042915344; keep what the value means.
        return round(value, 4)
    return value


def message_to_json(message: Message) -> dict[str, Any]:
    """Every field of `message` (defaults included), durations as seconds."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.is_repeated:
            out[field.name] = [_value_to_json(field, v) for v in value]
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not message.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _value_to_json(field, value)
    return out


def _value_from_json(field: Any, target: Message, raw: Any) -> None:
    if _is_duration(field):
        getattr(target, field.name).FromNanoseconds(round(float(raw) * 1e9))
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        json_to_message(raw, getattr(target, field.name))
    elif field.type == FieldDescriptor.TYPE_ENUM:
        setattr(target, field.name, field.enum_type.values_by_name[raw].number)
    else:
        setattr(target, field.name, raw)


def json_to_message(data: Mapping[str, Any], target: Message) -> Message:
    """Fill `target` from the shape `message_to_json` writes; unknown keys are ignored."""
    fields = target.DESCRIPTOR.fields_by_name
    for key, raw in data.items():
        field = fields.get(key)
        if field is None or raw is None:
            continue
        if field.is_repeated:
            container = getattr(target, key)
            for item in raw:
                if field.type == FieldDescriptor.TYPE_MESSAGE:
                    json_to_message(item, container.add())
                else:
                    container.append(item)
        else:
            _value_from_json(field, target, raw)
    return target


def response_to_json(response: pb.StreamingRecognizeResponse) -> dict[str, Any]:
    """The WebSocket text frame for one response."""
    case = response.WhichOneof("response")
    if case is None:
        raise WireFormatError("empty StreamingRecognizeResponse")
    return {"type": RESPONSE_TYPES[case], **message_to_json(getattr(response, case))}


def response_from_json(frame: Mapping[str, Any]) -> pb.StreamingRecognizeResponse:
    """Parse a server text frame back into the response message."""
    case = _RESPONSE_CASES.get(str(frame.get("type")))
    if case is None:
        raise WireFormatError(f"unknown frame type {frame.get('type')!r}")
    response = pb.StreamingRecognizeResponse()
    body = {k: v for k, v in frame.items() if k != "type"}
    json_to_message(body, getattr(response, case))
    # An empty sub-message must still select its oneof case.
    getattr(response, case).SetInParent()
    return response


def control_from_json(frame: Mapping[str, Any]) -> pb.Control:
    """Parse a client control frame such as `{"type": "Finalize"}`."""
    command = CONTROL_TYPES.get(str(frame.get("type")))
    if command is None:
        raise WireFormatError(
            f"unknown control message type {frame.get('type')!r}; "
            f"expected one of {sorted(CONTROL_TYPES)}"
        )
    return pb.Control(command=command)


def control_to_json(command: pb.Control.Command) -> dict[str, str]:
    for name, value in CONTROL_TYPES.items():
        if value == command:
            return {"type": name}
    raise WireFormatError(f"no WebSocket control message for command {command}")


def _flag(raw: str, name: str) -> bool:
    lowered = raw.lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise WireFormatError(f"{name} must be true or false, not {raw!r}")


def _number(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise WireFormatError(f"{name} must be an integer, not {raw!r}") from None


def config_from_query(query: Mapping[str, str]) -> pb.StreamingConfig:
    """The StreamingConfig that `GET /v1/stream?…` asks for."""
    encoding_name = query.get("encoding", "linear16").lower()
    if encoding_name not in _ENCODINGS:
        raise WireFormatError(
            f"encoding must be one of {sorted(_ENCODINGS)}, not {encoding_name!r}"
        )
    mode_name = query.get("mode", "live").lower()
    if mode_name not in _MODES:
        raise WireFormatError(f"mode must be one of {sorted(_MODES)}, not {mode_name!r}")
    config = pb.StreamingConfig(
        meeting_id=query.get("meeting", ""),
        participant=pb.Participant(
            id=query.get("participant", ""),
            display_name=query.get("participant_name", query.get("participant", "")),
        ),
        language=query.get("language", "en"),
        encoding=_ENCODINGS[encoding_name],
        sample_rate_hertz=_number(query.get("sample_rate", "16000"), "sample_rate"),
        audio_channel_count=_number(query.get("channels", "1"), "channels"),
        model=query.get("model", ""),
        word_timestamps=_flag(query.get("word_timestamps", "true"), "word_timestamps"),
        processing_mode=_MODES[mode_name],
    )
    if "interim_results" in query:
        config.interim_results = _flag(query["interim_results"], "interim_results")
    if "endpointing" in query:
        config.endpointing.silence_ms = _number(query["endpointing"], "endpointing")
    return config


def config_to_query(config: pb.StreamingConfig) -> dict[str, str]:
    """Query parameters for `config`; the inverse of `config_from_query`."""
    encodings = {v: k for k, v in _ENCODINGS.items()}
    query = {
        "meeting": config.meeting_id,
        "participant": config.participant.id,
        "participant_name": config.participant.display_name or config.participant.id,
        "language": config.language or "en",
        "encoding": encodings.get(config.encoding, "linear16"),
        "sample_rate": str(config.sample_rate_hertz or 16000),
        "channels": str(config.audio_channel_count or 1),
        "word_timestamps": str(config.word_timestamps).lower(),
        "mode": "batch" if config.processing_mode == pb.PROCESSING_MODE_BATCH else "live",
    }
    if config.model:
        query["model"] = config.model
    if config.HasField("interim_results"):
        query["interim_results"] = str(config.interim_results).lower()
    if config.endpointing.silence_ms:
        query["endpointing"] = str(config.endpointing.silence_ms)
    return query
