"""The Kafka topics a node publishes to, and creating them when they are missing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

from server.settings import Settings

log = logging.getLogger(__name__)

#: Finals are the transcript of record: consumers (notes, search) may replay a week.
TRANSCRIPTS_RETENTION = timedelta(days=7)
#: Partials only matter while the meeting is live.
PARTIALS_RETENTION = timedelta(hours=1)
MEETINGS_RETENTION = timedelta(days=7)
#: Notes are compacted (the latest version per meeting stays); the retention only bounds
#: how long superseded versions linger before compaction.
NOTES_RETENTION = timedelta(days=7)
DLQ_RETENTION = timedelta(days=14)

_TOPIC_ALREADY_EXISTS = 36
#: Per-topic error codes meaning "the broker does not take these configs".
_CONFIG_REJECTED = {
    40,  # INVALID_CONFIG
    44,  # POLICY_VIOLATION
}


class TopicError(RuntimeError):
    """A topic could not be created."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    retention: timedelta
    cleanup_policy: Literal["delete", "compact"] = "delete"

    def configs(self) -> dict[str, str]:
        """Topic configs as Kafka names them."""
        return {
            "retention.ms": str(int(self.retention.total_seconds() * 1000)),
            "cleanup.policy": self.cleanup_policy,
        }


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Transcripts, partials, meetings, notes and dead-letter topics, in that order."""

    def spec(
        name: str, retention: timedelta, policy: Literal["delete", "compact"] = "delete"
    ) -> TopicSpec:
        return TopicSpec(
            name=name,
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            retention=retention,
            cleanup_policy=policy,
        )

    return [
        spec(settings.transcripts_topic, TRANSCRIPTS_RETENTION),
        spec(settings.partials_topic, PARTIALS_RETENTION),
        spec(settings.meetings_topic, MEETINGS_RETENTION),
        spec(settings.notes_topic, NOTES_RETENTION, "compact"),
        spec(settings.transcripts_dlq_topic, DLQ_RETENTION),
    ]


def _new_topic(spec: TopicSpec, *, with_configs: bool) -> Any:
    return NewTopic(
        spec.name,
        spec.partitions,
        spec.replication_factor,
        topic_configs=spec.configs() if with_configs else None,
    )


async def ensure_topics(
    bootstrap_servers: str,
    specs: Sequence[TopicSpec],
    *,
    client_id: str = "stenograph-admin",
    request_timeout_s: float = 10.0,
) -> list[str]:
    """Create the topics of ``specs`` that do not exist yet; return the names created.

    Existing topics are left as they are (a partition count that differs is logged, since
    it changes which partition a meeting's key maps to). Raises on connection failure.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        request_timeout_ms=int(request_timeout_s * 1000),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        for spec in missing:
            if await _create(admin, spec):
                created.append(spec.name)
        present = [s for s in specs if s.name in existing]
        if present:
            await _check_partitions(admin, present)
        return created
    finally:
        await admin.close()


async def _create(admin: Any, spec: TopicSpec) -> bool:
    """Create one topic; False when someone else created it first."""
    code, message = await _create_request(admin, spec, with_configs=True)
    if code in _CONFIG_REJECTED:
        # A broker that refuses our retention settings is still a place to publish to.
        log.warning(
            "broker rejected configs %s for topic %s (%s); creating it with broker defaults",
            spec.configs(),
            spec.name,
            message,
        )
        code, message = await _create_request(admin, spec, with_configs=False)
    if code == _TOPIC_ALREADY_EXISTS:
        log.debug("topic %s was created concurrently", spec.name)
        return False
    if code != 0:
        error = for_code(code)
        raise TopicError(f"cannot create topic {spec.name}: {error.__name__}: {message}")
    log.info(
        "created topic %s (%d partitions, retention %s, cleanup.policy=%s)",
        spec.name,
        spec.partitions,
        spec.retention,
        spec.cleanup_policy,
    )
    return True


async def _create_request(admin: Any, spec: TopicSpec, *, with_configs: bool) -> tuple[int, str]:
    response = await admin.create_topics([_new_topic(spec, with_configs=with_configs)])
    # aiokafka returns per-topic error codes instead of raising; the tuple layout is
    # (name, code) in v0 and (name, code, message) from v1 on.
    for entry in response.topic_errors:
        if entry[0] == spec.name:
            return int(entry[1]), str(entry[2]) if len(entry) > 2 and entry[2] else ""
    raise TopicError(f"the broker's CreateTopics response did not mention {spec.name}")


async def _check_partitions(admin: Any, specs: Sequence[TopicSpec]) -> None:
    described = {t["topic"]: t for t in await admin.describe_topics([s.name for s in specs])}
    for spec in specs:
        partitions = len(described.get(spec.name, {}).get("partitions", []))
        if partitions != spec.partitions:
            log.warning(
                "topic %s exists with %d partitions, configured %d: left as it is",
                spec.name,
                partitions,
                spec.partitions,
            )
