"""Numbers for people: a value in the SI prefix that suits it (``4.89 ms``, ``8.6 µJ``, ``12.3 W``).

Files keep SI base units; only what is printed is scaled. :func:`prefix_for` picks one prefix for a
whole column, so the numbers in a table line up and compare at a glance.

Example:
    >>> human(0.004885, "s"), human(8.6e-06, "J"), human(12.25, "W")
    ('4.88 ms', '8.6 µJ', '12.2 W')
    >>> scale, prefix = prefix_for([0.0012, 0.034, 0.0005])
    >>> prefix, [round(v / scale, 3) for v in (0.0012, 0.034)]
    ('m', [1.2, 34.0])
"""

from __future__ import annotations

import math
from collections.abc import Iterable

__all__ = ["PREFIXES", "human", "prefix_for"]

#: (scale, prefix), largest first.
PREFIXES: tuple[tuple[float, str], ...] = (
    (1e12, "T"),
    (1e9, "G"),
    (1e6, "M"),
    (1e3, "k"),
    (1.0, ""),
    (1e-3, "m"),
    (1e-6, "µ"),
    (1e-9, "n"),
)


def _prefix(magnitude: float) -> tuple[float, str]:
    for scale, prefix in PREFIXES:
        if magnitude >= scale * 0.9995:
            return scale, prefix
    return PREFIXES[-1]


def human(value: float, unit: str, digits: int = 3) -> str:
    """``value`` with ``digits`` significant digits and the prefix that keeps it in ``[1, 1000)``.

    NaN prints as ``n/a``; zero as ``0 <unit>``.
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    scale, prefix = _prefix(abs(value))
    return f"{value / scale:.{digits}g} {prefix}{unit}"


def prefix_for(values: Iterable[float], *, base_only: bool = False) -> tuple[float, str]:
    """One prefix for a column: the one that puts its median magnitude in ``[1, 1000)``.

    ``base_only`` keeps the unit unscaled above 1 (watts: ``12.3 W``, not ``0.0123 kW``).
    """
    magnitudes = sorted(abs(v) for v in values if v is not None and math.isfinite(v) and v != 0)
    if not magnitudes:
        return 1.0, ""
    scale, prefix = _prefix(magnitudes[len(magnitudes) // 2])
    if base_only and scale > 1:
        return 1.0, ""
    return scale, prefix
