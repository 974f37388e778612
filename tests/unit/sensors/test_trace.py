"""``trace:FILE``: the meter-log parser, the sync pattern and the alignment."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from synergy.clock import wall_offset_ns
from synergy.errors import AlignmentError, DatasetError, SensorUnavailable
from synergy.sensors.base import FilterModel, SensorKind
from synergy.sensors.trace import (
    MeterTrace,
    SyncPattern,
    SyncRecord,
    align_trace,
    emit_sync_pattern,
    open_trace_sensor,
    parse_trace_spec,
    read_trace_csv,
)

TIME_HEADERS = {
    "t_s": 1.0,
    "time": 1.0,
    "timestamp": 1.0,
    "Time Stamp": 1.0,
    "Time (s)": 1.0,
    "time_ms": 1e-3,
    "t [us]": 1e-6,
    "ms": 1e-3,
}
POWER_HEADERS = {"power_w": 1.0, "watts": 1.0, "W": 1.0, "Power (mW)": 1e-3, "power [kW]": 1e3, "mW": 1e-3}
ENERGY_HEADERS = {"energy_j": 1.0, "joules": 1.0, "J": 1.0, "energy_mj": 1e-3, "Energy (Wh)": 3600.0, "kWh": 3.6e6}


def write(tmp_path: Path, text: str, name: str = "meter.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@given(
    time_header=st.sampled_from(sorted(TIME_HEADERS)),
    value_header=st.sampled_from(sorted(POWER_HEADERS) + sorted(ENERGY_HEADERS)),
    steps=st.lists(st.integers(1, 10_000), min_size=2, max_size=40),
    raw=st.lists(st.floats(0, 1e4, allow_nan=False), min_size=41, max_size=41),
    delimiter=st.sampled_from([",", ";", "\t"]),
    extra=st.booleans(),
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_parser_round_trips_any_accepted_layout(
    tmp_path: Path,
    time_header: str,
    value_header: str,
    steps: list[int],
    raw: list[float],
    delimiter: str,
    extra: bool,
) -> None:
    t = np.cumsum(steps).astype(float)
    is_energy = value_header in ENERGY_HEADERS
    values = np.cumsum(raw[: t.size]) if is_energy else np.asarray(raw[: t.size])
    headers = [time_header, value_header] + (["comment"] if extra else [])
    lines = ["# exported by a meter", delimiter.join(headers)]
    for a, b in zip(t, values, strict=True):
        lines.append(delimiter.join([repr(float(a)), repr(float(b))] + (["x"] if extra else [])))
    trace = read_trace_csv(write(tmp_path, "\n".join(lines) + "\n"))
    scale = ENERGY_HEADERS[value_header] if is_energy else POWER_HEADERS[value_header]
    assert trace.kind is (SensorKind.ENERGY if is_energy else SensorKind.POWER)
    assert np.allclose(trace.t_s, t * TIME_HEADERS[time_header], rtol=1e-12)
    assert np.allclose(trace.values, values * scale, rtol=1e-12)
    assert trace.time_column == time_header and trace.value_column == value_header


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=30))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_parser_accepts_increasing_time_only(tmp_path: Path, times: list[float]) -> None:
    text = "t_s,power_w\n" + "".join(f"{t!r},1.0\n" for t in times)
    path = write(tmp_path, text)
    if all(b > a for a, b in itertools.pairwise(times)):
        assert read_trace_csv(path).t_s.size == len(times)
    else:
        with pytest.raises(DatasetError, match="time does not increase"):
            read_trace_csv(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("power_w\n1\n2\n", "no time column"),
        ("t_s,volts\n0,1\n1,2\n", "no power or energy column"),
        ("t_s,power_hp\n0,1\n1,2\n", "unknown unit 'hp'"),
        ("t (fortnights),power_w\n0,1\n1,2\n", "unknown time unit"),
        ("t_s,power_w\n0,1\n", "1 data row"),
        ("t_s,power_w\n0,1\n1,nan\n", "NaN"),
        ("t_s,power_w\n0,1\n1,\n", "is not a number"),
        ("t_s,power_w\n0,1\n1,abc\n", "is not a number"),
        ("t_s,power_w\n0,1\n1\n", "fields"),
        ("t_s,power_w\n0,1\n0,2\n", "time does not increase"),
        ("t_s,energy_j\n0,5\n1,6\n2,1\n", "energy decreases"),
        ("t_s,power_w\n0,1\nyesterday,2\n", "not a number or a date-time"),
    ],
)
def test_bad_traces_give_one_line_errors(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DatasetError, match=match) as info:
        read_trace_csv(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message and "meter.csv" in message and ";" in message  # problem; fix


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        read_trace_csv(tmp_path / "absent.csv")


def test_energy_wrap_and_column_choice(tmp_path: Path) -> None:
    path = write(tmp_path, "t_s,power_w,energy_j\n0,1,8\n1,1,9\n2,1,0.5\n")
    assert read_trace_csv(path).kind is SensorKind.POWER  # power wins when both are present
    trace = read_trace_csv(path, column="energy_j", wrap_j=10.0)
    assert list(trace.values) == [8.0, 9.0, 10.5]
    with pytest.raises(DatasetError, match="no power or energy column named"):
        read_trace_csv(path, column="volts")


def test_iso_date_times_are_unix_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,W\n2026-01-02T03:04:05.250,1\n2026-01-02T03:04:05.750,2\n")
    trace = read_trace_csv(path)
    assert trace.wall_clock
    assert trace.t_s[1] - trace.t_s[0] == pytest.approx(0.5)
    assert trace.t_s[0] == pytest.approx(datetime(2026, 1, 2, 3, 4, 5, 250000).timestamp())


def synthetic_trace(record: SyncRecord, offset_s: float, period_s: float, noise_w: float, seed: int = 0) -> MeterTrace:
    """What a meter sampling every ``period_s`` would log of the pattern, on a clock ``offset_s`` behind."""
    rng = np.random.default_rng(seed)
    start = record.edges_ns[0] / 1e9 - 2.0 + rng.uniform(0, period_s)  # the meter's phase is arbitrary
    t_mono = np.arange(start, record.edges_ns[-1] / 1e9 + 2.0, period_s)
    level = record.level(np.round(t_mono * 1e9).astype(np.int64))
    power = 5.0 + 12.0 * level + rng.normal(0, noise_w, t_mono.size)
    return MeterTrace(Path("synthetic.csv"), t_mono - offset_s, power, SensorKind.POWER, "t_s", "power_w")


def recorded(pattern: SyncPattern, start_ns: int = 10_000_000_000) -> SyncRecord:
    edges = start_ns + np.concatenate([[0], np.cumsum(np.round(np.asarray(pattern.durations_s) * 1e9))])
    return SyncRecord(pattern, edges.astype(np.int64))


@pytest.mark.parametrize("offset_s", [-3.21, 0.0, 1_700_000_000.123])
def test_alignment_finds_the_offset(offset_s: float) -> None:
    record = recorded(SyncPattern.random(n_bursts=8, bit_s=0.1))
    trace = synthetic_trace(record, offset_s, period_s=0.01, noise_w=2.0)
    alignment = align_trace(trace, record)
    assert alignment.offset_s == pytest.approx(offset_s, abs=0.01)  # within one meter period
    assert alignment.correlation > 0.8 and alignment.ambiguity < 0.85


def test_alignment_refuses_a_trace_without_the_pattern() -> None:
    record = recorded(SyncPattern.random(n_bursts=8, bit_s=0.1))
    trace = synthetic_trace(record, 0.0, period_s=0.01, noise_w=1.0)
    flat = MeterTrace(
        trace.path, trace.t_s, np.random.default_rng(3).normal(5, 1, trace.t_s.size), SensorKind.POWER, "t", "p"
    )
    with pytest.raises(AlignmentError, match="not found"):
        align_trace(flat, record)


def test_alignment_refuses_an_ambiguous_pattern() -> None:
    periodic = SyncPattern((0.1,) * 15)  # a plain square wave matches at every period
    record = recorded(periodic)
    trace = synthetic_trace(record, 0.0, period_s=0.01, noise_w=0.5)
    with pytest.raises(AlignmentError, match="ambiguous"):
        align_trace(trace, record)


def test_alignment_refuses_a_too_coarse_meter() -> None:
    record = recorded(SyncPattern.random(n_bursts=8, bit_s=0.1))
    trace = synthetic_trace(record, 0.0, period_s=0.5, noise_w=0.0)
    with pytest.raises(AlignmentError, match="bursts of at least"):
        align_trace(trace, record)


def test_emit_sync_pattern_records_every_edge() -> None:
    before = threading.active_count()
    pattern = SyncPattern.random(n_bursts=3, bit_s=0.02)
    record = emit_sync_pattern(pattern, workers=2)
    assert len(record.edges_ns) == len(pattern.durations_s) + 1
    assert np.all(np.diff(record.edges_ns) > 0)
    assert (record.edges_ns[-1] - record.edges_ns[0]) / 1e9 >= pattern.duration_s * 0.99
    assert threading.active_count() == before
    mid_first = (record.edges_ns[0] + record.edges_ns[1]) // 2
    mid_second = (record.edges_ns[1] + record.edges_ns[2]) // 2
    assert list(record.level([mid_first, mid_second, record.edges_ns[-1] + 1])) == [1.0, 0.0, 0.0]


def test_trace_sensor_is_read_after_the_run(tmp_path: Path) -> None:
    record = recorded(SyncPattern.random(n_bursts=6, bit_s=0.1))
    trace = synthetic_trace(record, 100.0, period_s=0.01, noise_w=0.5)
    lines = ["time_ms,power_mw"] + [
        f"{a * 1e3:.3f},{b * 1e3:.1f}" for a, b in zip(trace.t_s, trace.values, strict=True)
    ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    sensor = open_trace_sensor(path)
    assert sensor.live is False and sensor.kind is SensorKind.POWER
    assert sensor.update_period_s == pytest.approx(0.01, rel=1e-3)
    with pytest.raises(SensorUnavailable, match="after the run"):
        sensor.read()
    with pytest.raises(AlignmentError, match="no clock offset"):
        sensor.timeline()
    timeline = sensor.timeline(record)
    assert sensor.alignment is not None and sensor.alignment.offset_s == pytest.approx(100.0, abs=0.01)
    assert timeline.sensor["alignment"]["correlation"] > 0.8
    busy = (int(record.edges_ns[0]) + 10_000_000, int(record.edges_ns[1]) - 10_000_000)
    assert timeline.mean_power_w(*busy) == pytest.approx(17.0, abs=0.5)
    explicit = open_trace_sensor(path, offset_s=100.0).timeline()
    assert explicit.mean_power_w(*busy) == pytest.approx(17.0, abs=0.5)
    assert sensor.describe()["live"] is False


def test_trace_sensor_with_wall_clock_offset(tmp_path: Path) -> None:
    import time

    now_s = time.time()
    path = write(tmp_path, f"timestamp,energy_j\n{now_s - 2:.6f},0\n{now_s - 1:.6f},3\n{now_s:.6f},6\n")
    timeline = open_trace_sensor(path, offset_s="wall").timeline()
    assert timeline.model == "counter"
    mono_now = (time.time_ns() - wall_offset_ns()) / 1e9
    assert timeline.t_ns[-1] / 1e9 == pytest.approx(mono_now, abs=1.0)
    lo, hi = timeline.coverage_ns
    assert timeline.mean_power_w(lo, hi) == pytest.approx(3.0)
    relative = write(tmp_path, "t_s,W\n0,1\n1,1\n", "relative.csv")
    with pytest.raises(AlignmentError, match="Unix time"):
        open_trace_sensor(relative, offset_s="wall").timeline()


def test_box_filter_for_averaging_meters(tmp_path: Path) -> None:
    path = write(tmp_path, "t_s,W\n0,0\n1,2\n2,4\n")
    timeline = open_trace_sensor(path, offset_s=0.0, filter_model=FilterModel("box", 1.0)).timeline()
    assert timeline.energy_j(0, 2_000_000_000) == pytest.approx(6.0)


def test_parse_trace_spec() -> None:
    assert parse_trace_spec("trace:/tmp/m.csv") == Path("/tmp/m.csv")
    assert parse_trace_spec("rapl") is None and parse_trace_spec("trace:") is None


def test_averaging_meter_is_not_read_half_an_interval_late() -> None:
    record = recorded(SyncPattern.random(n_bursts=8, bit_s=0.2))
    period = 0.02
    t_mono = np.arange(record.edges_ns[0] / 1e9 - 1.0 + 0.0037, record.edges_ns[-1] / 1e9 + 1.0, period)
    fine = np.linspace(0, 1, 41)[:-1]  # each row: the mean of the level over the preceding period
    level = np.array(
        [record.level(np.round((t - period + fine * period) * 1e9).astype(np.int64)).mean() for t in t_mono]
    )
    trace = MeterTrace(Path("avg.csv"), t_mono, 5.0 + 10.0 * level, SensorKind.POWER, "t_s", "power_w")
    box = align_trace(trace, record, trace_filter=FilterModel("box", period))
    assert box.offset_s == pytest.approx(0.0, abs=0.005)
    late = align_trace(trace, record)
    assert late.offset_s == pytest.approx(-period / 2, abs=0.005)
