"""Measure your own code: named energy windows over a background-sampled sensor.

See :class:`Monitor`; ``synergy run -- CMD`` wraps a whole command the same way.
"""

from synergy.monitor.monitor import Monitor, window_energy
from synergy.monitor.window import FLAGS, Window, WindowEnergy

__all__ = ["FLAGS", "Monitor", "Window", "WindowEnergy", "window_energy"]
