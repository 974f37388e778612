"""What :func:`synergy.measure` returns: the tables of a measurement in memory, and :meth:`MeasureResult.save`,
the one writer of a run directory's files (:func:`write_result`, which ``measure`` itself uses)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synergy.alignment.attribute import Attribution
from synergy.context import Finding, SystemContext
from synergy.measurement.outputs import OutputDir
from synergy.results.jsonio import dumps_json
from synergy.results.layers import write_layers
from synergy.units import human

if TYPE_CHECKING:
    from synergy.sampling.timeline import Timeline

__all__ = ["MeasureResult", "write_result"]

#: Breakdown of the paper: every category outside conv, pooling and fc counts as other.
_BREAKDOWN = {"conv": "conv", "pooling": "pooling", "fc": "fc"}


@dataclass
class MeasureResult:
    """What :func:`~synergy.measurement.measure` produced.

    Attributes:
        out_dir: the output directory (``None``: measured in memory; :meth:`save` writes the files).
        layers: the ``layers.csv`` table.
        run: the ``run.json`` content.
        attribution: the fit, or ``None`` without energy.
        energy_unavailable: why there is no energy (``None`` when there is).
        partial: the measurement was interrupted; the files hold the runs completed.
        warnings: things the user should know (printed once by the CLI).
        findings: the checks of the measurement conditions, each with its remedy (printed by the CLI).
        context_before: the machine state before the runs (``summary_line()`` for the printed summary).
        events: every layer's start and end in every run (``events.parquet``).
        runs: every run's window (``runs.parquet``).
        samples: the sensor's timeline (``samples.parquet``; ``to_frame()`` for a DataFrame), or ``None``.
        context: the context channels' readings (``context.parquet``), or ``None``.
        isolated: the isolation loops' table (``isolated.csv``), or ``None``.
        files: the other files of the run directory by name (``power_profile.png``, ``model.onnx``,
            ``ort/ort_profile.json``): their content, or their path in ``out_dir``.
    """

    out_dir: Path | None
    layers: pd.DataFrame
    run: dict[str, Any]
    attribution: Attribution | None
    energy_unavailable: str | None
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    context_before: SystemContext | None = None
    events: pd.DataFrame | None = None
    runs: pd.DataFrame | None = None
    samples: Timeline | None = None
    context: pd.DataFrame | None = None
    isolated: pd.DataFrame | None = None
    files: dict[str, bytes | Path] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The model's name (its spec, or the class of an in-memory one)."""
        return str(self.run.get("model", "model"))

    def save(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write the run directory a measurement with ``out_dir`` writes (``layers.csv``, ``run.json``, the
        Parquet files, the power profile, the model files), atomically and listed in its manifest.

        Args:
            out_dir: the directory (refused if it exists, unless ``force``).
            force: reuse a directory synergy wrote (the files its manifest lists are replaced); a directory
                synergy did not write is refused unless empty.

        Returns:
            The directory.

        Raises:
            OutputExistsError: ``out_dir`` exists and ``force`` is false, or holds foreign files.
            OutputWriteError: the files cannot be written.
        """
        output = OutputDir.claim(Path(out_dir), force)
        write_result(output, self)
        return output.path

    def _energy_text(self) -> str:
        energy = self.run.get("inference_energy_j")
        if isinstance(energy, int | float) and np.isfinite(energy):
            return f"{human(float(energy), 'J')} per inference"
        why = self.energy_unavailable or "the readings do not determine it"
        return f"no energy ({why})"

    def __repr__(self) -> str:
        runs = self.run.get("runs", 0)
        why = self._energy_text()
        text = f"<MeasureResult {self.model}: {len(self.layers)} layers, {why}, {runs} runs>"
        if len(text) > 160:  # a long reason is cut: the whole one is energy_unavailable
            text = f"<MeasureResult {self.model}: {len(self.layers)} layers, {why[:80]}…, {runs} runs>"
        return text

    def _repr_html_(self) -> str:
        columns = [c for c in ("layer", "op", "duration_s", "energy_j", "macs") if c in self.layers]
        has_energy = "energy_j" in self.layers and self.layers["energy_j"].notna().any()
        key = "energy_j" if has_energy else "duration_s"
        frame = self.layers.sort_values(key, ascending=False).head(10)[columns].copy()
        units = {"duration_s": "s", "energy_j": "J"}
        for column, unit in units.items():
            if column in frame:
                frame[column] = [human(float(v), unit) for v in frame[column]]
        if "macs" in frame:
            frame["macs"] = [human(float(v), "MAC") for v in frame["macs"]]
        frame = frame.rename(columns={"duration_s": "time", "energy_j": "energy"})
        inference = self.run.get("inference_s")
        timing = f", {human(float(inference), 's')} per inference" if isinstance(inference, int | float) else ""
        return (
            f"<p><b>{html.escape(self.model)}</b>: {len(self.layers)} layers, {html.escape(self._energy_text())}"
            f"{timing}, {self.run.get('runs', 0)} runs</p><p>largest layers:</p>" + frame.to_html(index=False)
        )

    def breakdown(self) -> pd.DataFrame:
        """Shares by layer type (conv / pooling / fc / other) of time, energy and MACs, as the paper reports.

        A type with a layer the readings did not determine has no energy (NaN) and no energy share; the
        other types' energy shares are of the determined layers' energy.
        """
        frame = self.layers.copy()
        frame["type"] = [_BREAKDOWN.get(c, "other") for c in frame["category"]]
        columns = {"duration_s": "time_share", "macs": "macs_share"}
        if "energy_j" in frame and frame["energy_j"].notna().any():
            columns["energy_j"] = "energy_share"
        by_type = frame.groupby("type")
        grouped = by_type[list(columns)].sum()
        if "energy_j" in columns:
            # one undetermined layer leaves its type's energy undetermined: never a partial sum
            grouped["energy_j"] = grouped["energy_j"].where(by_type["energy_j"].count() == by_type.size())
        grouped = grouped.reindex([t for t in ("conv", "pooling", "fc", "other") if t in grouped.index])
        out = pd.DataFrame({"type": grouped.index, "layers": by_type.size()[grouped.index].values})
        for source, share in columns.items():
            values = grouped[source].to_numpy(dtype=float)
            total = float(np.nansum(values))
            out[source] = values
            out[share] = values / total if total else np.nan
        return out.reset_index(drop=True)


def write_result(output: OutputDir, result: MeasureResult) -> None:
    """Every file of ``result`` into a claimed directory, ``run.json`` last (each atomically)."""
    output.write("layers.csv", lambda tmp: write_layers(tmp, result.layers))
    if result.isolated is not None:
        isolated = result.isolated
        output.write("isolated.csv", lambda tmp: isolated.to_csv(tmp, index=False))
    frames = {"events.parquet": result.events, "runs.parquet": result.runs, "context.parquet": result.context}
    for name, frame in frames.items():
        if frame is not None:
            output.write(name, _parquet_writer(frame))
    if result.samples is not None and len(result.samples) > 0:
        output.write("samples.parquet", result.samples.to_parquet)
    for name, content in result.files.items():
        if isinstance(content, bytes):
            output.write(name, _bytes_writer(content))
        else:
            output.copy(name, content)
    output.write_text("run.json", dumps_json(result.run))


def _parquet_writer(frame: pd.DataFrame) -> Callable[[Path], object]:
    def write(tmp: Path) -> None:
        frame.to_parquet(tmp, index=False)

    return write


def _bytes_writer(content: bytes) -> Callable[[Path], object]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(content)

    return write
