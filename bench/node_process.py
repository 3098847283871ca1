"""The node under test (`stenograph up`, started by tests/support_node.py) and its CPU and
memory from /proc."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The node is started as the tests start it (tests/support_node.py).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support_node import ROOT, RunningNode, free_port, start_node  # noqa: E402

__all__ = ["ROOT", "RunningNode", "cpu_seconds", "free_port", "proc_status_kib", "start_node"]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads included (children are not)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid: int, key: str) -> int | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: `5` into clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True
