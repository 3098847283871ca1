"""Meeting notes from the transcript stream (Kafka consumers) — not built yet.

Planned in the notes issue: a consumer group on `stenograph.transcripts.v1` and
`stenograph.meetings.v1` that keeps rolling notes during a meeting and writes final notes at
its end. Nothing in this package runs today; `stenograph up` does not start a summariser.
"""

__all__: list[str] = []
