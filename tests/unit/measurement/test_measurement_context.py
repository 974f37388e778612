"""``synergy measure`` with the context channels: a fake x86 machine with RAPL, clocks changed mid-run."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
import torch

from synergy.cli import main
from synergy.context.results import read_context_parquet
from synergy.errors import MeasurementCheckError
from synergy.measurement import MeasureOptions, measure
from synergy.testing.context import ContextTree, ContextWriter, frequency_steps, make_x86_tree
from synergy.testing.sysfs import Constant, FakeTree, SysfsWriter, build_rapl


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 14 * 14, 4)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter announces its age
        torch.onnx.export(model.eval(), (torch.randn(1, 3, 16, 16),), str(path), dynamo=False)
    return path


def _machine(root: Path, **kw: object) -> tuple[ContextTree, FakeTree]:
    """A fake x86 machine: cpufreq, thermal zones, proc/stat and a RAPL package, all under ``root``."""
    tree = make_x86_tree(root, **kw)  # type: ignore[arg-type]
    return tree, build_rapl(root, subzones=())


@contextmanager
def _running(rapl: FakeTree, tree: ContextTree | None = None) -> Iterator[None]:
    """20 W on the package; with ``tree``, the CPU clock toggles 2.4 / 1.2 GHz every 20 ms until the end."""
    with SysfsWriter(rapl, {"package-0": Constant(20.0)}, default=Constant(0.0)):
        if tree is None:
            yield
        else:
            with ContextWriter(tree, frequency_steps("cpu", [1.2e9, 2.4e9] * 1000), period_s=0.02):
                yield


#: The attribution's own findings (synergy.alignment.plausibility): a fake RAPL at constant power under
#: a network of microsecond layers may leave layers undetermined; and runs this shared machine delayed.
#: These tests are about the conditions of the fake tree.
_ATTRIBUTION_CODES = {
    "runs-delayed",
    "layers-undetermined",
    "layer-power-implausible",
    "residual-large",
    "readings-downweighted",
    "sum-vs-direct",
    "idle-drift",
    "idle-mismatch",
}


def _conditions(codes: list[str]) -> list[str]:
    return [code for code in codes if code not in _ATTRIBUTION_CODES]


def _options(model: Path, root: Path, **kw: object) -> MeasureOptions:
    base: dict[str, object] = {
        "sensor": "rapl",
        "sysfs_root": root,
        "runs": 40,
        "warmup": 1,
        "idle_s": 0.05,
        "counters": False,
        "context_interval_s": 0.0,
    }
    base.update(kw)
    return MeasureOptions(model=str(model), **base)  # type: ignore[arg-type]


def test_frequency_change_is_sampled_summarised_and_found(tiny_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    tree, rapl = _machine(root, governor="performance", turbo=False)
    out = tmp_path / "out"
    with _running(rapl, tree):
        result = measure(_options(tiny_onnx, root), out)
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete" and result.attribution is not None
    context = run["context"]
    assert {c["name"] for c in context["channels"]["channels"]} >= {"cpu_freq", "thermal", "cpu_util"}
    assert context["before"]["cpufreq_policies"][0]["governor"] == "performance"
    freq = context["runs"]["cpu_freq_hz"]
    assert freq["min"] == pytest.approx(1.2e9) and freq["max"] == pytest.approx(2.4e9)
    assert context["runs"]["cpu0_freq_hz"]["max"] == pytest.approx(2.4e9)
    assert context["runs"]["temp_c"]["max"] == pytest.approx(45.0)  # the hottest zone, x86_pkg_temp
    assert context["layer_rails"] == ["cpu_freq_hz", "temp_c"]
    assert set(context["layers"]) == set(result.layers["layer"])
    assert _conditions([c["code"] for c in run["checks"]]) == ["frequency-changed"]
    assert run["checks"][0]["commands"] == ["sudo cpupower frequency-set -g performance"]
    assert _conditions([f.code for f in result.findings]) == ["frequency-changed"]
    layers = pd.read_csv(out / "layers.csv")
    assert {"cpu_freq_hz_median", "temp_c_max"} <= set(layers.columns)
    assert layers["cpu_freq_hz_median"].between(1.2e9, 2.4e9).all() and (layers["temp_c_max"] == 45.0).all()
    stored = pd.read_parquet(out / "context.parquet")
    assert list(stored.columns) == ["channel", "rail", "t_ns", "t_prev_ns", "value"]
    clocks = read_context_parquet(out / "context.parquet")["cpu_freq"]
    assert {1.2e9, 2.4e9} <= set(clocks.column("cpu0_freq_hz"))
    samples = pd.read_parquet(out / "samples.parquet")
    assert clocks.t_ns.min() < samples["t_ns"].max() and samples["t_ns"].min() < clocks.t_ns.max()  # one clock
    assert (out / "power_profile.png").stat().st_size > 1000


def test_steady_machine_has_no_finding(tiny_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    _, rapl = _machine(root, governor="performance", turbo=False)
    with _running(rapl):
        result = measure(_options(tiny_onnx, root, sensor="none", runs=15), tmp_path / "out")
    assert _conditions([f.code for f in result.findings]) == [] and result.run["status"] == "complete"
    assert _conditions([c["code"] for c in result.run["checks"]]) == []
    assert result.run["context"]["runs"]["cpu_freq_hz"]["median"] == pytest.approx(2.4e9)


def test_default_tree_finds_governor_and_turbo_only(tiny_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    _, rapl = _machine(root)  # powersave governor, turbo on: findings by construction
    with _running(rapl):
        result = measure(_options(tiny_onnx, root, runs=10), tmp_path / "out")
    assert sorted(_conditions([f.code for f in result.findings])) == ["cpu-governor", "turbo"]


def test_without_sensor_the_channels_are_still_sampled(tiny_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_x86_tree(root, governor="performance", turbo=False)
    result = measure(_options(tiny_onnx, root, sensor="none", runs=10), tmp_path / "out")
    assert result.energy_unavailable is not None and result.attribution is None
    assert set(read_context_parquet(tmp_path / "out" / "context.parquet")) >= {"cpu_freq", "thermal"}
    assert "cpu_freq_hz_median" in result.layers and not (tmp_path / "out" / "samples.parquet").exists()


def test_strict_fails_with_results_written(tiny_onnx: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root"
    tree, rapl = _machine(root, governor="performance", turbo=False)
    out = tmp_path / "out"
    args = ["measure", str(tiny_onnx), "--sensor", "rapl", "--sysfs-root", str(root), "--runs", "40"]
    args += ["--warmup", "1", "--idle-s", "0.05", "--no-counters", "--strict", "-o", str(out)]
    with _running(rapl, tree):
        code = main(args)
    captured = capsys.readouterr()
    assert code == 1
    assert "context: CPU governor performance (4 policies, fixed); turbo off" in captured.out
    assert "during the runs (min/median/max): CPU 1.2/" in captured.out
    assert "warning: CPU frequency changed during the measured runs" in captured.err
    assert "    sudo cpupower frequency-set -g performance" in captured.err
    assert "measurement check(s) failed under --strict (" in captured.err and "frequency-changed" in captured.err
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "failed-checks" and run["options"]["strict"] is True
    assert _conditions([c["code"] for c in run["checks"]]) == ["frequency-changed"]
    for name in ("layers.csv", "context.parquet", "samples.parquet", "events.parquet", "power_profile.png"):
        assert (out / name).exists(), name


def test_strict_library_call_raises_with_the_result(tiny_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    _, rapl = _machine(root)
    with _running(rapl), pytest.raises(MeasurementCheckError) as caught:
        measure(_options(tiny_onnx, root, runs=5, strict=True), tmp_path / "out")
    assert caught.value.exit_code == 1
    codes = [f.code for f in caught.value.result.findings]  # type: ignore[attr-defined]
    assert set(_conditions(codes)) == {"cpu-governor", "turbo"}


def test_no_context_samples_power_only(tiny_onnx: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    _, rapl = _machine(root)
    with _running(rapl):
        result = measure(_options(tiny_onnx, root, runs=5, context=False), tmp_path / "out")
    # No check of the conditions; the attribution's own findings remain (5 runs may determine no layer).
    assert result.run["context"] is None and _conditions([c["code"] for c in result.run["checks"]]) == []
    assert not (tmp_path / "out" / "context.parquet").exists() and "cpu_freq_hz_median" not in result.layers
    assert result.attribution is not None or "cannot determine the layers" in result.run["energy_unavailable"]
