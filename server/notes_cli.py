"""`stenograph notes | transcript | meetings`: read what a node's notes store holds, over HTTP."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

import httpx

DEFAULT_SERVER = "http://127.0.0.1:8000"
WATCH_INTERVAL_S = 2.0


class CommandError(RuntimeError):
    """The server answered with a problem; the message is its detail."""


def _get(server: str, path: str, params: dict[str, str]) -> httpx.Response:
    try:
        response = httpx.get(f"{server.rstrip('/')}{path}", params=params, timeout=10.0)
    except httpx.HTTPError as e:
        raise CommandError(f"cannot reach {server}: {e}") from e
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise CommandError(f"{response.status_code}: {detail}")
    return response


def _print(response: httpx.Response, out: TextIO) -> None:
    if response.headers.get("content-type", "").startswith("application/json"):
        out.write(json.dumps(response.json(), indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(response.text if response.text.endswith("\n") else response.text + "\n")
    out.flush()


def notes(meeting_id: str, fmt: str, watch: bool, server: str, out: TextIO = sys.stdout) -> int:
    """Print the meeting's latest notes; with `watch`, each new version as it appears."""
    path = f"/v1/meetings/{meeting_id}/notes"
    shown: tuple[str, str] | None = None
    while True:
        try:
            latest = _get(server, path, {"format": "json"}).json()
        except CommandError as e:
            if not (watch and str(e).startswith("404")):
                raise
            latest = None
        if latest is not None:
            version = (str(latest.get("version", "0")), str(latest.get("kind", "")))
            if version != shown:
                shown = version
                if fmt == "json":
                    out.write(json.dumps(latest, indent=2, ensure_ascii=False) + "\n")
                    out.flush()
                else:
                    _print(_get(server, path, {"format": fmt}), out)
            if version[1] == "KIND_FINAL" or not watch:
                return 0
        time.sleep(WATCH_INTERVAL_S)


def transcript(meeting_id: str, fmt: str, server: str, out: TextIO = sys.stdout) -> int:
    _print(_get(server, f"/v1/meetings/{meeting_id}/transcript", {"format": fmt}), out)
    return 0


def meetings(server: str, out: TextIO = sys.stdout) -> int:
    for m in _get(server, "/v1/meetings", {}).json()["meetings"]:
        state = f"ended {m['ended_at']}" if m["ended_at"] else f"last event {m['last_event_at']}"
        out.write(f"{m['meeting_id']}\t{state}\n")
    return 0
