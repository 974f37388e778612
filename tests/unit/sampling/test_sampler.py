"""The background sampler, driven by scripted sensors.

The logic runs on a virtual clock (:class:`synergy.testing.clock.ManualClock`): nothing sleeps, and nothing
depends on how busy the machine is. A few tests keep the real clock (threads, timeouts, the finaliser), with
bounds that hold when every core is busy.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from synergy.clock import now_ns
from synergy.errors import SamplingError, SensorPermissionError, SensorReadError
from synergy.sampling.sampler import Readable, Sampler, poll_period_for, probe_update_period
from synergy.sensors.base import NullSensor, Reading, SensorKind
from synergy.sensors.scripted import ScriptedSensor
from synergy.testing.clock import ManualClock


def _sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("synergy-")]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 3.0
    while _sampler_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _sampler_threads() == []


def square(t_s: float) -> float:
    return 4.0 + 6.0 * ((t_s % 0.1) < 0.05)


def _clock(seconds: float) -> ManualClock:
    return ManualClock(until_ns=ManualClock.START_NS + int(seconds * 1e9))


def _virtual(sampler: Sampler, clock: ManualClock) -> Sampler:
    """Run ``sampler`` through its clock's virtual time (or until its channels end), then stop it."""
    sampler.start()
    deadline = time.monotonic() + 60
    while sampler.running and not clock.reached.wait(0.005):
        assert time.monotonic() < deadline
    sampler.stop()
    return sampler


def test_counter_energy_matches_the_truth() -> None:
    sensor = ScriptedSensor(square, update_period_s=0.001, resolution_j=1e-6)
    with Sampler(sensor) as sampler:
        time.sleep(0.4)
    result = sampler.result
    assert result is not None
    tl = result.timeline("scripted")
    report = result.channels["scripted"]
    assert report.update_period_source == "stated" and report.poll_period_s == pytest.approx(0.001 / 4)
    assert report.n_stored <= report.n_polls
    assert report.end_reason is None and tl.end_reason is None
    lo, hi = tl.coverage_ns
    true_j = sensor.true_energy_j((lo - sensor.origin_ns) / 1e9, (hi - sensor.origin_ns) / 1e9)[0]
    assert tl.energy_j(lo, hi) == pytest.approx(true_j, rel=0.05)
    assert 3.5 < tl.mean_power_w(lo, hi) < 10.5
    assert result.cpu_s >= 0 and result.wall_s > 0.3


def test_only_changes_are_stored_and_brackets_are_ordered() -> None:
    clock = _clock(0.3)
    sensor = ScriptedSensor(5.0, kind=SensorKind.POWER, update_period_s=0.02, clock=clock.now_ns)
    sensor_changes = ScriptedSensor(
        lambda t: 1.0 + t, kind=SensorKind.POWER, update_period_s=0.02, name="ramp", clock=clock.now_ns
    )
    sampler = _virtual(Sampler([sensor, sensor_changes], clock=clock), clock)
    assert sampler.result is not None
    constant = sampler.result.timeline("scripted")
    # A constant box value: the first read, then one closing row at the last good read.
    assert len(constant) == 2 and sampler.result.channels["scripted"].n_polls > 10
    ramp = sampler.result.timeline("ramp")
    assert len(ramp) > 5
    assert np.all(ramp.t_prev_ns <= ramp.t_ns)
    assert np.all(ramp.t_prev_ns[1:] >= ramp.t_ns[:-1])
    assert np.all(np.diff(ramp.values[:-1, 0]) > 0)  # every stored value differs from the one before


def test_unstated_period_is_probed() -> None:
    clock = ManualClock(until_ns=ManualClock.START_NS + 10**9, min_step_ns=50_000)  # a read costs 50 µs
    sensor = ScriptedSensor(
        lambda t: 1.0 + t, kind=SensorKind.POWER, update_period_s=0.005, state_period=False, clock=clock.now_ns
    )
    probe = probe_update_period(sensor, 0.2, clock=clock)
    assert probe.update_period_s == pytest.approx(0.005, rel=0.01)
    sampler = _virtual(Sampler(sensor, probe_s=0.2, clock=clock), clock)
    assert sampler.result is not None
    report = sampler.result.channels["scripted"]
    assert report.update_period_source == "probed"
    assert report.probe is not None and report.probe.n_changes >= 3
    assert report.poll_period_s == pytest.approx(max(report.update_period_s / 16, 0.001))  # type: ignore[operator]


def test_constant_value_cannot_be_probed_and_falls_back() -> None:
    clock = _clock(0.2)
    sensor = ScriptedSensor(3.0, kind=SensorKind.POWER, update_period_s=0.005, state_period=False, clock=clock.now_ns)
    sampler = _virtual(Sampler(sensor, probe_s=0.05, default_poll_s=0.01, clock=clock), clock)
    assert sampler.result is not None
    report = sampler.result.channels["scripted"]
    assert report.update_period_source == "unknown" and report.poll_period_s == pytest.approx(0.01)


def test_transient_errors_are_gaps() -> None:
    clock = _clock(0.3)
    sensor = ScriptedSensor(
        square, update_period_s=0.001, errors=[(0.1, 0.15)], error_reason="EAGAIN", clock=clock.now_ns
    )
    sampler = _virtual(Sampler(sensor, clock=clock), clock)
    assert sampler.result is not None
    tl = sampler.result.timeline()
    report = sampler.result.channels["scripted"]
    assert report.n_errors > 0 and report.n_gaps >= 1 and report.end_reason is None
    gap = tl.gaps[0]
    assert "EAGAIN" in gap.reason and gap.n_errors >= 1 and gap.t_end_ns >= gap.t_start_ns
    assert tl.t_ns[-1] > gap.t_end_ns  # sampling went on after the gap
    after = np.searchsorted(tl.t_ns, gap.t_end_ns)
    assert tl.t_prev_ns[after] < gap.t_start_ns  # the change is bracketed by the last good read


def test_vanished_sensor_ends_sampling_and_keeps_data() -> None:
    sensor = ScriptedSensor(square, update_period_s=0.001, vanish_at_s=0.15)
    sampler = Sampler(sensor).start()
    deadline = time.monotonic() + 2.0
    while sampler.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not sampler.running  # the thread ends by itself when its only channel is gone
    result = sampler.stop()
    tl = result.timeline()
    assert tl.end_reason is not None and "vanished" in tl.end_reason
    assert result.channels["scripted"].end_reason == tl.end_reason
    assert len(tl) > 10 and tl.duration_s > 0.1


def test_unexpected_exception_ends_the_channel_not_the_process() -> None:
    class Broken:
        name = "broken"
        rails = ("x",)
        update_period_s = 0.01
        calls = 0

        def read(self) -> Reading:
            self.calls += 1
            if self.calls > 3:
                raise RuntimeError("bug in a reader")
            return Reading(now_ns(), (float(self.calls),))

    with Sampler(Broken()) as sampler:
        time.sleep(0.1)
    assert sampler.result is not None
    report = sampler.result.channels["broken"]
    assert report.end_reason is not None and "RuntimeError" in report.end_reason
    assert len(sampler.result.timeline()) >= 3


def test_null_sensor_gives_an_empty_result() -> None:
    with Sampler(NullSensor(reason="no sensor under /sys")) as sampler:
        time.sleep(0.01)
    assert sampler.result is not None
    tl = sampler.result.timeline("none")
    assert len(tl) == 0 and tl.end_reason == "no sensor under /sys"


class Frequency:
    """A level channel (no kind): CPU frequency that steps every 20 ms."""

    name = "cpufreq"
    rails = ("cpu0",)
    update_period_s = 0.02
    unit = "MHz"

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.origin = clock.now_ns()

    def read(self) -> Reading:
        t = self.clock.now_ns()
        return Reading(t, (1000.0 + 100 * (((t - self.origin) // 20_000_000) % 3),))


def test_several_channels_share_one_clock() -> None:
    clock = _clock(0.25)
    freq = Frequency(clock)
    assert isinstance(freq, Readable)
    sensor = ScriptedSensor(square, update_period_s=0.001, clock=clock.now_ns)
    sampler = _virtual(Sampler([sensor, freq], clock=clock), clock)
    assert sampler.result is not None
    power, level = sampler.result.timeline("scripted"), sampler.result.timeline("cpufreq")
    assert level.kind is None and level.unit == "MHz"
    lo = max(power.coverage_ns[0], level.coverage_ns[0])
    hi = min(power.coverage_ns[1], level.coverage_ns[1])
    assert hi > lo
    assert 1000.0 <= level.mean(lo, hi) <= 1200.0
    assert sampler.result.channels["cpufreq"].poll_period_s == pytest.approx(0.005)


def test_rows_spill_to_parquet_chunks(tmp_path: Path) -> None:
    clock = _clock(0.3)
    sensor = ScriptedSensor(square, update_period_s=0.001, clock=clock.now_ns)
    sampler = _virtual(Sampler(sensor, spool_dir=tmp_path, chunk_rows=40, clock=clock), clock)
    assert sampler.result is not None
    tl = sampler.result.timeline()
    chunks = sorted(tmp_path.glob("scripted.*.parquet"))
    assert len(chunks) >= 2
    assert len(tl) == sampler.result.channels["scripted"].n_stored  # the closing row included
    assert np.all(np.diff(tl.t_ns) > 0)


def test_private_spool_is_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    sensor = ScriptedSensor(square, update_period_s=0.001)
    with Sampler(sensor, chunk_rows=5) as sampler:
        time.sleep(0.1)
    assert sampler.result is not None and len(sampler.result.timeline()) > 5
    assert list(tmp_path.glob("synergy-samples-*")) == []


def test_dropped_sampler_stops_its_thread() -> None:
    sampler = Sampler(ScriptedSensor(square, update_period_s=0.001)).start()
    assert len(_sampler_threads()) == 1
    del sampler
    gc.collect()
    # the autouse fixture checks that the thread is gone


def test_blocking_read_is_reported_not_hung() -> None:
    release = threading.Event()

    class Stuck:
        name = "stuck"
        rails = ("x",)
        update_period_s = 0.01
        n = 0

        def read(self) -> Reading:
            self.n += 1
            if self.n > 2:
                release.wait(5.0)
            return Reading(now_ns(), (float(self.n),))

    sampler = Sampler(Stuck(), stop_timeout_s=0.1).start()
    time.sleep(0.05)
    with pytest.raises(SamplingError, match="did not stop"):
        sampler.stop()
    release.set()
    sampler.close()


def test_transient_error_type_is_the_only_gap() -> None:
    class Flaky:
        name = "flaky"
        rails = ("x",)
        update_period_s = 0.002
        n = 0

        def read(self) -> Reading:
            self.n += 1
            if self.n % 2:
                raise SensorReadError("half-written value '12'")
            return Reading(clock.now_ns(), (float(self.n),))

    clock = _clock(0.1)
    sampler = _virtual(Sampler(Flaky(), max_gaps=3, clock=clock), clock)
    assert sampler.result is not None
    report = sampler.result.channels["flaky"]
    assert report.n_gaps == 3 and report.n_gaps_dropped > 0 and report.end_reason is None


def test_bad_configuration() -> None:
    sensor = ScriptedSensor(1.0)
    with pytest.raises(SamplingError, match="unique"):
        Sampler([sensor, sensor])
    with pytest.raises(SamplingError, match="never started"):
        Sampler(sensor).stop()
    with pytest.raises(SamplingError, match="at least one"):
        Sampler([])
    started = Sampler(sensor).start()
    with pytest.raises(SamplingError, match="already started"):
        started.start()
    started.stop()


def test_poll_period_rule() -> None:
    assert poll_period_for(0.001) == pytest.approx(0.001)  # capped at 1 kHz (a sensor sets min_oversample)
    assert poll_period_for(0.001, min_oversample=4.0) == pytest.approx(0.00025)  # RAPL: read 4× per update
    assert poll_period_for(0.0066) == pytest.approx(0.001)
    assert poll_period_for(0.1) == pytest.approx(0.00625)
    assert poll_period_for(0.43) == pytest.approx(0.026875)
    assert poll_period_for(2.0) == pytest.approx(0.05)  # at least 20 Hz
    assert poll_period_for(None, default_s=0.01) == pytest.approx(0.01)


def test_permission_lost_mid_run_ends_the_channel() -> None:
    class Revoked:
        name = "revoked"
        rails = ("x",)
        update_period_s = 0.005
        n = 0

        def read(self) -> Reading:
            self.n += 1
            if self.n > 5:
                raise SensorPermissionError("energy_uj is readable by root only; run as root")
            return Reading(clock.now_ns(), (float(self.n),))

    clock = _clock(0.1)
    sampler = Sampler(Revoked(), clock=clock)
    with pytest.raises(SamplingError, match="still running"):
        sampler.timeline()
    _virtual(sampler, clock)
    tl = sampler.timeline("revoked")
    assert tl.end_reason is not None and "root only" in tl.end_reason and len(tl) >= 5


def test_jittered_schedule_still_samples() -> None:
    clock = _clock(0.15)
    sensor = ScriptedSensor(square, update_period_s=0.002, clock=clock.now_ns)
    sampler = _virtual(Sampler(sensor, jitter=0.3, jitter_seed=1, clock=clock), clock)
    assert sampler.result is not None
    report = sampler.result.channels["scripted"]
    assert report.poll_period_s == pytest.approx(0.002 / 4)  # 1 kHz cap, but four reads per update
    assert report.n_polls == pytest.approx(0.15 / report.poll_period_s, rel=0.05) and report.end_reason is None
    assert report.interval_max_s is not None and report.interval_max_s < 2 * 1.3 * report.poll_period_s
    with pytest.raises(SamplingError, match="jitter"):
        Sampler(sensor, jitter=1.5)


def test_unwritable_spool_ends_the_channel_and_keeps_rows(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the spool directory should be")
    clock = _clock(0.1)
    sensor = ScriptedSensor(square, update_period_s=0.001, clock=clock.now_ns)
    sampler = _virtual(Sampler(sensor, spool_dir=blocker, chunk_rows=3, clock=clock), clock)
    tl = sampler.timeline()
    assert tl.end_reason is not None and "cannot write samples" in tl.end_reason
    assert len(tl) >= 3


def test_level_channel_keeps_readable_rails_when_one_is_nan() -> None:
    class Thermal:
        name = "thermal"
        rails = ("cpu_temp_c", "gpu_temp_c")
        update_period_s = 0.005
        n = 0

        def read(self) -> Reading:
            self.n += 1
            return Reading(clock.now_ns(), (40.0 + self.n % 3, float("nan")))

    clock = _clock(0.1)
    sampler = _virtual(Sampler(Thermal(), clock=clock), clock)
    tl = sampler.timeline()
    assert len(tl) > 3 and not tl.gaps
    assert np.all(np.isfinite(tl.values[:, 0])) and np.all(np.isnan(tl.values[:, 1]))
    assert np.all(np.diff(tl.values[:-1, 0]) != 0)  # NaN == NaN: only the first rail's changes are stored


def test_power_sensor_nan_is_a_gap() -> None:
    class Glitchy:
        name = "glitchy"
        kind = SensorKind.POWER
        rails = ("in", "cpu")
        update_period_s = 0.005
        n = 0

        def read(self) -> Reading:
            self.n += 1
            return Reading(clock.now_ns(), (5.0 + self.n, float("nan") if self.n == 4 else 1.0))

    clock = _clock(0.1)
    sampler = _virtual(Sampler(Glitchy(), clock=clock), clock)
    tl = sampler.timeline()
    assert len(tl.gaps) == 1 and "non-finite" in tl.gaps[0].reason
    assert np.all(np.isfinite(tl.values))
