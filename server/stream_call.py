"""One stream from accepted to ended, the same for both transports.

A transport supplies a `ClientChannel` (receive client messages, send responses) and maps the
`StreamError` this may raise to its own status or close code. Everything else (validation,
limits, the idle timer, Kafka events, the closing summary) happens here, once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Protocol

from opentelemetry import trace
from stenograph.v1 import events_pb2 as events
from stenograph.v1 import transcription_pb2 as pb

from server import metrics
from server.logs import stream_context
from server.node import Node
from server.translate import (
    is_live,
    make_stream_decoder,
    now_timestamp,
    session_options,
    to_response,
    transcript_event,
    validate_config,
)
from streaming.audio import AudioDecoder, ContainerOpusDecoder, Pcm
from streaming.errors import IdleTimeout, InternalFailure, LimitExceeded, Overloaded, StreamError
from streaming.events import SegmentUpdate, StreamSummary
from streaming.recording_session import RecordingSession
from streaming.session import TranscriptionSession

log = logging.getLogger(__name__)
tracer = trace.get_tracer("stenograph.server")


class ClientGone(Exception):
    """The client disconnected without closing the stream."""


class ClientChannel(Protocol):
    async def receive(self) -> bytes | pb.Control | None:
        """Next client message; None when the client finished sending. Raises ClientGone."""

    async def send(self, response: pb.StreamingRecognizeResponse) -> None:
        """Raises ClientGone when the client is no longer there."""


def new_stream_id() -> str:
    return uuid.uuid4().hex[:12]


class StreamCall:
    def __init__(
        self, node: Node, config: pb.StreamingConfig, channel: ClientChannel, transport: str
    ) -> None:
        validate_config(config, node.settings, node.model_label)
        self.node = node
        self.config = config
        self.channel = channel
        self.transport = transport
        self.stream_id = new_stream_id()
        self._settings = node.settings
        self._decoder: AudioDecoder = make_stream_decoder(config)
        self._live = is_live(config)
        session = TranscriptionSession if self._live else RecordingSession
        self._session = session(
            node.scheduler, node.vad, session_options(config, node.settings, self.stream_id)
        )
        self._first_audio_at: float | None = None
        self._warned_ahead = False
        self._client_gone = False
        self._input_error: StreamError | None = None
        self._started_at = now_timestamp()

    async def run(self) -> None:
        """Serve the stream until its summary is sent. Raises StreamError or ClientGone."""
        cfg = self.config
        with (
            stream_context(cfg.meeting_id, self.stream_id, cfg.participant.id),
            tracer.start_as_current_span(
                "stenograph.stream",
                attributes={
                    "stenograph.meeting_id": cfg.meeting_id,
                    "stenograph.stream_id": self.stream_id,
                    "stenograph.transport": self.transport,
                },
            ),
        ):
            log.info("stream started", extra={"transport": self.transport})
            self._publish_meeting(events.MeetingEvent.KIND_STREAM_STARTED)
            outcome = "closed"
            try:
                await self._serve()
            except StreamError as e:
                outcome = e.status
                raise
            except ClientGone:
                outcome = "CANCELLED"
                raise
            except Exception as e:
                outcome = "INTERNAL"
                log.exception("stream failed")
                raise InternalFailure("internal error; the stream was ended") from e
            finally:
                self._decoder.close()
                metrics.STREAMS.labels(transport=self.transport, outcome=outcome).inc()
                self._publish_meeting(events.MeetingEvent.KIND_STREAM_ENDED, outcome)
                log.info(
                    "stream ended",
                    extra={"outcome": outcome, "audio_s": round(self._session.audio_received_s, 2)},
                )

    async def _serve(self) -> None:
        await self._send(
            pb.StreamingRecognizeResponse(
                metadata=pb.StreamMetadata(
                    request_id=self.stream_id,
                    meeting_id=self.config.meeting_id,
                    participant=self.config.participant,
                    model=self.node.model_label,
                    sample_rate=16_000,
                )
            )
        )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._session.run(), name=f"{self.stream_id}:session")
                tg.create_task(self._read_input(), name=f"{self.stream_id}:input")
                await self._write_output()
        except* (StreamError, ClientGone) as group:
            raise group.exceptions[0] from None
        if self._client_gone:
            raise ClientGone()
        if self._input_error is not None:
            raise self._input_error

    # -- client → engine ---------------------------------------------------------------------
    async def _read_input(self) -> None:
        """Feed the session until the input ends.

        When the client's input ends the stream with an error (idle, over a limit, bad audio),
        the audio already received is still flushed to finals (sent, and published to Kafka)
        before the error is reported: nothing acknowledged is lost.
        """
        try:
            await self._read_messages()
        except StreamError as e:
            self._input_error = e
            await self._session.close()

    async def _read_messages(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._settings.idle_timeout_s):
                    message = await self.channel.receive()
            except TimeoutError:
                raise IdleTimeout(
                    f"no audio for {self._settings.idle_timeout_s:g} s; send audio or KeepAlive"
                ) from None
            except ClientGone:
                # Keep what the client already sent: flush it to finals for Kafka.
                self._client_gone = True
                await self._end_input()
                return
            if message is None:
                await self._end_input()
                return
            if isinstance(message, bytes):
                await self._on_audio(message)
            elif message.command == pb.Control.COMMAND_FINALIZE:
                await self._session.finalize()
            elif message.command == pb.Control.COMMAND_CLOSE_STREAM:
                await self._end_input()
                return
            # COMMAND_KEEP_ALIVE only restarts the idle timer above.

    async def _decode(self, frame: bytes | None) -> Pcm:
        if isinstance(self._decoder, ContainerOpusDecoder):
            # Container decoding may wait on its decoder thread: keep it off the loop.
            if frame is None:
                return await asyncio.to_thread(self._decoder.flush)
            return await asyncio.to_thread(self._decoder.decode, frame)
        return self._decoder.flush() if frame is None else self._decoder.decode(frame)

    async def _on_audio(self, frame: bytes) -> None:
        limits = self._settings
        if len(frame) > limits.max_frame_bytes:
            raise LimitExceeded(
                f"audio frame of {len(frame)} bytes exceeds the {limits.max_frame_bytes}-byte limit"
            )
        pcm = await self._decode(frame)
        now = time.monotonic()
        if self._first_audio_at is None:
            self._first_audio_at = now
        received_s = self._session.audio_received_s + pcm.size / 16_000
        if received_s > limits.max_stream_audio_s:
            raise LimitExceeded(f"stream exceeds the {limits.max_stream_audio_s:g} s audio limit")
        if self._live:
            await self._check_pace(received_s - (now - self._first_audio_at))
        metrics.AUDIO_SECONDS.inc(pcm.size / 16_000)
        await self._session.push_audio(pcm)

    async def _check_pace(self, ahead_s: float) -> None:
        """A live stream may not run far ahead of real time (it would starve other streams)."""
        limits = self._settings
        if ahead_s > limits.live_ahead_limit_s:
            raise Overloaded(
                f"live stream is {ahead_s:.1f} s ahead of real time (limit "
                f"{limits.live_ahead_limit_s:g} s); send recordings with processing_mode BATCH"
            )
        if ahead_s > limits.live_ahead_warn_s and not self._warned_ahead:
            self._warned_ahead = True
            await self._session.warn(
                "CLIENT_AHEAD_OF_REAL_TIME",
                f"audio is arriving {ahead_s:.1f} s ahead of real time; the stream will be "
                f"closed beyond {limits.live_ahead_limit_s:g} s",
            )

    async def _end_input(self) -> None:
        await self._session.push_audio(await self._decode(None))
        await self._session.close()

    # -- engine → client and Kafka -----------------------------------------------------------
    async def _write_output(self) -> None:
        participant = self.config.participant
        words = self.config.word_timestamps
        async for event in self._session.events():
            if isinstance(event, SegmentUpdate):
                self._publish_transcript(event)
                metrics.RESULTS.labels(kind="final" if event.is_final else "partial").inc()
            elif isinstance(event, StreamSummary) and self._input_error is not None:
                break  # the summary belongs to a stream that closed normally
            await self._send(to_response(event, participant, words))

    async def _send(self, response: pb.StreamingRecognizeResponse) -> None:
        if self._client_gone:
            return
        try:
            await self.channel.send(response)
        except ClientGone:
            self._client_gone = True

    def _publish_transcript(self, update: SegmentUpdate) -> None:
        if self.node.publisher is None:
            return
        self.node.publisher.publish_transcript(
            transcript_event(
                update,
                config=self.config,
                stream_id=self.stream_id,
                node=self._settings.node_id,
                model=self.node.model_label,
                stream_started_at=self._started_at,
            )
        )

    def _publish_meeting(self, kind: events.MeetingEvent.Kind, reason: str = "") -> None:
        if self.node.publisher is None:
            return
        ended = kind == events.MeetingEvent.KIND_STREAM_ENDED
        event = events.MeetingEvent(
            meeting_id=self.config.meeting_id,
            stream_id=self.stream_id,
            participant=self.config.participant,
            kind=kind,
            node=self._settings.node_id,
            emitted_at=now_timestamp(),
            end_reason=reason,
        )
        if ended:
            event.audio_received.FromNanoseconds(round(self._session.audio_received_s * 1e9))
            summary = self._session.stats()
            event.finals = summary.finals
            event.segments = summary.segments
        self.node.publisher.publish_meeting(event)
