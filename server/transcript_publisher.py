"""Publishing transcript and meeting events into Kafka, without ever holding up captions.

``publish_*`` only serialises the event and puts it on a bounded in-memory queue; one
background task hands queued records to the producer. When Kafka is slow or away, the queue
fills and new records are dropped (logged and counted), so a live caption never waits on
Kafka. Records are keyed by meeting id, so a meeting's events stay in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.propagate import inject
from prometheus_client import Counter
from stenograph.v1.events_pb2 import MeetingEvent, TranscriptEvent

from server.kafka_topics import ensure_topics, topic_specs
from server.settings import Settings

log = logging.getLogger(__name__)

PUBLISHED: Final = Counter(
    "stenograph_kafka_records_published", "Records the broker acknowledged.", ["topic"]
)
PUBLISH_ERRORS: Final = Counter(
    "stenograph_kafka_publish_errors", "Records the producer failed to deliver.", ["topic"]
)
DROPPED: Final = Counter(
    "stenograph_kafka_records_dropped",
    "Records never handed to the producer: queue full, or still queued at shutdown.",
    ["topic"],
)

CONTENT_TYPE: Final = b"application/json"
#: One warning per this many seconds and kind; the rest are counted, not logged.
_WARN_INTERVAL_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class _Record:
    topic: str
    key: bytes
    value: bytes | None  # None: a tombstone
    headers: list[tuple[str, bytes]]
    #: Resolved once the broker has the record (or failed when it never will), for a caller
    #: that must know; captions do not wait.
    delivered: asyncio.Future[None] | None = None

    def settle(self, error: BaseException | None = None) -> None:
        if self.delivered is None or self.delivered.done():
            return
        if error is None:
            self.delivered.set_result(None)
        else:
            self.delivered.set_exception(error)


def encode_event(event: Message) -> bytes:
    """The proto JSON mapping of ``event`` (field names as in the .proto), compact UTF-8."""
    mapping = json_format.MessageToDict(event, preserving_proto_field_name=True)
    return json.dumps(mapping, separators=(",", ":"), ensure_ascii=False).encode()


def record_headers(schema: str) -> list[tuple[str, bytes]]:
    """Content type, schema name, and the caller's W3C trace context (if any is active)."""
    carrier: dict[str, str] = {}
    inject(carrier)
    return [
        ("content-type", CONTENT_TYPE),
        ("schema", schema.encode()),
        *((name, value.encode()) for name, value in carrier.items()),
    ]


class TranscriptPublisher:
    """Publishes TranscriptEvents and MeetingEvents; all methods run on one event loop."""

    def __init__(
        self,
        settings: Settings,
        bootstrap_servers: str,
        *,
        connect_timeout_s: float = 10.0,
        request_timeout_s: float = 30.0,
        reconnect_max_s: float = 30.0,
    ) -> None:
        self._settings = settings
        self._bootstrap = bootstrap_servers
        self._connect_timeout_s = connect_timeout_s
        self._request_timeout_s = request_timeout_s
        self._reconnect_max_s = reconnect_max_s
        self._queue: asyncio.Queue[_Record] | None = None
        self._producer: Any = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._in_flight: dict[asyncio.Future[Any], _Record] = {}
        self._last_warned: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    @property
    def connected(self) -> bool:
        """Whether a producer is up (it may still be failing to reach the broker)."""
        return self._producer is not None

    @property
    def queued(self) -> int:
        return self._queue.qsize() if self._queue is not None else 0

    async def start(self) -> None:
        """Create missing topics and start the producer.

        Does not fail when Kafka is unreachable: the node keeps serving captions and the
        background task keeps trying to connect, queueing (then dropping) records meanwhile.
        """
        if self._queue is not None:
            raise RuntimeError("TranscriptPublisher already started")
        self._queue = asyncio.Queue(self._settings.publish_queue_size)
        try:
            await asyncio.wait_for(self._connect(), self._connect_timeout_s)
        except Exception as exc:
            log.warning(
                "Kafka at %s is not reachable (%r); publishing once it is", self._bootstrap, exc
            )
        self._task = asyncio.create_task(self._run(), name="transcript-publisher")

    async def _connect(self) -> None:
        await ensure_topics(
            self._bootstrap,
            topic_specs(self._settings),
            client_id=f"{self._settings.kafka_client_id}-admin",
            request_timeout_s=self._connect_timeout_s,
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._settings.kafka_client_id,
            acks="all",
            enable_idempotence=self._settings.kafka_idempotence,
            # A few ms of batching merges the finals and partials of concurrent streams into
            # one request; far below what a caption consumer would notice.
            linger_ms=5,
            # Only gzip is built into aiokafka (lz4/snappy/zstd need extra packages); JSON
            # compresses several-fold.
            compression_type="gzip",
            request_timeout_ms=int(self._request_timeout_s * 1000),
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        log.info("publishing to Kafka at %s", self._bootstrap)

    # --- the caller's side: never blocks, never raises -----------------------------------

    def publish_transcript(self, event: TranscriptEvent) -> None:
        """Queue a final (transcripts topic) or partial (partials topic) for Kafka."""
        topic = (
            self._settings.transcripts_topic if event.is_final else self._settings.partials_topic
        )
        self._enqueue(topic, event, "stenograph.v1.TranscriptEvent")

    def publish_meeting(self, event: MeetingEvent) -> None:
        """Queue a stream start/end event for the meetings topic."""
        self._enqueue(self._settings.meetings_topic, event, "stenograph.v1.MeetingEvent")

    async def tombstone_notes(self, meeting_id: str, timeout_s: float = 5.0) -> None:
        """Publish a tombstone, so compaction erases the meeting's notes from the notes topic.

        Returns once the broker has it, or after ``timeout_s`` with a warning when Kafka is
        away (it then stays queued like any record, unless the queue is full).
        """
        delivered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Retrieved, so a failure after the wait gave up (counted where it happens) is not
        # also reported by asyncio as "never retrieved".
        delivered.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._put(_Record(self._settings.notes_topic, meeting_id.encode(), None, [], delivered))
        try:
            await asyncio.wait_for(asyncio.shield(delivered), timeout_s)
        except Exception as exc:
            log.warning(
                "the notes tombstone is not on the broker: %r",
                exc,
                extra={"meeting_id": meeting_id},
            )

    def _enqueue(self, topic: str, event: TranscriptEvent | MeetingEvent, schema: str) -> None:
        try:
            # Serialised now, not in the background task: the caller may reuse the message,
            # and the trace context to propagate is the caller's.
            record = _Record(
                topic, event.meeting_id.encode(), encode_event(event), record_headers(schema)
            )
        except Exception:
            PUBLISH_ERRORS.labels(topic).inc()
            log.exception("cannot encode a %s for %s", schema, topic)
            return
        self._put(record)

    def _put(self, record: _Record) -> None:
        topic = record.topic
        if self._queue is None or self._closing:
            DROPPED.labels(topic).inc()
            record.settle(RuntimeError("publisher not running"))
            self._warn("closed", "publisher not running: dropped a record for %s", topic)
            return
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            DROPPED.labels(topic).inc()
            record.settle(RuntimeError("publish queue full"))
            self._warn(
                "full",
                "Kafka publish queue full (%d records): dropped a record for %s",
                self._queue.maxsize,
                topic,
            )

    # --- the background side --------------------------------------------------------------

    async def _run(self) -> None:
        assert self._queue is not None
        backoff = 0.5
        while self._producer is None:
            await asyncio.sleep(backoff)
            try:
                await asyncio.wait_for(self._connect(), self._connect_timeout_s)
            except Exception as exc:
                self._warn("connect", "still cannot reach Kafka at %s: %r", self._bootstrap, exc)
                backoff = min(backoff * 2, self._reconnect_max_s)
        while True:
            record = await self._queue.get()
            try:
                await self._send(record)
            finally:
                self._queue.task_done()

    async def _send(self, record: _Record) -> None:
        try:
            # Returns once the record is in the producer's batch, not once it is delivered;
            # waits only when the producer has no metadata or no room, which is what makes
            # our queue fill up (and drop) while the broker is away.
            delivery = await self._producer.send(
                record.topic, record.value, key=record.key, headers=record.headers
            )
        except asyncio.CancelledError:
            DROPPED.labels(record.topic).inc()
            record.settle(RuntimeError("publisher stopped"))
            raise
        except Exception as exc:
            PUBLISH_ERRORS.labels(record.topic).inc()
            record.settle(exc)
            self._warn("send", "cannot publish to %s: %s", record.topic, exc)
            return
        self._in_flight[delivery] = record
        delivery.add_done_callback(self._delivered)

    def _delivered(self, delivery: asyncio.Future[Any]) -> None:
        record = self._in_flight.pop(delivery)
        if delivery.cancelled():
            PUBLISH_ERRORS.labels(record.topic).inc()
            record.settle(RuntimeError("delivery cancelled"))
        elif (exc := delivery.exception()) is not None:
            PUBLISH_ERRORS.labels(record.topic).inc()
            record.settle(exc)
            self._warn("delivery", "a record for %s was not delivered: %r", record.topic, exc)
        else:
            PUBLISHED.labels(record.topic).inc()
            record.settle()

    def _warn(self, kind: str, message: str, *args: object) -> None:
        """Log a warning, at most one per kind every few seconds, with how many were skipped."""
        now = time.monotonic()
        if now - self._last_warned.get(kind, -_WARN_INTERVAL_S) < _WARN_INTERVAL_S:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        self._last_warned[kind] = now
        skipped = self._suppressed.pop(kind, 0)
        if skipped:
            message += f" (and {skipped} similar since the last warning)"
        log.warning(message, *args)

    # --- shutdown and probes --------------------------------------------------------------

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        """Deliver what is queued, giving up after ``drain_timeout_s``; then close."""
        if self._queue is None or self._closing:
            return
        self._closing = True
        deadline = time.monotonic() + drain_timeout_s
        task = self._task
        if self._producer is not None and task is not None and not task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), _left(deadline))
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        left_behind = self._drop_queued()
        # Read only now: the background task may have connected while we waited.
        producer = self._producer
        if producer is not None:
            await self._close_producer(producer, deadline)
        self._producer = None
        if left_behind:
            log.warning("dropped %d records still queued for Kafka at shutdown", left_behind)

    def _drop_queued(self) -> int:
        assert self._queue is not None
        count = 0
        while not self._queue.empty():
            record = self._queue.get_nowait()
            DROPPED.labels(record.topic).inc()
            record.settle(RuntimeError("dropped at shutdown"))
            count += 1
        return count

    async def _close_producer(self, producer: Any, deadline: float) -> None:
        try:
            # flush() delivers every batch (or fails it after request_timeout_s) ...
            await asyncio.wait_for(producer.flush(), _left(deadline))
        except TimeoutError:
            undelivered = len(self._in_flight)
            log.warning(
                "Kafka did not take %d records within the drain deadline; abandoning them",
                undelivered,
            )
            # ... which is too long to wait at shutdown. aiokafka has no public way to give
            # up on pending batches; failing them resolves every delivery future (counted as
            # errors) and lets stop() below return instead of waiting for them too.
            accumulator = getattr(producer, "_message_accumulator", None)
            if accumulator is not None:
                accumulator.fail_all(KafkaTimeoutError("not delivered by the drain deadline"))
        except Exception as exc:
            log.warning("flushing the Kafka producer failed: %s", exc)
        try:
            await asyncio.wait_for(producer.stop(), max(_left(deadline), 1.0))
        except Exception as exc:
            log.warning("closing the Kafka producer failed: %r", exc)

    async def is_reachable(self, timeout_s: float = 2.0) -> bool:
        """Whether the broker answers a metadata request now (for a readiness probe)."""
        producer = self._producer
        if producer is None:
            return False
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout_s)
        except Exception:  # any failure means "not reachable" to a probe
            return False
        return True


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)
