"""``python -m synergy``."""

from synergy.cli import run

run()
