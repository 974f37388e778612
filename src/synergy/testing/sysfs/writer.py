"""The writer: updates a fake tree's files at the hardware's pace, in a thread, a process, or by hand."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import threading
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from synergy.testing.sysfs.drivers import (
    CounterDriver,
    Driver,
    FakeTree,
)
from synergy.testing.sysfs.files import write_atomic
from synergy.testing.sysfs.power import Constant, PowerFunction, _version


def _apply(drivers: Mapping[str, Driver], held: set[Path], command: tuple[str, str, str]) -> None:
    action, target, text = command
    path = Path(target)
    if action == "inject":
        write_atomic(path, text) if text else _truncate(path)
        held.add(path)
    elif action == "release":
        held.discard(path)
    elif action == "vanish":
        held.add(path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _truncate(path: Path) -> None:
    write_atomic(path, "")


def _step_all(drivers: Mapping[str, Driver], powers: Mapping[str, PowerFunction], held: set[Path], t_s: float) -> None:
    for rail, driver in drivers.items():
        if t_s + 1e-12 < driver.next_due():
            continue
        if held.intersection(driver.files()):
            # a held or vanished file is not rewritten; time still passes for the others
            _skip(driver, t_s, powers[rail])
            continue
        driver.advance(t_s, powers[rail])


def _skip(driver: Driver, t_s: float, p: PowerFunction) -> None:
    if isinstance(driver, CounterDriver):
        driver.advance(t_s, p, write=False)  # the hardware keeps counting; only the file is stale
    else:
        assert driver.t_last_s is not None
        ticks = int((t_s - driver.t_last_s) / driver.update_interval_s + 1e-9)
        driver.t_last_s += max(0, ticks) * driver.update_interval_s


def _prime(driver: Driver, p: PowerFunction, t_s: float) -> None:
    """Time zero: counters start; latching files get the average of the interval before ``t_s``."""
    driver.begin(t_s)
    if not isinstance(driver, CounterDriver):
        driver.latch(driver.power_at(t_s, p))


#: A punctual writer's counter update that would appear later than this fraction of a period after its
#: instant is merged into the next update instead.
COUNTER_LATE = 0.25

#: The default power of rails without a power function.
_ONE_WATT = Constant(1.0)


class _Publisher:
    """Publishes every driver's value for its latest update instant, on time where the machine allows.

    Real hardware latches a value at each instant of its regular grid and a read sees it at once. A Python
    writer wakes late; it therefore never shifts the grid: after a late wake-up it writes the value of the
    most recent grid instant (a register holding its last latch). With ``spin_s > 0`` it wakes ``spin_s``
    before an instant, computes the value then (exact for power functions that integrate themselves; the
    latest state is assumed to go on), stages the new files, busy-waits for the instant and renames them
    into place: the value appears within a rename of its instant. The writer wakes earlier by the time
    computing and staging took lately (at most half a period). If the power function's past changed
    meanwhile (an announcement), the value is recomputed first. Files whose text did not change are not
    rewritten (a constant bus voltage: one file changes per latch, as one register does). A counter update
    that would appear more than :data:`COUNTER_LATE` of a period late is skipped and carried by the next
    one, as if the hardware had not updated that time; a late rail value is still written (skipping it
    would leave the previous window's value standing for this one).
    """

    def __init__(self, drivers: dict[str, Driver], powers: dict[str, PowerFunction], spin_s: float) -> None:
        self.drivers = drivers
        self.powers = powers
        self.spin_s = spin_s
        self.written: dict[Path, str] = {}
        self.modes: dict[Path, int] = {}
        self.origin_s = 0.0
        self.stage_s = 0.0  # a decaying maximum of the time computing and staging a value takes
        self.n_late = 0
        self.n_skipped = 0
        self.n_recomputed = 0
        self.delays_ns: list[int] = []

    def next_due(self) -> float:
        return min(driver.next_due() for driver in self.drivers.values())

    def _stage(self, files: list[tuple[Path, str]]) -> list[tuple[Path, Path, str]]:
        staged = []
        for path, text in files:
            if self.written.get(path) == text:
                continue
            mode = self.modes.get(path)
            if mode is None:
                try:
                    mode = path.stat().st_mode & 0o7777
                except FileNotFoundError:
                    mode = 0o444
                self.modes[path] = mode
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            try:
                os.write(fd, (text + "\n").encode())
                os.fchmod(fd, mode)
            finally:
                os.close(fd)
            staged.append((tmp, path, text))
        return staged

    def publish(self, held: set[Path]) -> None:
        """Publish the drivers due at the next instant (or at the latest one passed); spin first if early."""
        now = time.monotonic()
        due = self.next_due()
        group: list[tuple[str, Driver, float]] = []
        for rail, driver in self.drivers.items():
            if driver.next_due() > max(now, due) + 1e-9:
                continue
            assert driver.t_last_s is not None
            ticks = max(1, int((max(now, due) - driver.t_last_s) / driver.update_s + 1e-9))
            group.append((rail, driver, driver.t_last_s + ticks * driver.update_s))
        if not group:
            return
        g = min(instant for _, _, instant in group)
        group = [item for item in group if abs(item[2] - g) < 1e-9]
        if now > g + min(driver.update_s for _, driver, _ in group) / 2:
            self.n_late += 1
        if self._skip_counters(group, g, now):
            return
        live = [(rail, driver) for rail, driver, _ in group if not held.intersection(driver.files())]
        versions = [_version(self.powers[rail]) for rail, _ in live]
        staged = [self._stage(driver.render(g, self.powers[rail])) for rail, driver in live]
        cost = time.monotonic() - now
        self.stage_s = max(cost, 0.95 * self.stage_s)
        g_ns = round(g * 1e9)
        while time.monotonic_ns() < g_ns:
            pass
        if self._skip_counters(group, g, time.monotonic()):
            for files in staged:
                for tmp, _, _ in files:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
            return
        for k, (rail, driver) in enumerate(live):
            if _version(self.powers[rail]) != versions[k]:  # the past changed while waiting: recompute
                self.n_recomputed += 1
                staged[k] = self._stage(driver.render(g, self.powers[rail]))
        for files in staged:
            for tmp, path, text in files:
                os.replace(tmp, path)
                self.written[path] = text
        if len(self.delays_ns) < 1 << 22:
            self.delays_ns.append(time.monotonic_ns() - g_ns)
        for rail, driver, _ in group:
            driver.commit(g, self.powers[rail])  # held files are not rewritten; the hardware goes on

    def _skip_counters(self, group: list[tuple[str, Driver, float]], g: float, now: float) -> bool:
        """Skip an update of counters that can no longer appear on time (the next one carries both)."""
        if self.spin_s <= 0 or now <= g + min(driver.update_s for _, driver, _ in group) * COUNTER_LATE:
            return False
        if not all(isinstance(driver, CounterDriver) for _, driver, _ in group):
            return False
        self.n_skipped += 1
        for rail, driver, _ in group:
            driver.commit(g, self.powers[rail])
        return True

    def stats(self) -> dict[str, float]:
        """How punctually values were published: count, late (by over half a period), delays in µs."""
        out: dict[str, float] = {
            "grid_origin_ns": float(round(self.origin_s * 1e9)),
            "published": float(len(self.delays_ns)),
            "late": float(self.n_late),
            "skipped": float(self.n_skipped),
            "recomputed": float(self.n_recomputed),
        }
        if self.delays_ns:
            ordered = sorted(self.delays_ns)
            for name, q in (("min", 0.0), ("median", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
                out[f"delay_{name}_us"] = ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e3
        return out

    def wait_s(self) -> float:
        """Seconds to sleep before the next :meth:`publish`."""
        period = min(driver.update_s for driver in self.drivers.values())
        lead = min(self.spin_s + self.stage_s, period / 2) if self.spin_s > 0 else 0.0
        return self.next_due() - lead - time.monotonic()


def _loop(
    drivers: dict[str, Driver],
    powers: dict[str, PowerFunction],
    commands: Any,
    acks: Any,
    stop: Any,
    ready: Any,
    spin_s: float = 0.0,
) -> None:
    held: set[Path] = set()
    t0 = time.monotonic()
    for rail, driver in drivers.items():
        _prime(driver, powers[rail], t0)
    publisher = _Publisher(drivers, powers, spin_s)
    publisher.origin_s = t0
    ready.set()
    while not stop.is_set():
        while True:
            try:
                command = commands.get_nowait()
            except queue.Empty:
                break
            _apply(drivers, held, command)
            publisher.written.pop(Path(command[1]), None)
            acks.put(command[1])
        wait = publisher.wait_s()
        if wait > 0:
            time.sleep(min(wait, 0.005))
            continue
        publisher.publish(held)
    acks.put(("stats", publisher.stats()))


class SysfsWriter:
    """Updates a fake tree's files at the hardware's pace from power functions of monotonic time.

    Use it as a context manager (``with SysfsWriter(tree, ...):``), or call :meth:`start` and
    :meth:`stop`; or call :meth:`step` yourself for deterministic tests (no thread at all).

    Args:
        tree: the tree (or a mapping rail → driver).
        power: watts versus ``time.monotonic()`` seconds per rail (missing rails get ``default``).
        default: the power function of rails not in ``power``.
        mode: ``thread`` (default) or ``process`` (a spawned process; power functions must be picklable,
            such as :class:`Constant` and :class:`Square`).
        spin_s: how long before each update instant a background writer wakes, computes and stages the
            value, then busy-waits for the instant (default: 200 µs in a process, 0 in a thread, which
            would hold the interpreter lock).

    Attributes:
        stats: after :meth:`stop`, how punctually the background writer published (see
            ``_Publisher.stats``): ``published``, ``late``, ``recomputed``, ``delay_{min,median,p90,p99,max}_us``.
    """

    def __init__(
        self,
        tree: FakeTree | Mapping[str, Driver],
        power: Mapping[str, PowerFunction] | None = None,
        *,
        default: PowerFunction = _ONE_WATT,
        mode: str = "thread",
        spin_s: float | None = None,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"mode must be 'thread' or 'process', got {mode!r}")
        drivers = dict(tree.drivers if isinstance(tree, FakeTree) else tree)
        unknown = set(power or {}) - set(drivers)
        if unknown:
            raise ValueError(f"no rail named {', '.join(sorted(unknown))}; rails: {', '.join(drivers)}")
        self.drivers = drivers
        self.powers = {rail: (power or {}).get(rail, default) for rail in drivers}
        self.mode = mode
        self.spin_s = (200e-6 if mode == "process" else 0.0) if spin_s is None else spin_s
        self.stats: dict[str, float] = {}
        self._held: set[Path] = set()
        self._started_manual = False
        self._worker: threading.Thread | multiprocessing.process.BaseProcess | None = None
        self._stop: Any = None
        self._commands: Any = None
        self._acks: Any = None
        self._finalizer: weakref.finalize[Any, SysfsWriter] | None = None

    # -- manual stepping ---------------------------------------------------------------------------
    def step(self, t_s: float) -> None:
        """Bring every file to its state at monotonic time ``t_s`` (the first call sets time zero)."""
        if self._worker is not None:
            raise RuntimeError("step() cannot be used while the writer runs")
        if not self._started_manual:
            for rail, driver in self.drivers.items():
                _prime(driver, self.powers[rail], t_s)
            self._started_manual = True
            return
        _step_all(self.drivers, self.powers, self._held, t_s)

    # -- background --------------------------------------------------------------------------------
    def start(self) -> SysfsWriter:
        """Start updating in the background; returns once the first values are written."""
        if self._worker is not None:
            raise RuntimeError("the writer is already running")
        ready: Any
        if self.mode == "thread":
            self._stop, ready = threading.Event(), threading.Event()
            self._commands, self._acks = queue.Queue(), queue.Queue()
            self._worker = threading.Thread(
                target=_loop,
                args=(self.drivers, self.powers, self._commands, self._acks, self._stop, ready, self.spin_s),
                name="synergy-sysfs-writer",
                daemon=True,
            )
        else:
            ctx = multiprocessing.get_context("spawn")
            self._stop, ready = ctx.Event(), ctx.Event()
            self._commands, self._acks = ctx.Queue(), ctx.Queue()
            self._worker = ctx.Process(
                target=_loop,
                args=(self.drivers, self.powers, self._commands, self._acks, self._stop, ready, self.spin_s),
                name="synergy-sysfs-writer",
                daemon=True,
            )
        self._worker.start()
        self._finalizer = weakref.finalize(self, _shutdown, self._worker, self._stop)
        if not ready.wait(timeout=30):
            self.stop()
            raise RuntimeError("the sysfs writer did not start within 30 s")
        return self

    def stop(self) -> None:
        """Stop the background writer and wait for it (idempotent)."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
            with contextlib.suppress(queue.Empty, OSError, ValueError):
                while True:
                    item = self._acks.get(timeout=1)
                    if isinstance(item, tuple) and item[0] == "stats":
                        self.stats = dict(item[1])
                        break
        if self.mode == "process":
            for channel in (self._commands, self._acks):
                if channel is not None:
                    channel.close()
                    channel.join_thread()
        self._commands = self._acks = None
        self._worker = None

    @property
    def running(self) -> bool:
        """Whether the background writer is alive."""
        return self._worker is not None and self._worker.is_alive()

    def __enter__(self) -> SysfsWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------------------------
    def inject(self, path: Path, text: str) -> None:
        """Write ``text`` into ``path`` (``""`` empties it, ``"12"`` looks half-written) and hold it there.

        The file is not rewritten until :meth:`release`.
        """
        self._command(("inject", str(path), text))

    def release(self, path: Path) -> None:
        """Let the writer update ``path`` again."""
        self._command(("release", str(path), ""))

    def vanish(self, path: Path) -> None:
        """Delete ``path`` and never write it again (a device that went away)."""
        self._command(("vanish", str(path), ""))

    def _command(self, command: tuple[str, str, str]) -> None:
        if self._worker is None:
            _apply(self.drivers, self._held, command)
            return
        self._commands.put(command)
        try:
            self._acks.get(timeout=10)
        except queue.Empty:
            raise RuntimeError(f"the sysfs writer did not apply {command[0]} within 10 s") from None


def _shutdown(worker: threading.Thread | multiprocessing.process.BaseProcess, stop: Any) -> None:
    stop.set()
    worker.join(timeout=10)
    if isinstance(worker, threading.Thread):
        return
    if worker.is_alive():
        worker.terminate()
        worker.join(timeout=5)
