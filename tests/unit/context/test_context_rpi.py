"""The Raspberry Pi firmware channel: ARM clock and get_throttled, on the fake vcgencmd."""

from __future__ import annotations

from pathlib import Path

import pytest

from synergy.context import check_system, collect_context, discover_channels
from synergy.context.rpi import decode_throttled, parse_frequency, parse_throttled, read_rpi_state
from synergy.errors import ChannelReadError
from synergy.testing.vcgencmd import build_rpi5, throttled_text


def test_throttled_bits_are_decoded_now_and_since_boot() -> None:
    assert decode_throttled(0x0) == {"now": [], "since_boot": []}
    assert decode_throttled(0x80008) == {"now": ["soft_temperature_limit"], "since_boot": ["soft_temperature_limit"]}
    assert decode_throttled(0x50000) == {"now": [], "since_boot": ["under_voltage", "throttled"]}
    assert parse_throttled(throttled_text(now=["throttled"])) == 0x40004
    assert parse_frequency("frequency(48)=2400000000\n") == 2.4e9
    with pytest.raises(ChannelReadError):
        parse_frequency("frequency(48)=0")


def test_the_channel_is_sampled_beside_power(tmp_path: Path) -> None:
    build_rpi5(tmp_path, arm_hz=1_500_000_000, throttled=throttled_text(now=["soft_temperature_limit"]))
    channels = discover_channels(tmp_path, use_nvml=False, only=["rpi", "thermal"])
    rpi = channels.get("rpi")
    assert rpi is not None and rpi.rails == ("arm_freq_hz", "rpi_throttle_mask")
    assert rpi.read().values == (1.5e9, float(0x80008))
    assert channels.get("thermal") is not None
    assert rpi.describe()["rails"][1] == {
        "rail": "rpi_throttle_mask",
        "unit": "bitmask",
        "source": "vcgencmd get_throttled",
    }


def test_snapshot_and_finding(tmp_path: Path) -> None:
    build_rpi5(tmp_path, throttled=throttled_text(now=["under_voltage"]))
    context = collect_context(tmp_path, use_nvml=False, top_interval_s=0)
    assert context.rpi == {
        "arm_freq_hz": 2.4e9,
        "throttled_mask": "0x10001",
        "throttled": {"now": ["under_voltage"], "since_boot": ["under_voltage"]},
    }
    assert context.to_dict()["rpi"]["throttled_mask"] == "0x10001"
    (finding,) = [f for f in check_system(context) if f.subject == "rpi"]
    assert finding.code == "throttling" and "under-voltage now" in finding.message
    assert "5 V / 5 A" in finding.remedy


def test_not_a_pi_leaves_no_channel_and_no_note_noise(tmp_path: Path) -> None:
    assert read_rpi_state(tmp_path) == (None, "not a Raspberry Pi")
    channels = discover_channels(tmp_path, use_nvml=False, only=["rpi"])
    assert channels.get("rpi") is None and [n.reason for n in channels.notes] == ["not a Raspberry Pi"]
    assert all(note.channel != "rpi" for note in collect_context(tmp_path, use_nvml=False, top_interval_s=0).notes)
