"""The examples in the sensor modules' docstrings run as written."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "synergy.sensors.counter",
        "synergy.sensors.discovery",
        "synergy.sensors.nvml",
        "synergy.sensors.rapl",
        "synergy.sensors.jetson",
        "synergy.sensors.rpi_pmic",
        "synergy.context.rpi",
        "synergy.testing.fake_nvml",
        "synergy.testing.sysfs",
    ],
)
def test_docstring_examples(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
