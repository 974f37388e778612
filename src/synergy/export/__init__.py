"""Exports of measurements to formats other tools open."""

from synergy.export.trace import TRACE_FORMAT, chrome_trace, write_chrome_trace

__all__ = ["TRACE_FORMAT", "chrome_trace", "write_chrome_trace"]
