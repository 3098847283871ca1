"""The `stenograph` command as a user runs it: `stream` a recording, `tail` a meeting.

Each test runs the real command in a subprocess against the shared test node (conftest
`node`) and checks what it prints and how it exits.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from conftest import ROOT, RunningNode, free_port
from support_audio import wer
from support_commands import Completed, stenograph

LIBRI_TEST = "audio/librispeech_test-clean_1995-1837-0001.wav"
LIBRI_DEV = "wav16k/librispeech_dev-clean_2412-153948-0000.wav"
JFK = "audio/jfk.flac"
MAX_WER = 0.10
CAPTION = re.compile(r"^\[(\d{2}):(\d{2})\] (?P<name>[^:]+): (?P<text>.+)$")


def reference(speech: Path, audio: str) -> str:
    return (speech / "refs" / f"{Path(audio).stem}.txt").read_text()


def captions(completed: Completed) -> list[tuple[int, str, str]]:
    """(offset seconds, participant, text) of each printed caption line."""
    parsed = []
    for line in completed.lines:
        match = CAPTION.match(line)
        assert match, f"not a `[mm:ss] participant: text` line: {line!r}"
        offset = int(match[1]) * 60 + int(match[2])
        parsed.append((offset, match["name"], match["text"]))
    return parsed


def assert_failed_cleanly(completed: Completed, *expected: str) -> None:
    assert completed.returncode != 0, completed
    assert "Traceback" not in completed.stderr, completed.stderr
    assert completed.stderr.startswith("error: "), completed.stderr
    for text in expected:
        assert text in completed.stderr, completed.stderr
    assert not completed.stdout.strip(), completed.stdout


@dataclass(frozen=True, slots=True)
class Streamed:
    meeting: str
    completed: Completed


@pytest_asyncio.fixture(scope="module")
async def streamed(node: RunningNode, speech: Path) -> Streamed:
    """`stenograph stream` of a LibriSpeech recording over gRPC, as fast as the node takes it."""
    meeting = f"cli-{uuid.uuid4().hex[:10]}"
    completed = await stenograph(
        node,
        "stream",
        str(speech / LIBRI_TEST),
        "--server",
        node.grpc_target,
        "--fast",
        "--meeting",
        meeting,
        "--participant",
        "ada",
    )
    return Streamed(meeting, completed)


async def test_stream_prints_one_timestamped_line_per_final(
    streamed: Streamed, speech: Path
) -> None:
    completed = streamed.completed
    assert completed.returncode == 0, completed.stderr
    lines = captions(completed)
    assert lines, "no captions printed"
    offsets = [offset for offset, _, _ in lines]
    assert offsets == sorted(offsets) and offsets[-1] < 9, offsets
    assert {name for _, name, _ in lines} == {"ada"}
    text = " ".join(t for _, _, t in lines)
    error = wer(reference(speech, LIBRI_TEST), text)
    assert error < MAX_WER, f"WER {error:.3f} for {text!r}"


async def test_stream_json_prints_every_message_as_one_object_per_line(
    node: RunningNode, speech: Path
) -> None:
    completed = await stenograph(
        node, "stream", str(speech / JFK), "--server", node.grpc_target, "--fast", "--json"
    )
    assert completed.returncode == 0, completed.stderr
    frames = [json.loads(line) for line in completed.lines]
    types = [f["type"] for f in frames]
    assert types[0] == "Metadata" and types[-1] == "Summary", types
    assert types.count("Summary") == 1
    assert frames[0]["meeting_id"] == "demo" and frames[0]["participant"]["id"] == "speaker"
    finals = [f for f in frames if f["type"] == "Results" and f["is_final"]]
    assert frames[-1]["finals"] == len(finals)
    assert frames[-1]["audio_received"] == pytest.approx(11.0, abs=0.05)
    text = " ".join(f["text"] for f in finals)
    error = wer(reference(speech, JFK), text)
    assert error < MAX_WER, f"WER {error:.3f} for {text!r}"


async def test_stream_over_websocket(node: RunningNode, speech: Path) -> None:
    completed = await stenograph(
        node,
        "stream",
        str(speech / LIBRI_DEV),
        "--transport",
        "ws",
        "--server",
        node.ws_url,
        "--fast",
    )
    assert completed.returncode == 0, completed.stderr
    text = " ".join(t for _, _, t in captions(completed))
    error = wer(reference(speech, LIBRI_DEV), text)
    assert error < MAX_WER, f"WER {error:.3f} for {text!r}"


@pytest.mark.parametrize("kind", ["text file", "binary garbage"])
async def test_stream_refuses_a_file_without_audio(
    node: RunningNode, tmp_path: Path, kind: str
) -> None:
    if kind == "text file":
        path = ROOT / "pyproject.toml"  # FFmpeg reads this as "lrc" lyrics: no audio stream
    else:
        path = tmp_path / "recording.wav"
        path.write_bytes(bytes(range(256)) * 64)
    completed = await stenograph(node, "stream", str(path), "--server", node.grpc_target)
    assert_failed_cleanly(completed, "cannot decode", str(path))


@pytest.mark.parametrize("transport", ["grpc", "ws"])
async def test_stream_to_a_closed_port_fails_with_a_message(
    node: RunningNode, speech: Path, transport: str
) -> None:
    port = free_port()  # nothing listens there
    server = f"127.0.0.1:{port}" if transport == "grpc" else f"ws://127.0.0.1:{port}"
    completed = await stenograph(
        node, "stream", str(speech / JFK), "--transport", transport, "--server", server, "--fast"
    )
    assert_failed_cleanly(completed)
    assert completed.returncode == 1
    assert any(word in completed.stderr.lower() for word in ("unavailable", "cannot reach"))


async def test_tail_prints_the_finals_of_a_meeting_streamed_before(
    node: RunningNode, streamed: Streamed
) -> None:
    expected = streamed.completed.lines
    assert expected, streamed.completed
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "tail",
        "--meeting",
        streamed.meeting,
        "--from-beginning",
        "--bootstrap-server",
        node.kafka_bootstrap,
        cwd=ROOT,
        env=node.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while len(lines) < len(expected):
                line = await process.stdout.readline()
                assert line, f"tail exited early: {(await process.stderr.read()).decode()}"
                lines.append(line.decode().rstrip("\n"))
        # It follows the topic until interrupted; Ctrl-C ends it cleanly.
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert lines == expected
    assert returncode == 0
    assert "Traceback" not in (await process.stderr.read()).decode()
