"""Whether sensor readings determine each unknown power, before any number is reported.

A linear system ``A p = y`` says nothing about a power that no reading sees, nor about one that the readings
only ever see in a fixed combination with others (a rank-deficient design), and very little about one whose
standard error is as large as the powers themselves. :func:`identify` tells, per column of the (weighted)
design matrix, which of these holds, so the attribution can give such a layer NaN with the reason instead of
``0 ± 0``, and refuse outright when the readings cannot determine the layers at all.

The *effective readings* of an unknown is ``1 / [(AᵀA)⁺]ⱼⱼ`` for rows expressed as mean powers: the number of
readings that saw that unknown alone over a whole window and would determine it as well as all the readings
together do. A layer far shorter than a sensor window has far fewer effective readings than readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from synergy.errors import UndeterminedError

__all__ = ["UNDETERMINED_REMEDY", "Identifiability", "identify", "require_enough_readings"]

FloatArray = npt.NDArray[np.floating[Any]]

#: What to do when the readings cannot determine the layers (in words: the library names no CLI flags).
UNDETERMINED_REMEDY = "measure more runs, loop each layer alone (isolation mode), or set the sensor to update faster"

#: Singular values below this fraction of the largest one span the null space of the normalised design.
RANK_RTOL = 1e-9
#: A column with a null-space component above this is not separable from the others.
NULL_TOL = 1e-6
#: Fewer effective readings than this: the readings hardly see the unknown, and whatever misplaces a reading
#: in time (a late publication, a read stamped wrongly) moves its power more than its standard error says.
MIN_EFFECTIVE_READINGS = 0.01


@dataclass(frozen=True)
class Identifiability:
    """Per column: determined or not, with the reason and the effective number of readings.

    Attributes:
        determined: whether each column's power is determined.
        reason: why not (empty where determined).
        effective_readings: ``1 / [(AᵀA)⁺]ⱼⱼ`` (0 where not identifiable).
        rank: numerical rank of the design.
        condition_number: of the column-normalised design (inf when rank deficient).
    """

    determined: npt.NDArray[np.bool_]
    reason: tuple[str, ...]
    effective_readings: FloatArray
    rank: int
    condition_number: float


def require_enough_readings(n_readings: int, n_unknowns: int) -> None:
    """Refuse a system with fewer readings than unknowns (plus one, for the residual).

    Raises:
        UndeterminedError: too few readings, naming the remedy.
    """
    if n_readings <= n_unknowns:
        raise UndeterminedError(
            f"the readings cannot determine the layers: {n_readings} sensor reading(s) during the runs for "
            f"{n_unknowns} unknown powers; {UNDETERMINED_REMEDY}"
        )


def identify(
    A: FloatArray,
    se: FloatArray,
    *,
    highest_power_w: float,
    names: tuple[str, ...] | None = None,
) -> Identifiability:
    """Which columns of ``A`` the readings determine.

    A column is undetermined when no row touches it, when it lies partly in the design's null space (only
    combinations with other columns are seen), when it has fewer than :data:`MIN_EFFECTIVE_READINGS`
    effective readings, or when its standard error exceeds the highest power the sensor observed (the number
    would say nothing).

    Args:
        A: the weighted design matrix, rows as mean powers.
        se: standard error of each column's power, W (NaN where unknown).
        highest_power_w: the highest power observed by any reading, W.
        names: column names for the reasons (default ``column j``).
    """
    n, k = A.shape
    labels = names or tuple(f"column {j}" for j in range(k))
    norms = np.sqrt((A * A).sum(axis=0))
    seen = norms > 1e-12 * max(float(norms.max(initial=0.0)), 1e-300)
    reason = ["" if s else "no sensor reading overlaps it" for s in seen]
    effective = np.zeros(k)
    rank = 0
    cond = float("inf")
    if seen.any() and n:
        Z = A[:, seen] / norms[seen]
        _, s, vt = np.linalg.svd(Z, full_matrices=False)
        tol = RANK_RTOL * float(s[0]) if len(s) else 0.0
        rank = int(np.sum(s > tol))
        cond = float(s[0] / s[-1]) if len(s) and s[-1] > tol else float("inf")
        null = vt[rank:].T  # (columns seen) × (null dimension)
        cols = np.flatnonzero(seen)
        inv = np.linalg.pinv(A[:, seen].T @ A[:, seen])
        for i, j in enumerate(cols.tolist()):
            if null.shape[1] and float(np.linalg.norm(null[i])) > NULL_TOL:
                partners = [labels[cols[m]] for m in np.flatnonzero(np.abs(null @ null[i]) > NULL_TOL) if m != i]
                shown = ", ".join(partners[:3]) + (", …" if len(partners) > 3 else "")
                reason[j] = f"the readings only see it together with {shown or 'other unknowns'}"
                continue
            effective[j] = 1.0 / inv[i, i] if inv[i, i] > 0 else 0.0
    for j in range(k):
        if reason[j]:
            continue
        if not np.isfinite(se[j]):
            reason[j] = "its standard error could not be estimated"
        elif effective[j] < MIN_EFFECTIVE_READINGS:
            reason[j] = (
                f"the readings hardly see it: {effective[j]:.2g} effective readings (at least "
                f"{MIN_EFFECTIVE_READINGS:g} needed)"
            )
        elif highest_power_w > 0 and se[j] > highest_power_w:
            reason[j] = (
                f"its standard error ({se[j]:.3g} W) exceeds the highest power observed ({highest_power_w:.3g} W); "
                f"{effective[j]:.3g} effective readings"
            )
    determined = np.asarray([not r for r in reason], dtype=bool)
    return Identifiability(determined, tuple(reason), effective, rank, cond)
