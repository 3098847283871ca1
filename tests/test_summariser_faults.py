"""Two summarisers share the work; killing one mid-meeting loses and duplicates nothing.

A node runs without a summariser of its own; two `stenograph summariser` processes join the
`stenograph-summariser` group, with the store in a fresh PostgreSQL database (the production
setup). The one that owns the meeting's partition is killed (SIGKILL) while the meeting
streams in; the other takes the partition over and writes complete final notes.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from conftest import ROOT, RunningNode, start_node
from support_commands import poll_until_found, stenograph
from support_meeting import MEETING, meeting_tracks

MEETING_ID = "fault-meeting"
POSTGRES = "postgres@127.0.0.1:5432"
TAKEOVER_TIMEOUT_S = 90.0
#: The meeting streams at real time: about a minute.
STREAM_TIMEOUT_S = 180.0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def database() -> AsyncIterator[str]:
    name = f"stenograph_fault_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"postgresql://{POSTGRES}/test")
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+asyncpg://{POSTGRES}/{name}"
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture(scope="module")
def shared_node(tmp_path_factory: pytest.TempPathFactory, database: str) -> Iterator[RunningNode]:
    folder = tmp_path_factory.mktemp("fault-node")
    with start_node(folder, summariser="false", database_url=database) as node:
        yield node


class SummariserProcess:
    def __init__(self, node: RunningNode, log_path: Path) -> None:
        self.log_path = log_path
        env = {**node.env, "STENOGRAPH_ROLLING_NOTES_SPEECH_S": "4"}
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "summariser"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wrote_notes_for(self, meeting_id: str) -> bool:
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                if record.get("message") == "notes written" and record.get("meeting_id") == (
                    meeting_id
                ):
                    return True
        return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def stream(node: RunningNode, path: Path, who: str) -> None:
    streamed = await stenograph(
        node, "stream", str(path), "--meeting", MEETING_ID, "--participant", who,
        "--server", node.grpc_target, timeout_s=STREAM_TIMEOUT_S,
    )  # fmt: skip
    assert streamed.returncode == 0, streamed.stderr


async def test_killing_the_summariser_that_owns_a_meeting_loses_nothing(
    shared_node: RunningNode, tmp_path: Path
) -> None:
    tracks = meeting_tracks(tmp_path)
    members = [SummariserProcess(shared_node, tmp_path / f"summariser{i}.log") for i in (1, 2)]
    try:
        await asyncio.sleep(5.0)  # both join the group before the meeting starts
        # Real time: the meeting lasts about a minute, so the kill lands in the middle of it.
        streams = asyncio.gather(*(stream(shared_node, p, who) for who, p in tracks.items()))
        async with asyncio.timeout(60):
            while True:
                owning = [m for m in members if m.wrote_notes_for(MEETING_ID)]
                if owning:
                    break
                await asyncio.sleep(0.5)
        (owner,) = owning
        assert not streams.done(), "the kill must land mid-meeting"
        owner.process.send_signal(signal.SIGKILL)
        owner.process.wait()
        await streams

        base = f"{shared_node.http_url}/v1/meetings/{MEETING_ID}"
        final = await poll_until_found(
            f"{base}/notes", TAKEOVER_TIMEOUT_S, interval_s=1.0, params={"kind": "final"}
        )
        notes = final.json()
        async with httpx.AsyncClient() as http:
            transcript = (await http.get(f"{base}/transcript")).json()
    finally:
        for member in members:
            member.stop()

    survivor = next(m for m in members if m is not owner)
    assert survivor.wrote_notes_for(MEETING_ID), "the survivor took the meeting over"
    segment_ids = [s["segment_id"] for s in transcript["segments"]]
    assert len(segment_ids) == len(set(segment_ids)), "a segment was stored twice"
    assert len(segment_ids) >= len(MEETING), "every turn reached the store"
    item_ids = [i["id"] for i in notes["decisions"] + notes["action_items"]]
    assert len(item_ids) == len(set(item_ids)), "an item appears twice"
    statuses = sorted(d["status"] for d in notes["decisions"])
    assert statuses == ["STATUS_AGREED", "STATUS_DEFERRED", "STATUS_REJECTED"], notes
    owners = sorted(a["owner_participant_id"] for a in notes["action_items"])
    assert owners == ["Carol", "David", "David"], notes["action_items"]
