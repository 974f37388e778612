"""``run_study`` end to end: the study directory, resume, refusal, interruption, failures."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from study_helpers import TWO, quick

from synergy.errors import OutputExistsError, UsageError
from synergy.models import MODELS
from synergy.study import StudyProgress, StudyResult, load_options, run_study
from synergy.zoo import SMALL, ZooEntry


def test_small_zoo_end_to_end(small_study: StudyResult) -> None:
    out = small_study.out_dir
    state = json.loads((out / "study.json").read_text())
    assert state["status"] == "complete" and state["format_version"] == 1
    # no energy sensor: the on-CPU time of every layer (task-clock, counted per layer by the torch runtime)
    assert state["target"] == "cpu_time_s" and state["target_label"] == "on-CPU time"
    assert "sensor 'none'" in state["target_reason"] and "task_clock_ns" in state["counters"]
    for entry in SMALL:
        run_dir = out / "networks" / entry.name
        assert (run_dir / "layers.csv").is_file() and (run_dir / "features.csv").is_file()
        assert state["networks"][entry.name]["status"] == "done"
    assert not list((out / "networks").glob(".partial-*"))
    layers = pd.read_csv(out / "layers.csv")
    assert set(layers["network"]) == {e.name for e in SMALL}
    assert (layers["duration_s_median"] > 0).all() and (layers["cpu_time_s"] > 0).all()
    # features joined from the analysis: convolutions carry MACs and a kernel-refined op key
    conv = layers[layers["category"] == "conv"]
    assert (conv["macs"] > 0).all() and conv["op_key"].str.match(r"(DW)?Conv\d+x\d+").all()
    assert any(layers["op_key"].str.startswith("DWConv"))  # MobileNet's depthwise layers
    networks = pd.read_csv(out / "networks.csv")
    shares = networks[["conv_share", "pooling_share", "fc_share", "other_share"]].sum(axis=1)
    assert shares.round(9).eq(1.0).all()
    evaluation = pd.read_csv(out / "evaluation.csv")
    assert list(evaluation["model"]) == list(MODELS)
    assert evaluation["layer_mean_err_%"].notna().all() and evaluation["network_mean_err_%"].notna().all()
    predictions = pd.read_csv(out / "predictions.csv")
    assert set(MODELS) <= set(predictions.columns) and len(predictions) == len(layers)
    by_type = pd.read_csv(out / "evaluation_by_type.csv")
    assert set(by_type["model"]) == set(MODELS)


def test_report_is_self_contained(small_study: StudyResult) -> None:
    report = small_study.report
    assert report is not None and report == small_study.out_dir / "report.html"
    page = report.read_text()
    assert "on-CPU time per layer" in page and "77–82 %" in page
    for entry in SMALL:
        assert f'id="net-{entry.name}"' in page
    # nothing online: every src is inline data, no external style sheet, script or font
    sources = re.findall(r'\bsrc="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<link\b|@import|url\(|https?://", page)
    pngs = {p.name for p in (small_study.out_dir / "img").glob("*.png")}
    assert {"shares_by_type.png", "cpu_time_vs_macs.png", "predicted_layers.png", "predicted_networks.png"} <= pngs
    assert {f"profile_{e.name}.png" for e in SMALL} <= pngs
    assert len(sources) == len(pngs)


def test_existing_study_is_refused_and_untouched(small_study: StudyResult) -> None:
    out = small_study.out_dir
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(OutputExistsError, match="--resume"):
        run_study(quick(), out)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_resume_with_other_settings_is_refused(small_study: StudyResult) -> None:
    stored = load_options(small_study.out_dir)
    with pytest.raises(UsageError, match="runs 3"):
        run_study(quick(SMALL, runtime=stored.runtime, runs=5, warmup=1), small_study.out_dir, resume=True)


def test_resume_without_study_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no study"):
        run_study(quick(), tmp_path, resume=True)


class _Interrupt(StudyProgress):
    """Presses Ctrl-C during the first run of the network named ``at``."""

    def __init__(self, at: str) -> None:
        self.at = at
        self.current = ""
        self.started: tuple[int, int] | None = None
        self.measured: list[str] = []

    def start(self, total: int, done: int, runs: int) -> None:
        self.started = (total, done)

    def network(self, entry: ZooEntry, index: int) -> None:
        self.current = entry.name
        self.measured.append(entry.name)

    def run(self, done: int, total: int) -> None:
        if self.current == self.at:
            raise KeyboardInterrupt


def test_interrupted_study_keeps_finished_networks_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "study"
    first, second = TWO
    with pytest.raises(KeyboardInterrupt):
        run_study(quick(), out, progress=_Interrupt(at=second.name))
    state = json.loads((out / "study.json").read_text())
    assert state["status"] == "partial"
    assert state["networks"][first.name]["status"] == "done"
    assert state["networks"][second.name]["status"] == "pending"
    assert (out / "networks" / first.name / "layers.csv").is_file()
    assert not (out / "networks" / second.name).exists()
    kept = (out / "networks" / first.name / "layers.csv").stat().st_mtime_ns

    watcher = _Interrupt(at="nothing")
    result = run_study(quick(), out, resume=True, progress=watcher)
    assert watcher.started == (2, 1) and watcher.measured == [second.name]
    assert (out / "networks" / first.name / "layers.csv").stat().st_mtime_ns == kept
    assert result.state["status"] == "complete" and result.state["resumed"] == 1
    assert not list((out / "networks").glob(".partial-*"))
    assert result.evaluation is not None and len(result.evaluation) == len(MODELS)


def test_failed_network_is_recorded_and_the_rest_kept(tmp_path: Path) -> None:
    zoo = (ZooEntry("nothing", "torchvision:no_such_net", (1, 3, 32, 32)), TWO[0])
    result = run_study(quick(zoo), tmp_path / "study")
    assert set(result.failed) == {"nothing"} and "no_such_net" in result.failed["nothing"]
    assert result.state["status"] == "incomplete"
    assert result.state["networks"]["nothing"]["status"] == "failed"
    assert len(result.networks) == 1 and result.report is not None
    assert "Networks that failed" in result.report.read_text()


def test_force_starts_afresh_and_keeps_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "study"
    run_study(quick(TWO[:1]), out)
    (out / "mine.txt").write_text("keep me")
    (out / "networks" / "mine").mkdir()
    (out / "img" / "mine.png").write_text("keep me too")
    result = run_study(quick(TWO[1:]), out, force=True)
    assert (out / "mine.txt").read_text() == "keep me"
    assert (out / "networks" / "mine").is_dir() and (out / "img" / "mine.png").read_text() == "keep me too"
    assert not (out / "networks" / TWO[0].name).exists()
    assert not (out / "img" / f"profile_{TWO[0].name}.png").exists()
    assert result.state["resumed"] == 0 and list(result.networks["network"]) == [TWO[1].name]


def test_single_network_has_no_evaluation(tmp_path: Path) -> None:
    result = run_study(quick(TWO[:1]), tmp_path / "one")
    assert result.evaluation is None and not (result.out_dir / "evaluation.csv").exists()
    assert any("at least 2" in n for n in result.notes)
    assert result.report is not None and "needs at least two" in result.report.read_text()


def test_onnxruntime_study_measures_fused_nodes_and_wall_time(tmp_path: Path) -> None:
    result = run_study(quick(runtime="onnxruntime"), tmp_path / "ort")
    assert result.state["target"] == "duration_s_median" and result.state["target_label"] == "time"
    layers = pd.read_csv(tmp_path / "ort" / "layers.csv")
    assert layers["layer"].str.endswith("/Conv").any()  # ONNX node names
    conv = layers[layers["category"] == "conv"]
    assert (conv["macs"] > 0).all() and conv["op_key"].str.match(r"Conv\d+x\d+").all()
    assert (conv["contains"].str.contains("Relu")).any()  # activations fused into their convolutions
    assert result.evaluation is not None


def test_target_can_be_chosen_on_resume(small_study: StudyResult, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(small_study.out_dir, out)
    resumed = json.loads((out / "study.json").read_text())["resumed"]
    with pytest.raises(UsageError, match="unknown target"):
        run_study(load_options(out), out, resume=True, target="joules")
    result = run_study(load_options(out), out, resume=True, target="time")
    assert result.state["target"] == "duration_s_median" and result.state["resumed"] == resumed + 1
    assert any("wall time" in n for n in result.notes)
    assert (out / "img" / "time_vs_macs.png").is_file()


def test_with_an_energy_sensor_the_target_is_energy(tmp_path: Path) -> None:
    from synergy.testing.sysfs import Constant, SysfsWriter, build_rapl

    root = tmp_path / "sys-root"
    tree = build_rapl(root, subzones=())
    options = quick(sensor="rapl", sysfs_root=root, runs=10, idle_s=0.2)
    with SysfsWriter(tree, {"package-0": Constant(20.0)}, default=Constant(0.0)):
        result = run_study(options, tmp_path / "energy")
    state = result.state
    assert state["target"] == "energy_j" and state["target_label"] == "energy" and state["target_reason"] is None
    layers = pd.read_csv(tmp_path / "energy" / "layers.csv")
    # every layer has its energy, or the reason the readings could not determine it (left out of the fit)
    determined = layers["energy_j"].notna()
    assert (determined | layers["undetermined_reason"].fillna("").astype(str).ne("")).all()
    assert determined.any() and layers["energy_j"].sum() > 0
    assert result.report is not None
    page = result.report.read_text()
    assert "energy per layer (energy_j, J)" in page and "not energy" not in page
    assert (tmp_path / "energy" / "img" / "energy_vs_macs.png").is_file()

    # a network whose readings determined none of its layers leaves one network to learn from: the study
    # still finishes, and says which network had nothing and what would help
    other = tmp_path / "energy" / "networks" / TWO[1].name / "layers.csv"
    stored = pd.read_csv(other)
    stored["energy_j"] = float("nan")
    stored["undetermined_reason"] = "fewer observations than unknowns"
    stored.to_csv(other, index=False)
    resumed = run_study(load_options(tmp_path / "energy"), tmp_path / "energy", resume=True)
    assert resumed.state["target"] == "energy_j" and resumed.evaluation is None
    assert any(TWO[1].name in n and "more runs" in n for n in resumed.notes)
    assert resumed.report is not None and "with a determined energy" in resumed.report.read_text()
