"""Quick study settings shared by the study tests."""

from __future__ import annotations

from synergy.study import StudyOptions
from synergy.zoo import SMALL, ZooEntry

#: Two fast CIFAR networks, for the tests that measure again and again.
TWO: tuple[ZooEntry, ...] = tuple(e for e in SMALL if e.name in ("all_cnn_c", "nin"))


def quick(zoo: tuple[ZooEntry, ...] = TWO, **kw: object) -> StudyOptions:
    """Options of a quick study: the torch runtime, 2 runs, no warm-up, no idle, no sensor."""
    settings: dict[str, object] = {"runtime": "torch", "sensor": "none", "runs": 2, "warmup": 0, "idle_s": 0.0}
    settings.update(kw)
    return StudyOptions(zoo=zoo, zoo_name="test", **settings)  # type: ignore[arg-type]
