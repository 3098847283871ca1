"""Meeting notes from the transcript stream.

Built so far: the notes message (`protos/stenograph/v1/notes.proto`) and the offline notes
writer (`offline_notes.OfflineNotesWriter`: extractive summary, rule-based decisions, action
items with owners and due dates, open questions, with citations and stable item ids).
Not built yet (the notes issue): the Kafka consumer group, storage, retrieval APIs and the
Anthropic backend; `stenograph up` does not start a summariser.
"""

__all__: list[str] = []
