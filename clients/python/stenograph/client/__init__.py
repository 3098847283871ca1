"""Asyncio clients for Stenograph's live transcription, over gRPC or WebSocket."""

from stenograph.client.errors import TranscriptionError
from stenograph.client.grpc_client import GrpcTranscriptionClient, GrpcTranscriptionStream
from stenograph.client.stream import TranscriptionStream
from stenograph.client.ws_client import WebSocketTranscriptionClient, WebSocketTranscriptionStream
from stenograph.v1 import transcription_pb2 as pb


def streaming_config(
    *,
    meeting_id: str,
    participant_id: str,
    display_name: str = "",
    sample_rate_hertz: int = 16000,
    encoding: pb.AudioEncoding = pb.AUDIO_ENCODING_LINEAR16,
    channels: int = 1,
    language: str = "en",
    interim_results: bool = True,
    word_timestamps: bool = True,
    batch: bool = False,
    endpointing_ms: int = 0,
) -> pb.StreamingConfig:
    """A StreamingConfig with the common fields filled in."""
    return pb.StreamingConfig(
        meeting_id=meeting_id,
        participant=pb.Participant(id=participant_id, display_name=display_name or participant_id),
        language=language,
        encoding=encoding,
        sample_rate_hertz=sample_rate_hertz,
        audio_channel_count=channels,
        interim_results=interim_results,
        word_timestamps=word_timestamps,
        processing_mode=pb.PROCESSING_MODE_BATCH if batch else pb.PROCESSING_MODE_LIVE,
        endpointing=pb.EndpointingConfig(silence_ms=endpointing_ms),
    )


__all__ = [
    "GrpcTranscriptionClient",
    "GrpcTranscriptionStream",
    "TranscriptionError",
    "TranscriptionStream",
    "WebSocketTranscriptionClient",
    "WebSocketTranscriptionStream",
    "streaming_config",
]
