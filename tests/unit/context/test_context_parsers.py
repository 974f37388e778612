"""Parsers of kernel files: exact on well-formed text, ChannelReadError on garbage, never anything else."""

from __future__ import annotations

import contextlib
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synergy.context.parsers import (
    CpuTimes,
    parse_cpu_list,
    parse_frequency_list,
    parse_hz,
    parse_khz,
    parse_loadavg,
    parse_millicelsius,
    parse_nvpmodel_conf,
    parse_nvpmodel_status,
    parse_proc_stat,
    parse_process_stat,
    parse_trip_points,
)
from synergy.errors import ChannelReadError, SensorReadError

ticks = st.integers(min_value=0, max_value=2**48)


def test_channel_read_error_is_a_sensor_read_error() -> None:
    assert issubclass(ChannelReadError, SensorReadError)


@given(st.integers(min_value=0, max_value=10**10), st.sampled_from(["", "\n", " \n", "\t"]))
def test_khz_becomes_hz(khz: int, tail: str) -> None:
    assert parse_khz(f"{khz}{tail}") == khz * 1e3


@given(st.integers(min_value=0, max_value=10**12))
def test_hz_stays_hz(hz: int) -> None:
    assert parse_hz(f"{hz}\n") == float(hz)


@given(st.text(max_size=20).filter(lambda s: not s.strip().lstrip("+-").isdigit()))
def test_garbage_frequency_is_a_gap(text: str) -> None:
    with pytest.raises(ChannelReadError):
        parse_khz(text)


def test_negative_frequency_is_a_gap() -> None:
    with pytest.raises(ChannelReadError, match="negative"):
        parse_khz("-1")


@given(st.integers(min_value=-273150, max_value=1_000_000).filter(lambda m: m != -256000))
def test_millicelsius(milli: int) -> None:
    assert math.isclose(parse_millicelsius(f"{milli}\n"), milli / 1000)


@pytest.mark.parametrize("text", ["-256000", "9999999", "-300000", "", "abc", "45.5"])
def test_offline_or_implausible_temperature_is_a_gap(text: str) -> None:
    with pytest.raises(ChannelReadError):
        parse_millicelsius(text)


cpu_rows = st.lists(st.tuples(*([ticks] * 10)), min_size=1, max_size=8)


@given(cpu_rows)
def test_proc_stat_round_trip(rows: list[tuple[int, ...]]) -> None:
    total = [sum(column) for column in zip(*rows, strict=True)]
    lines = ["cpu  " + " ".join(map(str, total))]
    lines += [f"cpu{i} " + " ".join(map(str, row)) for i, row in enumerate(rows)]
    lines += ["intr 1 2 3", "ctxt 5", "btime 1", "cpufreq 3"]
    parsed = parse_proc_stat("\n".join(lines) + "\n")
    assert sorted(parsed) == sorted(["cpu", *(f"cpu{i}" for i in range(len(rows)))])
    for i, row in enumerate(rows):
        times = parsed[f"cpu{i}"]
        assert times == CpuTimes(*row[:8])
        # guest and guest_nice are inside user and nice already: never counted twice
        assert times.total_ticks == sum(row[:8])
        assert times.busy_ticks + times.idle_ticks == times.total_ticks


def test_proc_stat_old_kernels_with_four_counters() -> None:
    parsed = parse_proc_stat("cpu 1 2 3 4\ncpu0 1 2 3 4\n")
    assert parsed["cpu0"].busy_ticks == 6 and parsed["cpu0"].idle_ticks == 4


@pytest.mark.parametrize("text", ["", "intr 1 2", "cpu 1 2 x 4", "cpu 1 2\n", "cpu0 1 2 3 4\n"])
def test_proc_stat_garbage(text: str) -> None:
    with pytest.raises(ChannelReadError):
        parse_proc_stat(text)


@given(
    st.integers(min_value=1, max_value=4_194_304),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=15),
    ticks,
    ticks,
)
def test_process_stat_with_any_command_name(pid: int, comm: str, utime: int, stime: int) -> None:
    line = f"{pid} ({comm}) R 1 {pid} {pid} 0 -1 4194304 10 0 0 0 {utime} {stime} 0 0 20 0 1 0 100 0 0\n"
    stat = parse_process_stat(line)
    assert (stat.pid, stat.comm, stat.state, stat.utime, stat.stime) == (pid, comm, "R", utime, stime)
    assert stat.cpu_ticks == utime + stime


@pytest.mark.parametrize("text", ["", "12 python R 1", "12 (python) R 1 2 3", "x (a) R 1 1 1 0 -1 0 0 0 0 0 1 1"])
def test_process_stat_garbage(text: str) -> None:
    with pytest.raises(ChannelReadError):
        parse_process_stat(text)


trip = st.tuples(
    st.sampled_from(["active", "passive", "hot", "critical"]), st.integers(min_value=-40000, max_value=150000)
)


@given(st.lists(trip, max_size=6), st.sets(st.integers(min_value=0, max_value=5)))
def test_trip_points(trips: list[tuple[str, int]], garbage: set[int]) -> None:
    files = {}
    for index, (kind, milli) in enumerate(trips):
        files[f"trip_point_{index}_type"] = kind + "\n"
        files[f"trip_point_{index}_temp"] = ("garbage" if index in garbage else str(milli)) + "\n"
        files[f"trip_point_{index}_hyst"] = "2000\n"
    parsed = parse_trip_points(files)
    expected = [(i, k, m / 1000) for i, (k, m) in enumerate(trips) if i not in garbage]
    assert [(t.index, t.type, t.temp_c) for t in parsed] == expected
    assert all(t.limits_performance == (t.type != "active") for t in parsed)


def test_trip_without_type_is_left_out() -> None:
    assert parse_trip_points({"trip_point_0_temp": "90000"}) == ()


@given(st.lists(st.integers(min_value=0, max_value=511), min_size=1, max_size=20))
def test_cpu_list_spaces_and_ranges(cpus: list[int]) -> None:
    expected = tuple(sorted(set(cpus)))
    assert parse_cpu_list(" ".join(map(str, cpus)) + "\n") == expected
    ranges = ",".join(f"{c}-{c + 1}" for c in cpus)
    assert parse_cpu_list(ranges) == tuple(sorted({c for x in cpus for c in (x, x + 1)}))


@pytest.mark.parametrize("text", ["0-", "a", "3-1", "0,,x"])
def test_cpu_list_garbage(text: str) -> None:
    with pytest.raises(ChannelReadError):
        parse_cpu_list(text)


def test_frequency_lists() -> None:
    assert parse_frequency_list("2000 1000 \n", scale=1e3) == (1e6, 2e6)
    with pytest.raises(ChannelReadError):
        parse_frequency_list("100 abc")


def test_loadavg() -> None:
    assert parse_loadavg("0.50 0.40 0.30 1/100 12345\n") == (0.5, 0.4, 0.3)
    with pytest.raises(ChannelReadError):
        parse_loadavg("0.5")


NVPMODEL = """< PARAM TYPE=FILE NAME=CPU_ONLINE >
CPU_ONLINE CORE_0 /sys/devices/system/cpu/cpu0/online
< POWER_MODEL ID=0 NAME=MAXN >
CPU_ONLINE CORE_0 1
< POWER_MODEL ID=1 NAME=MODE_15W >
< POWER_MODEL ID=2 NAME=MODE_30W >
< PM_CONFIG DEFAULT=2 >
"""


def test_nvpmodel_conf_and_status() -> None:
    catalogue = parse_nvpmodel_conf(NVPMODEL)
    assert dict(catalogue.modes) == {0: "MAXN", 1: "MODE_15W", 2: "MODE_30W"}
    assert catalogue.default_id == 2
    assert parse_nvpmodel_status("pmode:0002\n") == 2
    assert parse_nvpmodel_status("pmode:0001 fmode:quiet\n") == 1
    with pytest.raises(ChannelReadError):
        parse_nvpmodel_status("garbage")
    with pytest.raises(ChannelReadError):
        parse_nvpmodel_conf("nothing here")


# -- garbage never crashes: a parser returns a value or raises ChannelReadError, nothing else ---------------------


@given(st.text(max_size=200))
def test_proc_stat_never_crashes(text: str) -> None:
    try:
        parsed = parse_proc_stat(text)
    except ChannelReadError:
        return
    assert "cpu" in parsed and all(t.total_ticks >= 0 for t in parsed.values())


@given(st.text(max_size=200))
def test_process_stat_never_crashes(text: str) -> None:
    try:
        stat = parse_process_stat(text)
    except ChannelReadError:
        return
    assert stat.cpu_ticks >= 0


@given(
    st.dictionaries(
        st.sampled_from(["trip_point_0_temp", "trip_point_0_type", "trip_point_1_temp", "x"]), st.text(max_size=12)
    )
)
def test_trip_points_never_crash(files: dict[str, str]) -> None:
    for trip in parse_trip_points(files):
        assert -273.15 <= trip.temp_c <= 1000.0 and trip.type


@given(st.text(max_size=40))
def test_scalar_parsers_never_crash(text: str) -> None:
    for parse in (parse_khz, parse_hz, parse_millicelsius, parse_nvpmodel_status, parse_cpu_list):
        with contextlib.suppress(ChannelReadError):
            parse(text)
