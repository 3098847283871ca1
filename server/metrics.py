"""Prometheus metrics of a node (exposed at GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ACTIVE_STREAMS = Gauge("stenograph_active_streams", "Streams being served now")
STREAMS = Counter(
    "stenograph_streams_total", "Streams ended, by transport and outcome", ["transport", "outcome"]
)
STREAMS_REFUSED = Counter(
    "stenograph_streams_refused_total", "Streams refused because the node was full", ["transport"]
)
AUDIO_SECONDS = Counter("stenograph_audio_seconds_total", "Audio received, in seconds")
RESULTS = Counter("stenograph_results_total", "Results sent to clients", ["kind"])
