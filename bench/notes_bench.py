"""Notes benchmark: how good the offline notes are, how fast they follow, how far one scales.

    .venv/bin/python bench/notes_bench.py                      # both parts (~8 min)
    .venv/bin/python bench/notes_bench.py --skip-capacity      # meetings only
    .venv/bin/python bench/notes_bench.py --capacity 50 --capacity 200 --skip-meetings

Part 1 (meetings): a fresh node (`stenograph up`: broker, model, summariser, SQLite) hears each
scripted meeting of notes_meetings.py, synthesised with espeak-ng, one stream per
participant, first at real time, then as recordings (`stream --fast`) on another fresh node;
the final notes are scored against the planted items. Part 2 (capacity): the
summariser alone is fed M meetings' worth of transcript events straight into Kafka at the
pace of live speech, and we measure how far behind its notes fall. See bench/README.md.
"""

# ruff: noqa: E402 (tests/ goes on the path first: the meetings come from its support module)
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from typing import Any

import httpx
import numpy as np
from confluent_kafka import Producer
from google.protobuf import json_format
from kafka_broker import read_topic
from node_process import ROOT, RunningNode, start_node
from notes_meetings import MEETINGS, ScriptedMeeting
from notes_scoring import MeetingScore, id_churn, score_meeting
from report import git_info, machine_info
from stenograph.v1 import notes_pb2 as npb
from support_commands import poll_until_found
from support_meeting import meeting_tracks

from summariser.offline_notes import OfflineNotesWriter
from summariser.transcript import Segment

#: Reading a whole topic back: the capacity part's notes topic holds a thousand records.
READ_TIMEOUT_S = 60.0
TRANSCRIPTS, NOTES, MEETINGS_TOPIC = (
    "stenograph.transcripts.v1",
    "stenograph.notes.v1",
    "stenograph.meetings.v1",
)


def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every record of `topic`, from the beginning (the tests' independent reader)."""
    return read_topic(bootstrap, topic, min_records=1, timeout_s=READ_TIMEOUT_S)


# -- part 1: scripted meetings through the whole pipeline ---------------------------------------


def synthesise(meeting: ScriptedMeeting, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return meeting_tracks(folder, meeting.script, meeting.voices)


async def stream_meeting(
    node: RunningNode, meeting: ScriptedMeeting, folder: Path, *, fast: bool
) -> None:
    tracks = await asyncio.to_thread(synthesise, meeting, folder)

    async def one(who: str, path: Path) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "stream", str(path), "--meeting",
            meeting.meeting_id, "--participant", who, "--server", node.grpc_target,
            *(["--fast"] if fast else []),
            cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{who}: {err.decode()}")

    await asyncio.gather(*(one(who, path) for who, path in tracks.items()))


async def final_notes(node: RunningNode, meeting_id: str, timeout_s: float = 120.0) -> Any:
    url = f"{node.http_url}/v1/meetings/{meeting_id}/notes"
    return (await poll_until_found(url, timeout_s, params={"kind": "final"})).json()


def latencies(node: RunningNode) -> list[float]:
    """Per final caption: seconds from its record to the first notes record covering it."""
    finals = read_all(node.kafka_bootstrap, TRANSCRIPTS)
    notes = read_all(node.kafka_bootstrap, NOTES)
    covered: dict[bytes, list[tuple[int, float]]] = {}
    for record in notes:
        if record.value():
            version = int(json.loads(record.value())["version"])
            covered.setdefault(record.key(), []).append((version, record.timestamp()[1] / 1000))
    out = []
    for record in finals:
        at = record.timestamp()[1] / 1000
        later = [t for v, t in covered.get(record.key(), []) if v >= record.offset()]
        if later:
            out.append(min(later) - at)
    return out


async def run_meetings(folder: Path, settings: dict[str, str], *, fast: bool) -> dict[str, Any]:
    """`fast`: each participant's track sent as a recording (`stream --fast`, batch mode)."""
    with start_node(folder / "node", **settings) as node:
        scores: list[MeetingScore] = []
        for meeting in MEETINGS:
            started = time.monotonic()
            await stream_meeting(node, meeting, folder / meeting.meeting_id, fast=fast)
            notes = await final_notes(node, meeting.meeting_id)
            async with httpx.AsyncClient() as http:
                url = f"{node.http_url}/v1/meetings/{meeting.meeting_id}/transcript"
                transcript = (await http.get(url)).json()
            scores.append(score_meeting(meeting, notes, transcript))
            print(f"  {meeting.meeting_id}: {time.monotonic() - started:.0f} s", flush=True)
        versions: dict[bytes, list[Any]] = {}
        for record in read_all(node.kafka_bootstrap, NOTES):
            if record.value():
                versions.setdefault(record.key(), []).append(json.loads(record.value()))
        churned = compared = 0
        for meeting_versions in versions.values():
            c, n = id_churn(meeting_versions)
            churned, compared = churned + c, compared + n
        lags = latencies(node)
    return {
        **summarise(scores),
        "id_churn": churned / max(1, compared),
        "id_churn_items": [churned, compared],
        "notes_versions": sum(len(v) for v in versions.values()),
        "caption_to_notes_s": {
            "p50": float(np.percentile(lags, 50)) if lags else None,
            "p95": float(np.percentile(lags, 95)) if lags else None,
            "count": len(lags),
        },
    }


def score_on_script() -> dict[str, Any]:
    """The offline writer on each meeting's script as written (no speech recognition)."""
    scores = []
    for meeting in MEETINGS:
        segments = [
            Segment(f"{who}-{i}", who, who, 5.0 * i, 5.0 * i + 4.0, text)
            for i, (who, text) in enumerate(meeting.script)
        ]
        writer = OfflineNotesWriter(meeting.meeting_id, dt.date.today())
        writer.add(segments)
        notes = json_format.MessageToDict(
            writer.notes(npb.MeetingNotes.KIND_FINAL, version=len(segments)),
            preserving_proto_field_name=True,
        )
        transcript = {
            "segments": [
                {"segment_id": s.segment_id, "participant_id": s.participant_id, "text": s.text}
                for s in segments
            ]
        }
        scores.append(score_meeting(meeting, notes, transcript))
    return summarise(scores)


def summarise(scores: list[MeetingScore]) -> dict[str, Any]:
    counted = [k for k in vars(scores[0]) if k not in ("meeting_id", "misses")]
    total = {k: sum(getattr(s, k) for s in scores) for k in counted}
    return {
        "meetings": [vars(s) for s in scores],
        "decision_recall": total["decisions_found"] / total["decisions_planted"],
        "decision_precision": total["decisions_found"] / max(1, total["decisions_predicted"]),
        "decision_status_accuracy": (
            total["decision_status_right"] / max(1, total["decisions_found"])
        ),
        "action_recall": total["actions_found"] / total["actions_planted"],
        "action_precision": total["actions_found"] / max(1, total["actions_predicted"]),
        "owner_accuracy": total["owners_right"] / max(1, total["actions_found"]),
        "citations_supported": total["citations_supported"] / max(1, total["citations"]),
        "citations": total["citations"],
    }


# -- part 2: how many live meetings one summariser keeps current -------------------------------

FINAL_EVERY_S = 4.0  # one participant's final every 4 s of each meeting
LINES = [text for _, text in MEETINGS[0].script]


def _event(meeting: str, n: int, start_s: float, now: dt.datetime) -> bytes:
    stamp = now.isoformat().replace("+00:00", "Z")
    speaker = n % 4
    return json.dumps(
        {
            "meeting_id": meeting,
            "stream_id": f"{meeting}-s{speaker}",
            "participant": {"id": f"P{speaker}", "display_name": f"P{speaker}"},
            "segment_id": f"{meeting}-s{speaker}-{n}",
            "seq": str(n),
            "is_final": True,
            "speech_final": True,
            "text": LINES[n % len(LINES)],
            "start": f"{start_s:.3f}s",
            "end": f"{start_s + 3.5:.3f}s",
            "emitted_at": stamp,
            "stream_started_at": stamp,
        }
    ).encode()


def _ended(meeting: str, speaker: int, finals: int) -> bytes:
    return json.dumps(
        {
            "meeting_id": meeting,
            "stream_id": f"{meeting}-s{speaker}",
            "participant": {"id": f"P{speaker}"},
            "kind": "KIND_STREAM_ENDED",
            "emitted_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
            "finals": finals,
        }
    ).encode()


def run_capacity(
    folder: Path, meetings: int, duration_s: float, settings: dict[str, str]
) -> dict[str, Any]:
    """Live-paced events for `meetings` meetings at once; how late their notes come."""
    with start_node(folder / f"capacity-{meetings}", **settings) as node:
        producer = Producer({"bootstrap.servers": node.kafka_bootstrap, "linger.ms": 5})
        produced_at: dict[tuple[bytes, int], float] = {}

        def remember(err: Any, record: Any) -> None:
            if err is None:  # the record's own (producer) timestamp, not when we polled
                produced_at[(record.key(), record.offset())] = record.timestamp()[1] / 1000

        names = [f"cap{meetings}-{i}" for i in range(meetings)]
        finals = dict.fromkeys(names, 0)
        started, tick = time.monotonic(), 0
        while time.monotonic() - started < duration_s:
            now = dt.datetime.now(dt.UTC)
            for name in names:  # every meeting: one participant's final per tick
                value = _event(name, finals[name], tick * FINAL_EVERY_S, now)
                producer.produce(TRANSCRIPTS, key=name.encode(), value=value, on_delivery=remember)
                finals[name] += 1
            producer.poll(0)
            tick += 1
            time.sleep(max(0.0, started + tick * FINAL_EVERY_S - time.monotonic()))
        for name in names:
            for speaker in range(4):
                count = len(range(speaker, finals[name], 4))
                producer.produce(
                    MEETINGS_TOPIC, key=name.encode(), value=_ended(name, speaker, count)
                )
        producer.flush(30)
        del producer  # librdkafka would keep reconnecting to the stopped node's broker
        ended_at = time.time()
        deadline = time.monotonic() + 120
        while True:
            time.sleep(2.0)
            delays, final_delays, done = [], [], set()
            for record in read_all(node.kafka_bootstrap, NOTES):
                if not record.value():
                    continue
                notes = json.loads(record.value())
                published = record.timestamp()[1] / 1000
                produced = produced_at.get((record.key(), int(notes["version"])))
                if produced is not None and notes["kind"] == "KIND_ROLLING":
                    delays.append(published - produced)
                if notes["kind"] == "KIND_FINAL":
                    done.add(record.key())
                    final_delays.append(published - ended_at)
            if len(done) == meetings or time.monotonic() > deadline:
                break
    return {
        "meetings": meetings,
        "finals_per_s": meetings / FINAL_EVERY_S,
        "rolling_versions": len(delays),
        "rolling_delay_p50_s": statistics.median(delays) if delays else None,
        "rolling_delay_p95_s": float(np.percentile(delays, 95)) if delays else None,
        "rolling_delay_max_s": max(delays) if delays else None,
        "final_notes": len(done),
        "final_after_end_max_s": max(final_delays) if final_delays else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--capacity", type=int, action="append", help="meetings at once (repeatable)"
    )
    parser.add_argument("--capacity-duration-s", type=float, default=40.0)
    parser.add_argument("--skip-meetings", action="store_true")
    parser.add_argument("--skip-capacity", action="store_true")
    parser.add_argument("--out", type=Path, help="output prefix (PREFIX.json)")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "git": git_info(),
        "machine": machine_info(),
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }
    with tempfile.TemporaryDirectory(prefix="notes-bench-") as tmp:
        folder = Path(tmp)
        out["quality_on_script"] = score_on_script()
        shown = {k: v for k, v in out["quality_on_script"].items() if k != "meetings"}
        print("offline writer on the scripts as written:", json.dumps(shown), flush=True)
        if not args.skip_meetings:
            # "quality": live, as people speak; "quality_fast": the same tracks as recordings
            # (`stream --fast`, the end-to-end path), decoded in batch mode.
            for key, fast in (("quality", False), ("quality_fast", True)):
                mode = "stream --fast" if fast else "real time"
                print(f"meetings ({mode}, one stream per participant):", flush=True)
                out[key] = asyncio.run(run_meetings(folder / key, {}, fast=fast))
                shown = {k: v for k, v in out[key].items() if k != "meetings"}
                print(json.dumps(shown, indent=2), flush=True)
        if not args.skip_capacity:
            out["capacity"] = []
            for m in args.capacity or [50, 200, 500]:
                result = run_capacity(folder, m, args.capacity_duration_s, {"max_streams": "4"})
                print(json.dumps(result), flush=True)
                out["capacity"].append(result)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}"
    commit = str(out["git"].get("commit", "dirty"))[:7]
    prefix = args.out or ROOT / "bench" / "results" / f"notes_bench_{stamp}_{commit}"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    prefix.with_suffix(".json").write_text(json.dumps(out, indent=2, default=str))
    print(f"wrote {prefix.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
