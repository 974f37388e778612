"""The study's report: one self-contained HTML file (images embedded as data URIs) and the same PNGs in
``img/``. It needs nothing online: no external script, style sheet or font.

Contents: the setting (target, runtime, sensor, machine); the shares of the target by layer type across
networks, checked against the paper's 77–82 % for convolutions; the target against MACs; the
leave-one-network-out evaluation of every predictor with predicted-vs-measured plots; and per network its
totals, shares by layer type, power profile and layer table.
"""

from __future__ import annotations

import base64
import html
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synergy.models.evaluate import plot_predictions
from synergy.study.collect import BREAKDOWN, breakdown
from synergy.study.files import write_bytes, write_text
from synergy.study.plots import plot_network_predictions, plot_shares, plot_target_vs_macs

__all__ = ["conv_finding", "report_images", "write_report"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0 auto;
max-width:1100px;padding:1.2em 1.6em;color:#1d1d1f;line-height:1.45;font-size:15px}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd;
padding-bottom:.2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #e5e5e5;text-align:right;white-space:nowrap}
th{background:#f4f5f7;position:sticky;top:0}td.l,th.l{text-align:left}
td.w{white-space:normal;min-width:16em;text-align:left}th.w{text-align:left}
.wide{overflow-x:auto;max-width:100%}
tr.best td{background:#eef6ee;font-weight:600}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
.meta{display:grid;grid-template-columns:max-content auto;gap:2px 14px;font-size:14px}
.meta dt{color:#555}.meta dd{margin:0}
.finding{background:#f4f8ff;border-left:4px solid #3b6fb6;padding:.5em .9em;margin:.8em 0}
.note{color:#8a4b00}
details{border:1px solid #e2e2e2;border-radius:6px;padding:.3em .8em;margin:.5em 0}
summary{cursor:pointer;font-weight:600}
.scroll{max-height:420px;overflow:auto;border:1px solid #eee}
footer{margin-top:2em;color:#777;font-size:12px}
"""

#: Written by the page itself once loaded: how many images decoded (checked by the tests in a browser).
_SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images-total", String(images.length));
  document.body.setAttribute("data-images-loaded", String(ok));
});
"""


#: File-name stem of each target.
_SLUG = {"energy_j": "energy", "cpu_time_s": "cpu_time", "duration_s_median": "time"}


def report_images(networks: Sequence[str]) -> tuple[str, ...]:
    """Every file name the report may write into ``img/`` for these networks (what ``--force`` may remove)."""
    fixed = ("shares_by_type.png", "predicted_layers.png", "predicted_networks.png")
    return (*fixed, *(f"{slug}_vs_macs.png" for slug in _SLUG.values()), *(f"profile_{n}.png" for n in networks))


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, column: str) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        v = float(value)
        if column.endswith("%"):
            return f"{v:.1f}"
        if column.endswith(("tau", "τ")):
            return f"{v:.3f}"
        if column in ("macs", "params", "flops", "bytes_moved") or (v.is_integer() and abs(v) >= 1000):
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return _e(value)


def _table(
    frame: pd.DataFrame,
    left: Sequence[str] = (),
    best: str | None = None,
    key: str = "model",
    wrap: Sequence[str] = (),
) -> str:
    def cls(column: object) -> str:
        return "w" if column in wrap else "l" if column in left else ""

    head = "".join(f'<th class="{cls(c)}">{_e(c)}</th>' for c in frame.columns)
    rows = []
    for record in frame.to_dict("records"):
        mark = ' class="best"' if best is not None and record.get(key) == best else ""
        cells = "".join(f'<td class="{cls(c)}">{_fmt(record[c], str(c))}</td>' for c in frame.columns)
        rows.append(f"<tr{mark}>{cells}</tr>")
    return f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def conv_finding(networks: pd.DataFrame, overall: dict[str, float], label: str) -> str:
    """One sentence checking the paper's finding that convolutions take 77–82 % of the energy."""
    shares = networks["conv_share"].to_numpy(dtype=float) * 100
    lo, hi = float(np.nanmin(shares)), float(np.nanmax(shares))
    mid = float(np.nanmedian(shares))
    inside = int(np.sum((shares >= 77) & (shares <= 82)))
    above = int(np.sum(shares > 82))
    below = int(np.sum(shares < 77))
    return (
        f"Convolutions take {100 * overall['conv_share']:.1f} % of the {label} of all networks together "
        f"(per network {lo:.1f}–{hi:.1f} %, median {mid:.1f} %) for {100 * overall['conv_macs_share']:.1f} % of "
        f"the MACs. The paper found 77–82 % of the energy in conv layers: {inside} network(s) fall in that "
        f"range here, {above} above and {below} below."
    )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def _setting(state: dict[str, Any], runs: dict[str, dict[str, Any]]) -> str:
    options = state["options"]
    first = next(iter(runs.values()), {})
    system = first.get("system", {}) or {}
    sensor = first.get("sensor", {}) or {}
    versions = system.get("versions", {}) or {}
    n_done = sum(1 for r in state["networks"].values() if r.get("status") == "done")
    label, unit = state["target_label"], state["target_unit"]
    target = f"<b>{_e(label)} per layer ({_e(state['target'])}, {_e(unit)})</b>"
    if state.get("target_reason"):
        reason = str(state["target_reason"]).split(" (", 1)[0]
        target += f' — <span class="note">not energy: {_e(reason)}</span>'
    counters = ", ".join(state.get("counters") or []) or "none recorded on this machine and runtime"
    walls = [r.get("wall_s") for r in state["networks"].values() if isinstance(r.get("wall_s"), float)]
    wall = float(sum(walls)) if walls else None
    items = [
        ("target", target),
        ("zoo", f"{_e(options['zoo_name'])}: {n_done} of {len(options['zoo'])} networks measured"),
        (
            "runtime",
            f"{_e(options['runtime'])} {_e(versions.get(options['runtime'], ''))}, "
            f"{options['threads']} thread(s), {options['warmup']} warm-up and {options['runs']} measured runs",
        ),
        (
            "sensor",
            _e(f"{sensor.get('name', options['sensor'])}" + (f" ({sensor['reason']})" if sensor.get("reason") else "")),
        ),
        ("counters", _e(counters)),
        (
            "machine",
            _e(
                f"{system.get('cpu_model', '?')}, {system.get('cpu_count', '?')} CPUs, governor "
                f"{system.get('governor') or 'unknown'}, kernel {system.get('kernel', '?')}, "
                f"torch {versions.get('torch', '?')}"
            ),
        ),
        ("measuring took", _duration(wall) + " (all networks, set-up included)"),
    ]
    return '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _evaluation_section(study_eval: Any, img: Path, label: str, unit: str) -> str:
    if study_eval is None:
        return f"<p>The evaluation needs at least two measured networks with a determined {label}.</p>"
    table = study_eval.table()
    best = study_eval.best()
    head = (
        '<thead><tr><th class="l" rowspan="2">model</th><th colspan="3">per layer</th>'
        '<th colspan="3">per network</th><th class="w" rowspan="2">what it is</th></tr><tr>'
        + "<th>error % (mean ± std)</th><th>within ±10 %</th><th>Kendall τ</th>" * 2
        + "</tr></thead>"
    )
    body = []
    for r in table.to_dict("records"):
        mark = ' class="best"' if r["model"] == best else ""
        cells = [f'<td class="l">{_e(r["model"])}</td>']
        for level in ("layer", "network"):
            cells.append(f"<td>{r[f'{level}_mean_err_%']:.1f} ± {r[f'{level}_std_err_%']:.1f}</td>")
            cells.append(f"<td>{r[f'{level}_within_10_%']:.1f}</td>")
            cells.append(f"<td>{_fmt(r[f'{level}_kendall_tau'], 'tau')}</td>")
        cells.append(f'<td class="w">{_e(r["description"])}</td>')
        body.append(f"<tr{mark}>{''.join(cells)}</tr>")
    evaluation_table = f'<div class="wide"><table>{head}<tbody>{"".join(body)}</tbody></table></div>'
    data = study_eval.training.data
    layer_png = plot_predictions(
        list(study_eval.layers), img / "predicted_layers.png", unit, f"{label} per layer, leave one network out"
    )
    network_png = plot_network_predictions(
        list(study_eval.networks), list(data.networks), label, unit, img / "predicted_networks.png"
    )
    by_type = study_eval.by_type(best)
    by_type = by_type[["layer_type", "layers", "mean_err_%", "std_err_%", "within_10_%", "share_of_target_%"]]
    return (
        f"<p>Each of the {len(data.networks)} networks is predicted by models fitted on the other "
        f"{len(data.networks) - 1} ({data.n_units} layers). Errors are relative (|predicted / measured − 1|): "
        "per layer as SyNERGY reports them, and per network for the sum of its predicted layers. τ is Kendall's "
        f"rank correlation. The best model per layer is highlighted: <b>{_e(best)}</b>.</p>"
        + evaluation_table
        + f"<h3>{_e(best)} by layer type</h3>"
        + _table(by_type, left=("layer_type",))
        + _img(layer_png, "predicted against measured, per layer")
        + _img(network_png, "predicted against measured, per network")
    )


def _network_section(
    name: str,
    row: dict[str, Any],
    layers: pd.DataFrame,
    target: str,
    run_dir: Path,
    img: Path,
    label: str,
    first: bool = False,
    counters: Sequence[str] = (),
) -> str:
    shares = breakdown(layers, target)
    share_frame = pd.DataFrame(
        {
            "type": list(BREAKDOWN),
            "layers": [
                int(sum(1 for c in layers["category"] if (c if c in BREAKDOWN[:3] else "other") == k))
                for k in BREAKDOWN
            ],
            f"{label} share %": [100 * shares[f"{k}_share"] for k in BREAKDOWN],
            "MACs share %": [100 * shares[f"{k}_macs_share"] for k in BREAKDOWN],
        }
    )
    columns = [
        c
        for c in (
            "layer",
            "op",
            "duration_s_median",
            "cpu_time_s",
            "energy_j",
            "energy_j_se",
            "power_w",
            "macs",
            "params",
        )
        if c in layers
    ]
    if target != "energy_j":
        columns = [c for c in columns if not c.startswith(("energy", "power"))]
    redundant = {"task_clock_ns"} if "cpu_time_s" in columns else set()
    columns += [c for c in counters if c in layers and c not in columns and c not in redundant]
    table = layers[columns].copy()
    total = float(table[target].sum())
    table[f"{label} %"] = 100 * table[target] / total if total > 0 else np.nan
    profile = run_dir / "power_profile.png"
    picture = ""
    if profile.is_file():
        copy = img / f"profile_{name}.png"
        write_bytes(copy, profile.read_bytes())
        picture = _img(copy, f"power profile of {name}")
    energy = row.get("energy_j")
    energy_text = f", {energy:.4g} J per inference" if isinstance(energy, float) and np.isfinite(energy) else ""
    if target == "cpu_time_s":
        energy_text += f" ({1e3 * total:.2f} ms on a CPU)"
    summary = (
        f"{_e(name)} — {_e(row['model'])} {_e(row['input_shape'])}: {int(row['layers'])} layers, "
        f"{row['macs'] / 1e6:,.0f} M MACs, {1e3 * float(row['inference_s']):.2f} ms per inference (wall){energy_text}"
    )
    return (
        f'<details id="net-{_e(name)}"{" open" if first else ""}><summary>{summary}</summary>'
        + (f"<p>Stands for the paper's {_e(row['paper'])}.</p>" if row.get("paper") else "")
        + _table(share_frame, left=("type",))
        + picture
        + f'<div class="scroll">{_table(table, left=("layer", "op"))}</div></details>'
    )


def write_report(
    out: Path,
    state: dict[str, Any],
    layers: pd.DataFrame,
    networks: pd.DataFrame,
    study_eval: Any,
    runs: dict[str, dict[str, Any]],
) -> Path:
    """Write ``report.html`` (and ``img/*.png``) into the study directory ``out``.

    Returns:
        The report's path.
    """
    img = out / "img"
    img.mkdir(exist_ok=True)
    target, label, unit = state["target"], state["target_label"], state["target_unit"]
    overall = breakdown(layers, target)
    shares_png = plot_shares(networks, overall, label, img / "shares_by_type.png")
    macs_png = plot_target_vs_macs(networks, layers, target, label, unit, img / f"{_SLUG[target]}_vs_macs.png")
    share_table = pd.DataFrame({"network": [*networks["network"], "all networks"]})
    for kind in BREAKDOWN:
        share_table[f"{kind} %"] = [*(100 * networks[f"{kind}_share"]), 100 * overall[f"{kind}_share"]]
    share_table["conv MACs %"] = [*(100 * networks["conv_macs_share"]), 100 * overall["conv_macs_share"]]
    totals = networks[["network", "paper", "input_shape", "layers", "macs", "inference_s", "target_total", "load_1m"]]
    totals = totals.rename(
        columns={"target_total": f"{target} (sum)", "inference_s": "inference_s (wall)", "load_1m": "load (1 min)"}
    )
    notes = state.get("notes") or []
    failed = {n: r.get("error") for n, r in state["networks"].items() if r.get("status") == "failed"}
    sections = [
        f"<h1>SyNERGY study: {_e(state['options']['zoo_name'])}</h1>",
        _setting(state, runs),
        f"<h2>Where the {_e(label)} goes</h2>",
        f'<p class="finding">{_e(conv_finding(networks, overall, label))}</p>',
        _table(share_table, left=("network",)),
        _img(shares_png, "shares by layer type"),
        f"<h2>{_e(label[:1].upper() + label[1:])} against MACs</h2>",
        _img(macs_png, f"{label} against MACs"),
        _table(totals, left=("network", "paper", "input_shape")),
        f"<h2>Predicting the {_e(label)} of unseen networks</h2>",
        _evaluation_section(study_eval, img, label, unit),
        "<h2>Networks</h2>",
        *(
            _network_section(
                str(row["network"]),
                row,
                layers[layers["network"] == row["network"]],
                target,
                out / "networks" / str(row["network"]),
                img,
                label,
                first=index == 0,
                counters=state.get("counters") or (),
            )
            for index, row in enumerate(_records(networks))
        ),
    ]
    if failed:
        sections.append(
            "<h2>Networks that failed</h2><ul>"
            + "".join(f"<li>{_e(n)}: {_e(e)}</li>" for n, e in failed.items())
            + "</ul>"
        )
    if notes:
        sections.append('<h2>Notes</h2><ul class="note">' + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    version = (next(iter(runs.values()), {}).get("system", {}) or {}).get("versions", {}).get("synergy-nn", "")
    sections.append(
        f"<footer>synergy {_e(version)} · written {_e(time.strftime('%Y-%m-%d %H:%M:%S %Z'))} · "
        "tables as CSV beside this file (layers.csv, networks.csv, evaluation.csv, predictions.csv)</footer>"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>SyNERGY study: {_e(state['options']['zoo_name'])}</title><style>{_CSS}</style>"
        f"<script>{_SCRIPT}</script></head><body>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
    path = out / "report.html"
    write_text(path, page)
    return path
