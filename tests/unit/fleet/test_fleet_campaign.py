"""A real campaign: redis-server on loopback, three workers on three fake boards, a coordinator killed and
resumed, a worker killed mid-task and restarted, a fourth board that never comes online."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("celery")
pytest.importorskip("redis")

pytestmark = pytest.mark.slow

REDIS = shutil.which("redis-server")
ZOO = """# tiny networks: seconds each
synergy.zoo.cifar:nin 1,3,16,16
synergy.zoo.cifar:all_cnn_c 1,3,16,16
synergy.zoo.cifar:nin 1,3,24,24
synergy.zoo.cifar:all_cnn_c 1,3,24,24
"""
NETWORKS = ("nin", "all_cnn_c", "nin-2", "all_cnn_c-2")
#: board → (fake tree layout, sensor); b4 never starts.
BOARDS = {"b1": ("rapl", "rapl"), "b2": ("jetson:orin_nano", "jetson"), "b3": ("battery", "power-supply")}
MEASURE = ["--runs", "3", "--warmup", "1", "--idle-s", "0.1"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(what: str, check: Callable[[], Any], timeout_s: float, every_s: float = 0.5) -> Any:
    """Poll ``check`` until it returns something true; bounded in time and count."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / every_s) + 2):
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            break
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Fleet:
    """Processes of one test: every one started here is stopped in :meth:`close`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        # the processes run in the test's folder: this tree's modules by absolute path
        path = [str(Path(p).resolve()) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(path)}
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.root)
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def synergy(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "synergy", *args]

    def worker(self, board: str) -> subprocess.Popen[bytes]:
        _, sensor = BOARDS[board]
        consuming = f"consuming synergy-fleet.{board}"
        before = self.log(f"worker-{board}").count(consuming)
        proc = self.start(
            f"worker-{board}",
            self.synergy(
                "fleet", "worker", "--broker", self.url, "--board", board, "--sensor", sensor,
                "--sysfs-root", str(self.root / board), "--state-dir", str(self.root / "state"),
            ),
        )  # fmt: skip
        _until(f"worker {board}", lambda: self.log(f"worker-{board}").count(consuming) > before or proc.poll(), 120)
        assert proc.poll() is None, self.log(f"worker-{board}")
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    if REDIS is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="synergy-fleet-test-", dir=shm if shm.is_dir() else None))
    keep = os.environ.get("SYNERGY_FLEET_TEST_KEEP")
    f = Fleet(root)
    try:
        redis = f.start(
            "redis",
            [
                REDIS,
                "--port",
                str(f.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                f"{root}",
            ],
        )
        _until("redis", lambda: "Ready to accept connections" in f.log("redis") or redis.poll() is not None, 30)
        if redis.poll() is not None:
            pytest.skip(f"redis-server cannot run here: {f.log('redis')[-300:]}")
        for board, (layout, _) in BOARDS.items():
            f.start(f"writer-{board}", [sys.executable, "-m", "synergy.testing.sysfs", str(root / board), layout,
                                        "--run-s", "1200"])  # fmt: skip
            _until(f"tree {board}", lambda b=board: (root / b / "sys").is_dir(), 60)
        yield f
    finally:
        f.close()
        if keep:
            shutil.copytree(
                root, keep, dirs_exist_ok=True, ignore=lambda d, names: list(BOARDS) if d == str(root) else []
            )
        shutil.rmtree(root, ignore_errors=True)


def _done(campaign: Path) -> int:
    try:
        state = json.loads((campaign / "campaign.json").read_text())
    except (OSError, ValueError):
        return 0
    return sum(1 for r in state.get("keys", {}).values() if r.get("status") == "done")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _measuring(proc: subprocess.Popen[bytes]) -> int | None:
    """The pid of the measurement the worker runs now, if any (its child running ``synergy measure``)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue
        if int(fields[1]) == proc.pid and b"measure" in command:
            return int(stat.parent.name)
    return None


def test_campaign_survives_a_dead_worker_and_a_dead_coordinator(fleet: Fleet) -> None:
    root = fleet.root
    (root / "zoo.txt").write_text(ZOO)
    campaign = root / "campaign"
    workers = {board: fleet.worker(board) for board in BOARDS}
    run = fleet.synergy(
        "fleet", "run", "zoo.txt", "--broker", fleet.url, "--boards", "b1,b2,b3,b4", "-o", str(campaign),
        "--repeats", "2", *MEASURE,
    )  # fmt: skip
    coordinator = fleet.start("run-1", run)

    # kill -9 the worker of b1 in the middle of a measurement (its second task), then restart it
    _until("b1's second task", lambda: fleet.log("worker-b1").count("measuring ") >= 2, 300)
    child = _until("b1's measurement process", lambda: _measuring(workers["b1"]), 60, 0.1)
    workers["b1"].kill()
    workers["b1"].wait(timeout=10)
    _until("the orphaned measurement to die", lambda: not _alive(child), 30)
    workers["b1"] = fleet.worker("b1")
    assert "1 task(s) a previous worker of b1 had not finished are queued again" in fleet.log("worker-b1")

    # kill -9 the coordinator once a few results are stored; the boards go on
    _until("6 stored results", lambda: _done(campaign) >= 6, 400)
    coordinator.kill()
    coordinator.wait(timeout=10)
    measured_then = sum(fleet.log(f"worker-{b}").count(": done in") for b in BOARDS)
    _until("a result while no coordinator runs",
           lambda: sum(fleet.log(f"worker-{b}").count(": done in") for b in BOARDS) > measured_then, 300)  # fmt: skip

    resumed = fleet.start("run-2", [*fleet.synergy("fleet", "run", "--broker", fleet.url, "-o", str(campaign)),
                                    "--resume"])  # fmt: skip
    code = resumed.wait(timeout=900)
    out = fleet.log("run-2")
    assert code == 1, out  # b4 stays pending
    enqueued = re.search(r"enqueued (\d+); (\d+) result\(s\) waiting on the broker; (\d+) queued or running", out)
    assert enqueued is not None, out
    assert int(enqueued.group(1)) == 0, out  # everything missing was still queued or running
    assert int(enqueued.group(2)) >= 1, out  # results that arrived while no coordinator ran are collected
    assert "pending: b4: 8 key(s)" in out

    state = json.loads((campaign / "campaign.json").read_text())
    keys = state["keys"]
    assert len(keys) == 24
    assert all(r["status"] == "done" for r in keys.values()), keys
    # every key present exactly once, in its own folder
    for board in BOARDS:
        intervals = []
        for repeat in (1, 2):
            networks = campaign / "boards" / board / f"repeat-{repeat}" / "networks"
            assert sorted(p.name for p in networks.iterdir()) == sorted(NETWORKS)
            for name in NETWORKS:
                task = json.loads((networks / name / "task.json").read_text())
                assert keys[task["key"]]["label"] == f"{board}/{name}/r{repeat}"
                intervals.append((task["started_monotonic_s"], task["finished_monotonic_s"]))
            assert (campaign / "boards" / board / f"repeat-{repeat}" / "report.html").is_file()
            study = json.loads((campaign / "boards" / board / f"repeat-{repeat}" / "study.json").read_text())
            # energy where the board's sensor resolves every layer (RAPL here), else the on-CPU time, said so
            assert study["status"] == "complete", study
            assert study["target"] == "energy_j" if board == "b1" else study["target"] in ("energy_j", "cpu_time_s")
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(intervals)), (board, intervals)
    assert len({r for r in keys}) == 24
    # nothing was measured twice but the task whose worker was killed
    starts = sum(fleet.log(f"worker-{b}").count("measuring ") for b in BOARDS)
    assert starts == 24 + 1, starts

    status = subprocess.run(
        fleet.synergy("fleet", "status", "--broker", fleet.url, str(campaign)),
        capture_output=True, text=True, timeout=120, env=fleet.env, check=False,
    )  # fmt: skip
    assert status.returncode == 0, status.stderr
    (root / "status.log").write_text(status.stdout)
    lines = {line.split("│")[1].strip(): line for line in status.stdout.splitlines() if line.startswith("│")}
    assert set(lines) == {"b1", "b2", "b3", "b4"}
    assert "never" in lines["b4"]
