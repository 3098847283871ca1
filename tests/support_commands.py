"""How tests use a running node from outside: the `stenograph` command, and HTTP polling."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

import httpx
from conftest import ROOT, RunningNode

COMMAND_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]


async def stenograph(
    node: RunningNode, *args: str, timeout_s: float = COMMAND_TIMEOUT_S
) -> Completed:
    """Run `stenograph ARGS…` with the node's environment, to completion (bounded)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        env=node.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            stdout, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Completed(process.returncode, stdout.decode(), stderr.decode())


async def poll_until_found(
    url: str, timeout_s: float, interval_s: float = 0.3, params: dict[str, str] | None = None
) -> httpx.Response:
    """GET `url` until it stops answering 404 (the summariser works in the background)."""
    async with httpx.AsyncClient() as http, asyncio.timeout(timeout_s):
        while True:
            response = await http.get(url, params=params)
            if response.status_code != 404:
                assert response.status_code == 200, response.text
                return response
            await asyncio.sleep(interval_s)
