"""NVML backend against the public fake NVML module (no GPU is reachable from the test machines)."""

from __future__ import annotations

import builtins
import inspect
from typing import Any

import pytest

from synergy.errors import SensorPermissionError, SensorReadError, SensorUnavailable
from synergy.sensors.base import SensorKind
from synergy.sensors.nvml import NvmlSensor, load_nvml, translate_nvml_error
from synergy.testing import fake_nvml
from synergy.testing.fake_nvml import FakeGPU, FakeNVML, NVMLError


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_energy_counter_in_joules_advancing_with_time() -> None:
    clock = ManualClock()
    nvml = FakeNVML([FakeGPU(power_w=250.0, counter_period_s=0.1)], clock=clock)
    sensor = NvmlSensor(nvml_module=nvml)
    assert sensor.kind is SensorKind.ENERGY
    assert sensor.filter_model.kind == "counter"
    first = sensor.read().values[0]
    clock.t += 0.05  # inside one counter period: no change
    assert sensor.read().values[0] == first
    clock.t += 0.95
    assert sensor.read().values[0] - first == pytest.approx(250.0, abs=1e-3)
    assert "nvmlDeviceGetPowerUsage" not in nvml.calls  # never the 1 s average
    sensor.close()
    sensor.close()
    assert nvml.init_count == 0


def test_old_gpu_falls_back_to_instant_power() -> None:
    nvml = FakeNVML([FakeGPU("Tesla P100", power_w=lambda t: 42.0, energy_supported=False)])
    with NvmlSensor(nvml_module=nvml) as sensor:
        assert sensor.kind is SensorKind.POWER
        assert sensor.filter_model.kind == "instant"
        assert sensor.read().values == (42.0,)
        assert sensor.details()["power_scope"] == {"gpu0": "gpu"}
        assert sensor.details()["source"] == "NVML_FI_DEV_POWER_INSTANT"
    assert "nvmlDeviceGetPowerUsage" not in nvml.calls


def test_module_scope_when_gpu_scope_is_not_supported() -> None:
    gpu = FakeGPU("NVIDIA GH200", energy_supported=False, instant_scopes=(fake_nvml.NVML_POWER_SCOPE_MODULE,))
    with NvmlSensor(nvml_module=FakeNVML([gpu])) as sensor:
        assert sensor.details()["power_scope"] == {"gpu0": "module"}
        assert sensor.read().values == (60.0,)


def test_mixed_gpus_use_power_for_all_in_auto_and_refuse_energy() -> None:
    gpus = [FakeGPU("A100"), FakeGPU("P100", energy_supported=False)]
    with NvmlSensor(nvml_module=FakeNVML(gpus)) as sensor:
        assert sensor.kind is SensorKind.POWER
        assert sensor.rails == ("gpu0", "gpu1")
        assert sensor.details()["gpus"] == {"gpu0": "A100", "gpu1": "P100"}
    with pytest.raises(SensorUnavailable, match="energy counter not supported on GPU 1"):
        NvmlSensor(nvml_module=FakeNVML(gpus), mode="energy")
    with NvmlSensor(nvml_module=FakeNVML(gpus), gpus=[0]) as only_first:
        assert only_first.kind is SensorKind.ENERGY


def test_jetson_nvml_reports_not_supported_everywhere() -> None:
    nvml = FakeNVML.jetson()
    with pytest.raises(SensorUnavailable, match=r"NOT_SUPPORTED\) for GPU 0 \(Orin \(nvgpu\)\); on a Jetson"):
        NvmlSensor(nvml_module=nvml)
    assert nvml.init_count == 0  # shut down again


def test_no_driver_and_no_gpu() -> None:
    with pytest.raises(SensorUnavailable, match=r"libnvidia-ml\.so\.1 was not found"):
        NvmlSensor(nvml_module=FakeNVML(library_found=False))
    with pytest.raises(SensorUnavailable, match="driver is not loaded"):
        NvmlSensor(nvml_module=FakeNVML(driver_loaded=False))
    with pytest.raises(SensorUnavailable, match="NVML found no GPU"):
        NvmlSensor(nvml_module=FakeNVML([]))
    with pytest.raises(SensorUnavailable, match="GPU index 3 does not exist"):
        NvmlSensor(nvml_module=FakeNVML(), gpus=[3])


def test_errors_translated_once_at_the_boundary() -> None:
    nvml = FakeNVML()
    cases = [
        (fake_nvml.NVML_ERROR_NO_PERMISSION, SensorPermissionError),
        (fake_nvml.NVML_ERROR_GPU_IS_LOST, SensorUnavailable),
        (fake_nvml.NVML_ERROR_NOT_SUPPORTED, SensorUnavailable),
        (fake_nvml.NVML_ERROR_TIMEOUT, SensorReadError),
        (fake_nvml.NVML_ERROR_UNKNOWN, SensorReadError),
    ]
    for code, expected in cases:
        assert isinstance(translate_nvml_error(nvml, NVMLError(code), "read"), expected)


def test_gpu_lost_mid_run_and_permission_at_open() -> None:
    gpu = FakeGPU()
    nvml = FakeNVML([gpu])
    sensor = NvmlSensor(nvml_module=nvml)
    gpu.power_error = fake_nvml.NVML_ERROR_GPU_IS_LOST
    with pytest.raises(SensorUnavailable, match="NVML read: the GPU has fallen off the bus") as info:
        sensor.read()
    assert isinstance(info.value.__cause__, NVMLError)
    sensor.close()
    with pytest.raises(SensorPermissionError, match="insufficient permissions"):
        NvmlSensor(nvml_module=FakeNVML([FakeGPU(power_error=fake_nvml.NVML_ERROR_NO_PERMISSION)]))


def test_missing_nvidia_ml_py_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pynvml(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pynvml":
            raise ImportError("No module named 'pynvml'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pynvml)
    with pytest.raises(SensorUnavailable, match=r"nvidia-ml-py is not installed: pip install 'synergy-nn\[nvml\]'"):
        load_nvml()


def test_fake_error_classes_mirror_the_library() -> None:
    err = NVMLError(fake_nvml.NVML_ERROR_NOT_SUPPORTED)
    assert type(err).__name__ == "NVMLError_NotSupported"
    assert err.value == 3 and str(err) == "Not Supported"
    assert isinstance(err, FakeNVML.NVMLError)
    assert FakeNVML().NVMLError_LibraryNotFound(12).value == 12  # type: ignore[attr-defined]


#: the functions and constants the backend relies on
_FUNCTIONS = [
    "nvmlInit",
    "nvmlShutdown",
    "nvmlDeviceGetCount",
    "nvmlDeviceGetHandleByIndex",
    "nvmlDeviceGetName",
    "nvmlDeviceGetUUID",
    "nvmlSystemGetDriverVersion",
    "nvmlDeviceGetTotalEnergyConsumption",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetFieldValues",
]


def test_fake_matches_the_real_nvidia_ml_py() -> None:
    """Names, parameters, constants and error classes agree with nvidia-ml-py (when installed)."""
    pynvml = pytest.importorskip("pynvml")
    fake = FakeNVML()
    for name in _FUNCTIONS:
        real = list(inspect.signature(getattr(pynvml, name)).parameters)
        mine = list(inspect.signature(getattr(fake, name)).parameters)
        assert mine == real, name
    for name in dir(fake_nvml):
        if name.startswith("NVML_") and hasattr(pynvml, name):
            assert getattr(fake_nvml, name) == getattr(pynvml, name), name
    for name in dir(FakeNVML):
        if name.startswith("NVML_"):
            assert getattr(FakeNVML, name) == getattr(pynvml, name), name
    assert type(pynvml.NVMLError(3)).__name__ == type(NVMLError(3)).__name__
    field_names = {name for name, _ in pynvml.c_nvmlFieldValue_t._fields_}
    assert field_names == set(fake_nvml.FieldValue.__dataclass_fields__)
