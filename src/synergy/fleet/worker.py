"""The board's side: capabilities, one measurement per task in a fresh process, and the Celery worker.

A worker consumes only its board's queue, one task at a time (solo pool, prefetch 1), acknowledges a task
only once its result is handed back (a board that dies mid-task gets it again when its worker restarts),
and keeps quiet while it measures (no heartbeat, gossip or mingle). Each task runs
``python -m synergy measure …`` in a fresh process with the board's options, so no state leaks from one
measurement to the next, and returns the result directory packed in its JSON result.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synergy import __version__
from synergy.errors import FleetError, SynergyError, UsageError
from synergy.fleet.app import CAPABILITIES_COMMAND, MEASURE_TASK, make_app
from synergy.fleet.archive import pack_dir
from synergy.fleet.names import board_record_key, check_board, queue_name

__all__ = ["BoardOptions", "capabilities", "measure_task", "run_worker"]

#: Result format of a measurement task.
RESULT_VERSION = 1

_PACKAGES = ("torch", "torchvision", "onnxruntime", "onnx")
_SETTINGS = {"runs": int, "warmup": int, "threads": int, "idle_s": float, "seed": int}


@dataclass(frozen=True)
class BoardOptions:
    """How a board measures.

    Attributes:
        board: the board's name (its queue is ``synergy-fleet.NAME``).
        runtime: ``torch`` or ``onnxruntime``.
        sensor: the ``--sensor`` of every measurement.
        sysfs_root: the ``--sysfs-root`` of every measurement.
        state_dir: where the board's lock lives (one worker per board).
        task_timeout_s: a measurement running longer is stopped and reported failed.
        python: the interpreter that runs ``-m synergy measure``.
    """

    board: str
    runtime: str = "torch"
    sensor: str = "auto"
    sysfs_root: Path = Path("/")
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "state" / "synergy" / "fleet")
    task_timeout_s: float = 6 * 3600.0
    python: str = sys.executable


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def capabilities(options: BoardOptions) -> dict[str, Any]:
    """What the board offers: its runtime (and which runtimes are installed), its sensor and every sensor
    found, its Python, synergy and package versions.

    Raises:
        SensorUnavailable, SensorPermissionError, UsageError: the board's sensor cannot be opened.
    """
    from synergy.sensors.discovery import discover_sensors, open_sensor

    sensor = open_sensor(options.sensor, root=options.sysfs_root)
    try:
        opened = sensor.name
    finally:
        sensor.close()
    found = discover_sensors(options.sysfs_root)
    try:
        sensors = [s.name for s in found.sensors]
    finally:
        found.close()
    packages = {name: _version(name) for name in _PACKAGES}
    runtimes = [r for r, module in (("torch", "torch"), ("onnxruntime", "onnxruntime")) if packages[module]]
    return {
        "board": options.board,
        "hostname": socket.gethostname(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "synergy": __version__,
        "runtime": options.runtime,
        "runtimes": runtimes,
        "sensor": options.sensor,
        "sensor_opened": opened,
        "sensors": sensors,
        "packages": packages,
    }


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """The measurement dies with its worker (Linux), so a restarted worker never measures beside it."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _request(board: BoardOptions, caps: dict[str, Any], request: dict[str, Any]) -> tuple[str, list[int] | None]:
    """Check a task's arguments against this board; returns the model and input shape."""
    model = request.get("model")
    if not isinstance(model, str) or not model or model.startswith("-") or "\n" in model:
        raise UsageError(f"the task names no valid model ({model!r})")
    shape = request.get("input_shape")
    if shape is not None and (not isinstance(shape, list) or not all(isinstance(d, int) and d > 0 for d in shape)):
        raise UsageError(f"the task's input shape {shape!r} is not a list of positive integers")
    for name, kind in _SETTINGS.items():
        if not isinstance(request.get(name), kind | int if kind is float else kind):
            raise UsageError(f"the task's {name} is {request.get(name)!r}, not a number")
    fields = request.get("fields") or {}
    expected = {"board": board.board, "runtime": board.runtime, "sensor": board.sensor, "synergy": caps["synergy"]}
    differ = {k: v for k, v in expected.items() if fields.get(k) != v}
    if differ:
        raise UsageError(
            "the task was planned for other board settings ("
            + ", ".join(f"{k} {fields.get(k)!r}, this board {v!r}" for k, v in differ.items())
            + "): plan the campaign again"
        )
    return model, shape


def _command(board: BoardOptions, model: str, shape: list[int] | None, request: dict[str, Any], out: Path) -> list[str]:
    command = [board.python, "-m", "synergy", "measure", model, "--runtime", board.runtime, "--sensor", board.sensor]
    command += ["--sysfs-root", str(board.sysfs_root), "-o", str(out)]
    for name in _SETTINGS:
        command += [f"--{name.replace('_', '-')}", str(request[name])]
    if shape is not None:
        command += ["--input-shape", ",".join(str(d) for d in shape)]
    return command


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["no message"])[-1][:2000]


def measure_task(board: BoardOptions, caps: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh process; the JSON result, with the result directory packed when done.

    A measurement that fails (a model that does not build, a sensor that breaks) gives ``status: failed``
    and the error; only a task that cannot be understood raises.
    """
    key = request.get("key")
    result: dict[str, Any] = {
        "format_version": RESULT_VERSION,
        "key": key,
        "board": board.board,
        "hostname": caps.get("hostname"),
        "synergy": caps.get("synergy"),
        "python": caps.get("python"),
    }
    try:
        model, shape = _request(board, caps, request)
    except UsageError as exc:
        return {**result, "status": "failed", "error": str(exc), "exit_code": None}
    with tempfile.TemporaryDirectory(prefix="synergy-fleet-") as tmp:
        out = Path(tmp) / "result"
        command = _command(board, model, shape, request, out)
        started_unix, started = time.time(), time.monotonic()
        try:
            proc = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=board.task_timeout_s,
                preexec_fn=_die_with_parent,
                check=False,
            )
            code, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as exc:
            code, stderr = None, f"error: the measurement ran over {board.task_timeout_s:g} s and was stopped ({exc})"
        result.update(
            {
                "command": command,
                "exit_code": code,
                "started_unix_s": started_unix,
                "finished_unix_s": time.time(),
                "started_monotonic_s": started,
                "finished_monotonic_s": time.monotonic(),
            }
        )
        if code != 0 or not (out / "run.json").is_file():
            return {**result, "status": "failed", "error": _last_error(stderr)}
        try:
            return {**result, "status": "done", "error": None, **pack_dir(out)}
        except (FleetError, OSError) as exc:
            return {**result, "status": "failed", "error": str(exc)}


@contextlib.contextmanager
def _board_lock(options: BoardOptions) -> Iterator[None]:
    options.state_dir.mkdir(parents=True, exist_ok=True)
    path = options.state_dir / f"{options.board}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(
                f"a worker for board {options.board} already runs on this machine (lock {path}): one worker per board"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def restore_unacked(app: Any, queue: str) -> int:
    """Put back on ``queue`` the tasks a dead worker of this board had taken and not acknowledged.

    Only this board's worker consumes ``queue`` and it holds the board's lock, so every unacknowledged
    message of ``queue`` belongs to a predecessor that died mid-task. Returns how many were restored.
    """
    restored = 0
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        qos = getattr(channel, "qos", None)
        if qos is None or not hasattr(qos, "restore_by_tag"):
            return 0
        client = channel.client
        for tag, raw in client.hgetall(channel.unacked_key).items():
            try:
                _message, _exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            if routing_key == queue:
                qos.restore_by_tag(tag, client)  # next in line (consumed from the right)
                restored += 1
    return restored


def run_worker(
    broker: str,
    options: BoardOptions,
    *,
    backend: str | None = None,
    log: Callable[[str], None] = lambda line: None,
) -> int:
    """Serve ``options.board``'s queue until stopped; returns the worker's exit code.

    Raises:
        UsageError: another worker holds this board, or a bad board name.
        SensorUnavailable, SensorPermissionError: the board's sensor cannot be opened.
        FleetError: the broker cannot be reached.
    """
    from celery.worker.control import control_command

    # celery's Redis backend calls a redis-py method redis-py deprecates: noise in the board's log
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"celery(\..*)?")
    check_board(options.board)
    caps = capabilities(options)  # fail before anything when the sensor is not there
    app = make_app(broker, backend)
    queue = queue_name(options.board)

    @app.task(name=MEASURE_TASK, bind=True)  # type: ignore[untyped-decorator]
    def _measure(self: Any, request: dict[str, Any]) -> dict[str, Any]:
        label = request.get("label", request.get("key"))
        log(f"measuring {label}")
        result = measure_task(options, caps, request)
        took = float(result.get("finished_unix_s", 0.0)) - float(result.get("started_unix_s", 0.0))
        log(f"{label}: {result['status']} in {took:.1f} s" + (f" ({result['error']})" if result.get("error") else ""))
        return result

    @control_command(name=CAPABILITIES_COMMAND)  # type: ignore[untyped-decorator]
    def _capabilities(state: Any, **kwargs: Any) -> dict[str, Any]:
        return {**caps, "seen_unix_s": time.time()}

    with _board_lock(options):
        try:
            restored = restore_unacked(app, queue)
            app.backend.client.set(board_record_key(options.board), json.dumps({**caps, "seen_unix_s": time.time()}))
        except Exception as exc:  # the broker's client raises its own errors: translate them once
            if isinstance(exc, SynergyError):
                raise
            raise FleetError(f"the broker {broker} cannot be reached ({exc}): start it, or check the URL") from exc
        if restored:
            log(f"{restored} task(s) a previous worker of {options.board} had not finished are queued again")
        log(
            f"board {options.board}: {caps['runtime']} runtime, sensor {caps['sensor_opened']}, python "
            f"{caps['python']}, synergy {caps['synergy']}; consuming {queue}"
        )
        worker = app.Worker(
            hostname=f"synergy@{options.board}",
            queues=[queue],
            pool="solo",
            concurrency=1,
            prefetch_multiplier=1,
            without_heartbeat=True,
            without_gossip=True,
            without_mingle=True,
            loglevel="WARNING",
            quiet=True,
        )
        worker.start()
        return int(getattr(worker, "exitcode", 0) or 0)
