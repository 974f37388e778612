"""Public test doubles: fake sysfs trees and their writer, and a fake NVML module.

They let tests, benchmarks and users without the hardware run SyNERGY's real reading code against
files laid out exactly as the kernel lays them out (:mod:`synergy.testing.sysfs`), and its NVML backend
against a module with nvidia-ml-py's names and error codes (:mod:`synergy.testing.fake_nvml`).
"""
