"""The wire contract: committed stubs match the protos, and the WebSocket mapping round-trips.

`stenograph.client.wire` is what both the server and the client use to turn
`StreamingRecognizeResponse`, `StreamingConfig` and `Control` into WebSocket JSON frames and
query parameters; these specs pin that mapping down message by message.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from stenograph.client import streaming_config
from stenograph.client.wire import (
    CONTROL_TYPES,
    RESPONSE_TYPES,
    STATUS_BY_WS_CLOSE,
    WS_CLOSE_CODES,
    WireFormatError,
    config_from_query,
    config_to_query,
    control_from_json,
    control_to_json,
    response_from_json,
    response_to_json,
)
from stenograph.v1 import transcription_pb2 as pb

COMMITTED = ROOT / "clients" / "python" / "stenograph" / "v1"


def _generated_files(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and "_pb2" in p.name and p.suffix in {".py", ".pyi"}
    }


# --- generated code ----------------------------------------------------------------------------


def test_committed_stubs_are_what_gen_protos_writes(tmp_path: Path) -> None:
    """Edit a .proto without regenerating, and this fails: the stubs would be stale."""
    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_protos.py"), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    fresh = _generated_files(tmp_path / "stenograph" / "v1")
    committed = _generated_files(COMMITTED)
    assert sorted(fresh) == sorted(committed), (
        f"not committed: {sorted(set(fresh) - set(committed))}; "
        f"committed but not generated: {sorted(set(committed) - set(fresh))}"
    )
    assert fresh, "gen_protos.py generated nothing"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"stale generated code; run `python scripts/gen_protos.py`: {stale}"
    # One module pair per proto, each with its gRPC module.
    protos = sorted(p.stem for p in (ROOT / "protos" / "stenograph" / "v1").glob("*.proto"))
    assert sorted({name.split("_pb2")[0] for name in fresh}) == protos


# --- server frames -----------------------------------------------------------------------------


def _result() -> pb.SpeechRecognitionResult:
    result = pb.SpeechRecognitionResult(
        segment_id="s1-3",
        seq=17,
        is_final=True,
        speech_final=True,
        stability=0.75,
        text="ask not what your country",
        participant=pb.Participant(id="ada", display_name="Ada Lovelace"),
    )
    result.start.FromMilliseconds(3_296)
    result.end.FromMilliseconds(6_048)
    for i, word in enumerate(result.text.split()):
        info = result.words.add(word=word, confidence=0.5 + i / 10)
        info.start.FromMilliseconds(3_296 + 500 * i)
        info.end.FromMilliseconds(3_696 + 500 * i)
    return result


def _samples() -> dict[str, pb.StreamingRecognizeResponse]:
    """One populated response per oneof case of StreamingRecognizeResponse."""
    R = pb.StreamingRecognizeResponse
    speech_started = R(speech_started=pb.SpeechStarted())
    speech_started.speech_started.timestamp.FromMilliseconds(352)
    utterance_end = R(utterance_end=pb.UtteranceEnd())
    utterance_end.utterance_end.last_word_end.FromMilliseconds(2_092)
    summary = R(summary=pb.StreamSummary(segments=3, finals=3))
    summary.summary.audio_received.FromMilliseconds(11_000)
    summary.summary.audio_processed.FromMilliseconds(10_968)
    return {
        "metadata": R(
            metadata=pb.StreamMetadata(
                request_id="4a58da994fa3",
                meeting_id="standup",
                participant=pb.Participant(id="ada", display_name="Ada Lovelace"),
                model="tiny.en",
                sample_rate=16_000,
            )
        ),
        "result": R(result=_result()),
        "speech_started": speech_started,
        "utterance_end": utterance_end,
        "warning": R(
            warning=pb.StreamWarning(code="CLIENT_AHEAD_OF_REAL_TIME", message="slow down")
        ),
        "summary": summary,
        "error": R(error=pb.StreamError(code="INVALID_ARGUMENT", message="bad sample rate")),
    }


RESPONSE_CASES = [
    f.name for f in pb.StreamingRecognizeResponse.DESCRIPTOR.oneofs_by_name["response"].fields
]


def test_every_response_case_has_a_frame_type() -> None:
    assert sorted(_samples()) == sorted(RESPONSE_CASES), "a new response needs a sample here"
    assert RESPONSE_TYPES == {
        "metadata": "Metadata",
        "result": "Results",
        "speech_started": "SpeechStarted",
        "utterance_end": "UtteranceEnd",
        "warning": "Warning",
        "summary": "Summary",
        "error": "Error",
    }


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_response_round_trips_through_a_json_text_frame(case: str) -> None:
    response = _samples()[case]
    frame = json.loads(json.dumps(response_to_json(response)))  # what travels is text
    assert frame["type"] == RESPONSE_TYPES[case]
    assert response_from_json(frame) == response


@pytest.mark.parametrize("case", RESPONSE_CASES)
def test_empty_response_keeps_its_case(case: str) -> None:
    """A message with only default fields still says which response it is."""
    response = pb.StreamingRecognizeResponse()
    getattr(response, case).SetInParent()
    parsed = response_from_json(json.loads(json.dumps(response_to_json(response))))
    assert parsed.WhichOneof("response") == case
    assert parsed == response


def test_results_frame_has_flat_snake_case_fields_and_seconds() -> None:
    frame = response_to_json(pb.StreamingRecognizeResponse(result=_result()))
    assert frame["type"] == "Results"
    assert frame["segment_id"] == "s1-3" and frame["seq"] == 17
    assert frame["is_final"] is True and frame["speech_final"] is True
    assert frame["start"] == 3.296 and frame["end"] == 6.048
    assert frame["participant"] == {"id": "ada", "display_name": "Ada Lovelace"}
    assert frame["words"][0] == {"word": "ask", "start": 3.296, "end": 3.696, "confidence": 0.5}
    assert frame["stability"] == pytest.approx(0.75)


def test_durations_are_rounded_to_milliseconds() -> None:
    response = pb.StreamingRecognizeResponse(speech_started=pb.SpeechStarted())
    response.speech_started.timestamp.FromNanoseconds(1_234_567_891)
    assert response_to_json(response) == {"type": "SpeechStarted", "timestamp": 1.235}


def test_unset_submessages_are_null_and_defaults_are_written() -> None:
    frame = response_to_json(
        pb.StreamingRecognizeResponse(result=pb.SpeechRecognitionResult(segment_id="x"))
    )
    assert frame["start"] is None and frame["participant"] is None
    assert frame["is_final"] is False and frame["text"] == "" and frame["words"] == []
    assert response_from_json(frame).result == pb.SpeechRecognitionResult(segment_id="x")


def test_frames_from_newer_servers_parse() -> None:
    """Unknown fields are ignored, so a client keeps working against a newer node."""
    frame = response_to_json(pb.StreamingRecognizeResponse(result=_result()))
    frame["language_confidence"] = 0.9
    assert response_from_json(frame).result == _result()


def test_unknown_and_empty_frames_are_rejected() -> None:
    with pytest.raises(WireFormatError, match="unknown frame type"):
        response_from_json({"type": "Transcript", "text": "hi"})
    with pytest.raises(WireFormatError, match="unknown frame type"):
        response_from_json({"text": "no type"})
    with pytest.raises(WireFormatError):
        response_to_json(pb.StreamingRecognizeResponse())


# --- stream configuration as query parameters --------------------------------------------------

CONFIGS = {
    "defaults": streaming_config(meeting_id="standup", participant_id="ada"),
    "named batch": streaming_config(
        meeting_id="board meeting/2024", participant_id="ada@x", display_name="Ada L", batch=True
    ),
    "float32 stereo 48k": streaming_config(
        meeting_id="m",
        participant_id="p",
        encoding=pb.AUDIO_ENCODING_FLOAT32,
        sample_rate_hertz=48_000,
        channels=2,
    ),
    "opus, no partials, no words, endpointing": streaming_config(
        meeting_id="m",
        participant_id="p",
        encoding=pb.AUDIO_ENCODING_OGG_OPUS,
        interim_results=False,
        word_timestamps=False,
        endpointing_ms=800,
    ),
    "webm, english variant": streaming_config(
        meeting_id="m", participant_id="p", encoding=pb.AUDIO_ENCODING_WEBM_OPUS, language="en-GB"
    ),
}


def _canonical(config: pb.StreamingConfig) -> pb.StreamingConfig:
    """`config` with an empty EndpointingConfig (same meaning as none: the server default)."""
    canonical = pb.StreamingConfig()
    canonical.CopyFrom(config)
    if not canonical.endpointing.silence_ms:
        canonical.ClearField("endpointing")
    return canonical


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_round_trips_through_query_parameters(name: str) -> None:
    config = CONFIGS[name]
    query = config_to_query(config)
    assert all(isinstance(v, str) for v in query.values())
    assert config_from_query(query) == _canonical(config)


def test_config_with_model_round_trips() -> None:
    config = streaming_config(meeting_id="m", participant_id="p")
    config.model = "tiny.en"
    assert config_to_query(config)["model"] == "tiny.en"
    assert config_from_query(config_to_query(config)) == _canonical(config)


def test_query_defaults_are_a_live_16k_linear16_english_stream() -> None:
    config = config_from_query({"meeting": "standup", "participant": "ada"})
    assert config.meeting_id == "standup"
    assert config.participant == pb.Participant(id="ada", display_name="ada")
    assert config.language == "en"
    assert config.encoding == pb.AUDIO_ENCODING_LINEAR16
    assert config.sample_rate_hertz == 16_000 and config.audio_channel_count == 1
    assert config.word_timestamps is True
    assert config.processing_mode == pb.PROCESSING_MODE_LIVE
    assert not config.HasField("interim_results"), "unset means the server default (true)"
    assert config.endpointing.silence_ms == 0 and config.model == ""


def test_query_values_are_case_insensitive_where_they_name_things() -> None:
    config = config_from_query(
        {"meeting": "m", "participant": "p", "encoding": "FLOAT32", "mode": "Batch"}
    )
    assert config.encoding == pb.AUDIO_ENCODING_FLOAT32
    assert config.processing_mode == pb.PROCESSING_MODE_BATCH
    assert (
        config_from_query(
            {"meeting": "m", "participant": "p", "interim_results": "No"}
        ).interim_results
        is False
    )


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("encoding", "mp3"),
        ("mode", "turbo"),
        ("sample_rate", "fast"),
        ("channels", "two"),
        ("endpointing", "1.5s"),
        ("interim_results", "maybe"),
        ("word_timestamps", "sometimes"),
    ],
)
def test_bad_query_parameters_are_rejected_by_name(parameter: str, value: str) -> None:
    with pytest.raises(WireFormatError, match=parameter):
        config_from_query({"meeting": "m", "participant": "p", parameter: value})


# --- control frames and close codes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame_type", "command"),
    [
        ("KeepAlive", pb.Control.COMMAND_KEEP_ALIVE),
        ("Finalize", pb.Control.COMMAND_FINALIZE),
        ("CloseStream", pb.Control.COMMAND_CLOSE_STREAM),
    ],
)
def test_control_frames(frame_type: str, command: pb.Control.Command) -> None:
    assert control_to_json(command) == {"type": frame_type}
    assert control_from_json(json.loads(json.dumps({"type": frame_type}))) == pb.Control(
        command=command
    )


def test_every_control_command_has_a_frame() -> None:
    commands = set(pb.Control.Command.values()) - {pb.Control.COMMAND_UNSPECIFIED}
    assert set(CONTROL_TYPES.values()) == commands


def test_unknown_control_frames_are_rejected() -> None:
    with pytest.raises(WireFormatError, match="CloseStream"):
        control_from_json({"type": "Close"})
    with pytest.raises(WireFormatError):
        control_from_json({})
    with pytest.raises(WireFormatError):
        control_to_json(pb.Control.COMMAND_UNSPECIFIED)


def test_close_codes_map_one_to_one_onto_status_names() -> None:
    assert WS_CLOSE_CODES["OK"] == 1000
    assert {STATUS_BY_WS_CLOSE[code]: code for code in STATUS_BY_WS_CLOSE} == WS_CLOSE_CODES
    assert len(set(WS_CLOSE_CODES.values())) == len(WS_CLOSE_CODES)
