"""``python -m synergy.testing.sysfs``: lay out fake sensor trees and write their values."""

from synergy.testing.sysfs.cli import main

raise SystemExit(main())
