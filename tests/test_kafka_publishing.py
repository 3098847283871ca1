"""Transcript events reach Kafka, keyed and ordered per meeting, without ever blocking captions.

Everything here runs against a real broker (Tansu, in memory) and reads back with an
independent client (confluent-kafka).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer
from google.protobuf import json_format
from kafka_broker import read_topic, running_broker, topic_configs, topic_partitions
from opentelemetry import context, trace
from prometheus_client import REGISTRY
from stenograph.v1.events_pb2 import MeetingEvent, TranscriptEvent

from server.broker import BrokerBinaryNotFound, BrokerError, EmbeddedBroker, answers_metadata
from server.broker import free_port as closed_port
from server.settings import Settings
from server.tail import tail
from server.transcript_publisher import TranscriptPublisher

MEETINGS = ("m-alpha", "m-beta")
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0xB7AD6B7169203331


def make_settings(**overrides: object) -> Settings:
    """Settings with topics of their own, so tests sharing the broker do not see each other."""
    suffix = uuid.uuid4().hex[:8]
    topics = {
        "transcripts_topic": f"test.transcripts.{suffix}",
        "partials_topic": f"test.partials.{suffix}",
        "meetings_topic": f"test.meetings.{suffix}",
    }
    return Settings(**{**topics, **overrides})  # type: ignore[arg-type]


def result(meeting: str, seq: int, *, final: bool, start_s: float = 0.0) -> TranscriptEvent:
    return TranscriptEvent(
        meeting_id=meeting,
        stream_id=f"{meeting}/s1",
        participant={"id": f"{meeting}-p1", "display_name": f"Ada of {meeting}"},
        segment_id=f"seg-{seq}",
        seq=seq,
        is_final=final,
        speech_final=final,
        text=f"{'final' if final else 'partial'} {seq} of {meeting}",
        start=timedelta(seconds=start_s),
        end=timedelta(seconds=start_s + 1.5),
        node="test-node",
        model="tiny.en",
    )


def counter(name: str, topic: str) -> float:
    return REGISTRY.get_sample_value(name, {"topic": topic}) or 0.0


@dataclass
class Published:
    settings: Settings
    bootstrap: str
    finals: list[TranscriptEvent]
    partials: list[TranscriptEvent]
    meeting_event: MeetingEvent


@pytest.fixture(scope="module")
def bootstrap() -> Iterator[str]:
    with running_broker() as servers:
        yield servers


@pytest.fixture(scope="module")
async def published(bootstrap: str) -> AsyncIterator[Published]:
    """Two meetings' interleaved partials and finals, a meeting event, then a clean stop."""
    settings = make_settings()
    publisher = TranscriptPublisher(settings, bootstrap)
    await publisher.start()
    finals: list[TranscriptEvent] = []
    partials: list[TranscriptEvent] = []
    for seq in range(1, 11):
        for meeting in MEETINGS:
            event = result(meeting, seq, final=seq % 3 == 0, start_s=seq * 7.25)
            (finals if event.is_final else partials).append(event)
            publisher.publish_transcript(event)
    traced = result("m-traced", 1, final=True, start_s=65.5)
    span = trace.NonRecordingSpan(
        trace.SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=trace.TraceFlags(1))
    )
    token = context.attach(trace.set_span_in_context(span))
    try:
        publisher.publish_transcript(traced)
    finally:
        context.detach(token)
    finals.append(traced)
    meeting_event = MeetingEvent(
        meeting_id="m-alpha",
        stream_id="m-alpha/s1",
        kind=MeetingEvent.KIND_STREAM_ENDED,
        node="test-node",
        finals=3,
        end_reason="closed",
    )
    publisher.publish_meeting(meeting_event)
    # stop() delivers everything queued: nothing is waited for per record.
    await publisher.stop(drain_timeout_s=10)
    yield Published(settings, bootstrap, finals, partials, meeting_event)


def test_start_creates_the_three_topics_with_the_configured_partitions(
    published: Published,
) -> None:
    s = published.settings
    for topic in (s.transcripts_topic, s.partials_topic, s.meetings_topic):
        assert topic_partitions(published.bootstrap, topic) == s.topic_partitions == 6


def test_topics_keep_transcripts_a_week_and_partials_an_hour(published: Published) -> None:
    s = published.settings
    week, hour = str(7 * 24 * 3600 * 1000), str(3600 * 1000)
    expected = {s.transcripts_topic: week, s.partials_topic: hour, s.meetings_topic: week}
    for topic, retention in expected.items():
        configs = topic_configs(published.bootstrap, topic)
        assert configs["retention.ms"] == retention
        assert configs["cleanup.policy"] == "delete"


def test_finals_land_on_transcripts_and_partials_on_partials(published: Published) -> None:
    s = published.settings
    finals = read_topic(published.bootstrap, s.transcripts_topic, min_records=len(published.finals))
    partials = read_topic(published.bootstrap, s.partials_topic, min_records=1)
    assert len(finals) == len(published.finals)
    assert all(_parse(r.value()).is_final for r in finals)
    assert len(partials) == len(published.partials)
    assert not any(_parse(r.value()).is_final for r in partials)


def test_records_are_keyed_by_meeting_id(published: Published) -> None:
    s = published.settings
    for topic in (s.transcripts_topic, s.partials_topic):
        for record in read_topic(published.bootstrap, topic, min_records=1):
            assert record.key() == _parse(record.value()).meeting_id.encode()


def test_each_meetings_events_keep_their_order(published: Published) -> None:
    s = published.settings
    for topic in (s.transcripts_topic, s.partials_topic):
        by_meeting: dict[bytes, list[int]] = {}
        records = read_topic(published.bootstrap, topic, min_records=1)
        # Within a partition, offsets are the broker's order; a meeting's key is one partition.
        for record in sorted(records, key=lambda r: (r.partition(), r.offset())):
            by_meeting.setdefault(record.key() or b"", []).append(_parse(record.value()).seq)
        assert len({r.partition() for r in records if r.key() == b"m-alpha"}) == 1
        for seqs in by_meeting.values():
            assert seqs == sorted(seqs)


def test_values_are_the_proto_json_mapping_and_parse_back(published: Published) -> None:
    s = published.settings
    records = read_topic(published.bootstrap, s.transcripts_topic, min_records=1)
    parsed = sorted((_parse(r.value()) for r in records), key=lambda e: (e.meeting_id, e.seq))
    expected = sorted(published.finals, key=lambda e: (e.meeting_id, e.seq))
    assert parsed == expected
    # Field names as written in the .proto, not lowerCamelCase.
    assert b'"meeting_id":"m-' in (records[0].value() or b"")


def test_records_carry_content_type_and_schema_headers(published: Published) -> None:
    s = published.settings
    expected = {
        s.transcripts_topic: b"stenograph.v1.TranscriptEvent",
        s.partials_topic: b"stenograph.v1.TranscriptEvent",
        s.meetings_topic: b"stenograph.v1.MeetingEvent",
    }
    for topic, schema in expected.items():
        for record in read_topic(published.bootstrap, topic, min_records=1):
            headers = dict(record.headers() or [])
            assert headers["content-type"] == b"application/json"
            assert headers["schema"] == schema


def test_the_callers_trace_context_travels_in_headers(published: Published) -> None:
    s = published.settings
    records = read_topic(published.bootstrap, s.transcripts_topic, min_records=1)
    headers = {r.key(): dict(r.headers() or []) for r in records}
    assert headers[b"m-traced"]["traceparent"] == f"00-{TRACE_ID:032x}-{SPAN_ID:016x}-01".encode()
    assert "traceparent" not in headers[b"m-alpha"]


def test_meeting_events_land_on_the_meetings_topic(published: Published) -> None:
    records = read_topic(published.bootstrap, published.settings.meetings_topic, min_records=1)
    assert len(records) == 1
    assert records[0].key() == b"m-alpha"
    event = json_format.Parse(records[0].value() or b"", MeetingEvent())
    assert event == published.meeting_event


def test_delivered_records_are_counted_per_topic(published: Published) -> None:
    s = published.settings
    published_total = "stenograph_kafka_records_published_total"
    assert counter(published_total, s.transcripts_topic) == len(published.finals)
    assert counter(published_total, s.partials_topic) == len(published.partials)
    assert counter(published_total, s.meetings_topic) == 1
    for topic in (s.transcripts_topic, s.partials_topic, s.meetings_topic):
        assert counter("stenograph_kafka_publish_errors_total", topic) == 0
        assert counter("stenograph_kafka_records_dropped_total", topic) == 0


async def test_is_reachable_while_the_broker_answers(bootstrap: str) -> None:
    publisher = TranscriptPublisher(make_settings(), bootstrap)
    assert not await publisher.is_reachable(1.0)
    await publisher.start()
    try:
        assert await publisher.is_reachable(2.0)
    finally:
        await publisher.stop()


async def test_an_unreachable_broker_never_blocks_or_fails_publishing() -> None:
    settings = make_settings()
    publisher = TranscriptPublisher(settings, f"127.0.0.1:{closed_port()}", connect_timeout_s=1)
    started = time.monotonic()
    await publisher.start()  # the node must come up (and serve captions) without Kafka
    assert time.monotonic() - started < 3
    assert not await publisher.is_reachable(0.5)

    started = time.monotonic()
    for seq in range(1, 101):
        publisher.publish_transcript(result("m-alpha", seq, final=seq % 2 == 0))
    publisher.publish_meeting(MeetingEvent(meeting_id="m-alpha"))
    assert time.monotonic() - started < 0.5

    started = time.monotonic()
    await publisher.stop(drain_timeout_s=1.0)
    assert time.monotonic() - started < 2.0
    # What could not be delivered is counted, not lost silently.
    dropped = "stenograph_kafka_records_dropped_total"
    assert counter(dropped, settings.transcripts_topic) == 50
    assert counter(dropped, settings.partials_topic) == 50
    assert counter(dropped, settings.meetings_topic) == 1


async def test_a_full_queue_drops_new_records_and_counts_them() -> None:
    settings = make_settings(publish_queue_size=5)
    publisher = TranscriptPublisher(settings, f"127.0.0.1:{closed_port()}", connect_timeout_s=1)
    await publisher.start()
    for seq in range(1, 21):
        publisher.publish_transcript(result("m-alpha", seq, final=True))
    assert publisher.queued == 5
    assert counter("stenograph_kafka_records_dropped_total", settings.transcripts_topic) == 15
    await publisher.stop(drain_timeout_s=0.1)


async def test_records_queued_while_kafka_is_down_go_out_once_it_is_up() -> None:
    settings = make_settings()
    port = closed_port()
    publisher = TranscriptPublisher(settings, f"127.0.0.1:{port}", connect_timeout_s=1)
    await publisher.start()
    for seq in range(1, 4):
        publisher.publish_transcript(result("m-alpha", seq, final=True))
    async with EmbeddedBroker(port) as broker:
        records = await asyncio.to_thread(
            read_topic, broker.bootstrap_servers, settings.transcripts_topic, min_records=3
        )
        await publisher.stop()
    assert [_parse(r.value()).seq for r in records] == [1, 2, 3]


async def test_a_broker_lost_mid_meeting_does_not_hold_up_shutdown() -> None:
    settings = make_settings()
    published_total = "stenograph_kafka_records_published_total"
    async with EmbeddedBroker() as broker:
        publisher = TranscriptPublisher(settings, broker.bootstrap_servers, request_timeout_s=30)
        await publisher.start()
        publisher.publish_transcript(result("m-alpha", 1, final=True))
        # Delivered while the broker is up (read in a thread: the loop must take the ack).
        await asyncio.to_thread(
            read_topic, broker.bootstrap_servers, settings.transcripts_topic, min_records=1
        )
    for seq in range(2, 12):
        publisher.publish_transcript(result("m-alpha", seq, final=True))
    started = time.monotonic()
    await publisher.stop(drain_timeout_s=1.0)
    assert time.monotonic() - started < 3.0
    lost = counter("stenograph_kafka_records_dropped_total", settings.transcripts_topic)
    lost += counter("stenograph_kafka_publish_errors_total", settings.transcripts_topic)
    assert counter(published_total, settings.transcripts_topic) == 1
    assert lost == 10


async def test_embedded_broker_runs_for_the_async_with_block() -> None:
    async with EmbeddedBroker() as broker:
        host, port = broker.bootstrap_servers.split(":")
        assert host == "127.0.0.1" and int(port) > 0
        assert await answers_metadata(broker.bootstrap_servers, 2.0)
        pid = broker.pid
        assert pid is not None
    assert not broker.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not await answers_metadata(f"127.0.0.1:{port}", 0.5)


async def test_embedded_broker_reports_a_missing_binary(tmp_path: Path) -> None:
    with pytest.raises(BrokerBinaryNotFound, match="not an executable"):
        await EmbeddedBroker(binary=tmp_path / "tansu").start()


async def test_embedded_broker_reports_a_broker_dying_at_start(tmp_path: Path) -> None:
    fake = tmp_path / "tansu"
    fake.write_text("#!/bin/sh\necho 'error: unexpected argument' >&2\nexit 2\n")
    fake.chmod(0o755)
    broker = EmbeddedBroker(binary=fake)
    with pytest.raises(BrokerError, match="status 2(.|\n)*unexpected argument"):
        await broker.start()
    assert not broker.running


async def test_tail_prints_a_meetings_finals_as_timed_lines(published: Published) -> None:
    topic = published.settings.transcripts_topic
    lines = await _tail_until(published.bootstrap, topic, "m-alpha", count=3)
    # Finals of m-alpha are seq 3, 6, 9, which start at seq * 7.25 s.
    assert lines == [
        "[00:21] Ada of m-alpha: final 3 of m-alpha",
        "[00:43] Ada of m-alpha: final 6 of m-alpha",
        "[01:05] Ada of m-alpha: final 9 of m-alpha",
    ]


async def test_tail_of_all_meetings_prefixes_the_meeting_id(published: Published) -> None:
    topic = published.settings.transcripts_topic
    lines = await _tail_until(published.bootstrap, topic, None, count=len(published.finals))
    assert "m-traced [01:05] Ada of m-traced: final 1 of m-traced" in lines
    assert sum(line.startswith("m-beta [") for line in lines) == 3


async def test_tail_skips_records_it_cannot_parse(
    bootstrap: str, caplog: pytest.LogCaptureFixture
) -> None:
    topic = f"test.garbage.{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, b"not json", key=b"m-alpha")
    producer.produce(topic, json_format.MessageToJson(result("m-alpha", 3, final=True)), b"m-alpha")
    assert producer.flush(10) == 0
    with caplog.at_level(logging.WARNING, logger="server.tail"):
        lines = await _tail_until(bootstrap, topic, "m-alpha", count=1)
    assert lines == ["[00:00] Ada of m-alpha: final 3 of m-alpha"]
    assert "skipping record" in caplog.text


class _Lines(io.StringIO):
    """Output that tells when it holds ``count`` lines."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count
        self.complete = asyncio.Event()

    def write(self, text: str, /) -> int:
        written = super().write(text)
        if self.getvalue().count("\n") >= self.count:
            self.complete.set()
        return written


async def _tail_until(
    bootstrap: str, topic: str, meeting: str | None, *, count: int, timeout_s: float = 15.0
) -> list[str]:
    """Run tail() from the beginning until it has written ``count`` lines; return them."""
    out, stop = _Lines(count), asyncio.Event()
    task = asyncio.create_task(tail(bootstrap, topic, meeting, True, out, stop))
    try:
        await asyncio.wait_for(out.complete.wait(), timeout_s)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    return out.getvalue().splitlines()


def _parse(value: bytes | None) -> TranscriptEvent:
    assert value is not None
    return json_format.Parse(value, TranscriptEvent())
