"""`stenograph up` starts everything on embedded defaults and stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, start_node

from server.settings import load_settings, physical_cores, usable_cores


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_up_prints_where_it_listens_and_stops_everything_it_started(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    with start_node(tmp_path) as node:
        assert node.process is not None
        # /readyz can answer a moment before the announcement is printed.
        deadline = time.monotonic() + 10
        while "stenograph is ready" not in node.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        output = node.log_text()
        assert f"gRPC        {node.grpc_target}" in output
        assert f"{node.ws_url}/v1/stream" in output
        assert f"embedded Tansu broker {node.kafka_bootstrap}" in output
        brokers = [k for k in _children(node.process.pid) if "tansu" in _cmdline(k)]
        assert len(brokers) == 1, "up starts exactly one embedded broker"
        broker_cmd = _cmdline(brokers[0])
        assert f"tcp://{node.kafka_bootstrap}" in broker_cmd
        assert "0.0.0.0" not in broker_cmd, "the broker must listen on loopback only"

        node.process.send_signal(stop_signal)
        assert node.process.wait(timeout=30) == 0
        assert not _alive(brokers[0]), "the embedded broker outlived the node"


def test_settings_take_flags_over_environment_over_toml_over_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "stenograph.toml"
    config.write_text('grpc_port = 6001\nhttp_port = 6002\nmodel = "from-toml"\nmax_streams = 3\n')
    monkeypatch.setenv("STENOGRAPH_CONFIG", str(config))
    monkeypatch.setenv("STENOGRAPH_HTTP_PORT", "7002")
    monkeypatch.setenv("STENOGRAPH_MODEL", "from-env")

    settings = load_settings(model="from-flag", max_streams=None)

    assert settings.grpc_port == 6001  # TOML over default
    assert settings.http_port == 7002  # env over TOML
    assert settings.model == "from-flag"  # flag over env
    assert settings.max_streams == 3  # an absent flag (None) does not override
    assert settings.idle_timeout_s == 30.0  # default


def test_a_gpu_node_gets_the_gpu_defaults_where_nothing_else_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STENOGRAPH_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("STENOGRAPH_DEVICE", "cuda")
    monkeypatch.setenv("STENOGRAPH_ASR_WORKERS", "3")

    settings = load_settings(asr_max_batch=16)

    assert settings.compute_type == "float16" and settings.partial_beam_size == 2
    assert settings.max_streams == 56  # a card's admission does not see its limit
    assert settings.asr_workers == 3  # from the environment
    assert settings.asr_max_batch == 16  # from a flag
    on_cpu = load_settings(device="cpu")
    assert (on_cpu.compute_type, on_cpu.asr_max_batch, on_cpu.partial_beam_size) == ("int8", 8, 3)
    assert on_cpu.max_streams == 64
    monkeypatch.delenv("STENOGRAPH_ASR_WORKERS")
    assert load_settings(device="cpu").asr_workers == usable_cores(), "a worker per usable core"


def machine_cores() -> int:
    """This machine's cores in the process's affinity, hyperthreads of a core once."""
    topology = Path("/sys/devices/system/cpu")
    return len(
        {
            (topology / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text()
            for cpu in os.sched_getaffinity(0)
        }
    )


def test_a_node_in_a_container_sizes_its_workers_to_the_cpu_quota(tmp_path: Path) -> None:
    cores = machine_cores()
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("max 100000\n")  # no quota
    assert usable_cores(cpu_max) == cores
    cpu_max.write_text("150000 100000\n")  # 1.5 CPUs: one worker, not two sharing a core
    assert usable_cores(cpu_max) == 1
    cpu_max.write_text(f"{(cores + 8) * 100000} 100000\n")  # more quota than cores
    assert usable_cores(cpu_max) == cores
    assert usable_cores(tmp_path / "absent") == cores  # cgroup v1, or no cgroup


def test_hyperthreads_of_one_core_count_as_one_core(tmp_path: Path) -> None:
    # A 4-vCPU cloud VM of 2 cores with 2 hyperthreads each, as Linux describes it.
    for cpu, siblings in enumerate(["0,2", "1,3", "0,2", "1,3"]):
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "thread_siblings_list").write_text(siblings + "\n")
    assert physical_cores([0, 1, 2, 3], tmp_path) == 2
    assert physical_cores([0, 2], tmp_path) == 1, "pinned to one core's two hyperthreads"
    assert physical_cores([0, 1], tmp_path) == 2
    assert physical_cores([0, 1, 7], tmp_path) == 3, "a CPU without topology counts as a core"
    no_quota = tmp_path / "cpu.max"
    no_quota.write_text("max 100000\n")
    on_that_topology = physical_cores(os.sched_getaffinity(0), tmp_path)
    assert usable_cores(no_quota, tmp_path) == on_that_topology, "this process's CPUs"


def test_workers_beyond_the_cores_add_no_capacity(tmp_path: Path) -> None:
    cores = usable_cores()
    with start_node(tmp_path, asr_workers=str(cores + 2)) as node:
        capacity = node.metric("stenograph_inference_capacity")
    assert capacity == cores, "admission reads the busy share against the cores, not workers"


def test_up_refuses_invalid_settings_with_a_clear_message(tmp_path: Path) -> None:
    env = {**os.environ, "STENOGRAPH_CONFIG": str(tmp_path / "absent.toml")}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "up", "--grpc-port", "70000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "grpc_port" in result.stderr
