"""The store's tables, as SQLAlchemy Core sees them, and the migrations that create them.

The Alembic migrations in `summariser/migrations` are the schema of record; these tables
mirror them for queries. SQLite and PostgreSQL get the same schema.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).parent / "migrations"

metadata = MetaData()
meetings = Table(
    "meetings",
    metadata,
    Column("meeting_id", String(200), primary_key=True),
    Column("first_event_at", DateTime(), nullable=False),
    Column("last_event_at", DateTime(), nullable=False),
    Column("ended_at", DateTime()),
)
streams = Table(
    "streams",
    metadata,
    Column("meeting_id", String(200), primary_key=True),
    Column("stream_id", String(200), primary_key=True),
    Column("participant_id", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("ended", Boolean, nullable=False),
    #: Finals the stream published, from its end event: the notes wait for all of them.
    Column("finals_expected", Integer),
)
segments = Table(
    "segments",
    metadata,
    Column("meeting_id", String(200), primary_key=True),
    Column("segment_id", String(200), primary_key=True),
    Column("stream_id", String(200), nullable=False),
    Column("participant_id", String(200), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("text", Text, nullable=False),
    Column("spoken_at", Float, nullable=False),
    #: Position on the transcripts topic: every event of a meeting shares its partition.
    Column("event_offset", BigInteger, nullable=False),
)
notes = Table(
    "notes",
    metadata,
    Column("meeting_id", String(200), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("version", BigInteger, primary_key=True),
    Column("backend", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(), nullable=False),
)
#: Deleted meetings: events emitted before `erased_at` belong to the deleted meeting.
#: Kept for `ERASED_RETENTION`, then forgotten too.
erased_meetings = Table(
    "erased_meetings",
    metadata,
    Column("meeting_id", String(200), primary_key=True),
    Column("erased_at", DateTime(), nullable=False),
)


def upgrade(connection: Connection) -> None:
    """Apply the migrations not yet applied (Alembic keeps the version in the database)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
