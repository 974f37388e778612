"""Command line: ``python -m synergy.testing.sysfs DIR LAYOUT... [--power RAIL=W ...] [--run-s S]``."""

from __future__ import annotations

import time
from pathlib import Path

from synergy.testing.sysfs.drivers import (
    FakeTree,
)
from synergy.testing.sysfs.layouts import (
    JETSON_BOARDS,
    build_amdgpu,
    build_battery,
    build_ina238,
    build_jetson_hwmon,
    build_jetson_iio,
    build_rapl,
)
from synergy.testing.sysfs.power import Constant
from synergy.testing.sysfs.writer import (
    SysfsWriter,
)

_LAYOUTS = "rapl, rapl-psys, jetson:<board>, jetson-iio:<board>, ina238, amdgpu, battery, rpi5"


def _build(root: Path, layout: str) -> FakeTree:
    kind, _, arg = layout.partition(":")
    if kind == "rapl":
        return build_rapl(root)
    if kind == "rapl-psys":
        return build_rapl(root, packages=0, psys=True)
    if kind == "jetson" and arg:
        return build_jetson_hwmon(root, arg)
    if kind == "jetson-iio" and arg:
        return build_jetson_iio(root, arg)
    if kind == "ina238":
        return build_ina238(root)
    if kind == "amdgpu":
        return build_amdgpu(root)
    if kind == "battery":
        return build_battery(root)
    if kind == "rpi5":
        from synergy.testing.vcgencmd import build_rpi5

        return build_rpi5(root)
    raise ValueError(f"unknown layout {layout!r}; layouts: {_LAYOUTS}; boards: {', '.join(JETSON_BOARDS)}")


def main(argv: list[str] | None = None) -> int:
    """Build fake trees under a directory and write their values once (or for ``--run-s`` seconds)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m synergy.testing.sysfs",
        description=f"Lay out fake sysfs sensor trees under DIR, as the kernel does. Layouts: {_LAYOUTS}; "
        f"boards: {', '.join(JETSON_BOARDS)}.",
    )
    parser.add_argument("root", metavar="DIR", type=Path)
    parser.add_argument("layouts", metavar="LAYOUT", nargs="+")
    parser.add_argument("--power", metavar="RAIL=W", action="append", default=[], help="constant power of a rail")
    parser.add_argument("--default-w", type=float, default=1.0, help="power of the other rails (default 1 W)")
    parser.add_argument("--run-s", type=float, default=0.0, help="keep updating the files for this long")
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    try:
        trees = [_build(args.root, layout) for layout in args.layouts]
        tree = trees[0]
        for other in trees[1:]:
            tree = tree | other
        powers = {}
        for item in args.power:
            rail, _, watts = item.partition("=")
            powers[rail] = Constant(float(watts))
        writer = SysfsWriter(tree, powers, default=Constant(args.default_w))
    except ValueError as exc:
        parser.error(str(exc))
    if args.run_s > 0:
        with writer:
            time.sleep(args.run_s)
    else:
        writer.step(time.monotonic())
    print(f"{args.root}: rails {', '.join(tree.drivers)}")
    return 0
