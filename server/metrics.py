"""Prometheus metrics of a node (exposed at GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ACTIVE_STREAMS = Gauge("stenograph_active_streams", "Streams being served now")
STREAMS = Counter(
    "stenograph_streams_total", "Streams ended, by transport and outcome", ["transport", "outcome"]
)
STREAMS_REFUSED = Counter(
    "stenograph_streams_refused_total", "Streams refused because the node was full", ["transport"]
)
AUDIO_SECONDS = Counter("stenograph_audio_seconds_total", "Audio received, in seconds")
RESULTS = Counter("stenograph_results_total", "Results sent to clients", ["kind"])
STREAMS_BY_MODE = Gauge(
    "stenograph_active_streams_by_mode", "Streams being served now, by processing mode", ["mode"]
)
PREDICTED_LOAD = Gauge(
    "stenograph_predicted_load",
    "Predicted busy share of the inference workers with one more live stream (admission "
    "refuses above 0.85)",
)
ACCEPTING = Gauge(
    "stenograph_accepting_live_streams", "1 while the node admits another live stream, else 0"
)
PARTIAL_INTERVAL = Gauge(
    "stenograph_partial_interval_seconds", "Live partial refresh interval for the current load"
)
PARTIAL_BEAM = Gauge(
    "stenograph_partial_beam_size", "Beam of live partial passes for the current load"
)
GREEDY_PARTIALS = Counter(
    "stenograph_inference_greedy_partials_total",
    "Live partial passes decoded greedily, not with the configured beam, because partials "
    "queued for a worker (the gauge above shows only the moment it is scraped)",
)
BATCH_SIZE = Histogram(
    "stenograph_inference_batch_size",
    "Whisper passes run as one batch",
    ["priority"],
    buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32),
)
QUEUE_WAIT = Histogram(
    "stenograph_inference_queue_wait_seconds",
    "Time a pass waited for a worker",
    ["priority"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
BATCH_SECONDS = Histogram(
    "stenograph_inference_batch_seconds",
    "Time one Whisper batch ran",
    ["priority"],
    buckets=(0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
)
PASS_FAILURES = Counter(
    "stenograph_inference_pass_failures_total",
    "Whisper passes that failed (the stream goes on without the pass; three in a row end it "
    "with INTERNAL); a batch that fails is rerun pass by pass, so its other passes are not "
    "counted",
    ["priority"],
)
EVENT_LOOP_LAG = Histogram(
    "stenograph_event_loop_lag_seconds",
    "How late the node's event loop woke a 0.25 s timer: every stream's I/O, partials and "
    "Kafka publishing wait as long",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
INFERENCE_CAPACITY = Gauge(
    "stenograph_inference_capacity",
    "Inference workers that run at once at full speed (the usable cores on CPU, unless "
    "asr_effective_workers says): busy shares and admission are read against it",
)
STREAM_BACKLOG = Histogram(
    "stenograph_stream_backlog_seconds",
    "Audio a live stream found waiting when it came back from a recognition pass: how far "
    "its captions ran behind (admission reads it per stream: the gauge below)",
    buckets=(0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10),
)
STREAMS_BEHIND = Gauge(
    "stenograph_live_streams_behind_seconds",
    "How far behind their audio live streams ran lately: each stream's p95 backlog over 10 s, "
    "of the stream ranked a tenth of the streams from the top, at least the second (the only "
    "one with one stream); admission refuses above admission_max_backlog_s",
)
PADDED_REDOS = Counter(
    "stenograph_inference_padded_redos_total",
    "Final passes whose short-window decode failed (a loop, a runaway) and were redone on "
    "Whisper's padded 30 s window, several times the cost of the pass",
    ["priority"],
)
