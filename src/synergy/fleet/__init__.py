"""Fleet campaigns: a model zoo measured across many boards, on Celery with a Redis broker.

Each board runs ``synergy fleet worker`` (:func:`run_worker`), consuming its own queue one measurement at a
time; the coordinator runs ``synergy fleet run`` (:func:`run_campaign`), which plans zoo × boards × repeats
into deterministic keys, enqueues the feasible ones, stores each result in the layout of ``synergy study``
as it arrives, and runs the study evaluation per board. See ``docs/fleet.md``.
"""

from __future__ import annotations

from synergy.fleet.broker import Broker
from synergy.fleet.campaign import (
    FORMAT_VERSION,
    CampaignProgress,
    CampaignResult,
    CampaignSettings,
    run_campaign,
)
from synergy.fleet.status import fleet_status
from synergy.fleet.worker import BoardOptions, capabilities, run_worker

__all__ = [
    "FORMAT_VERSION",
    "BoardOptions",
    "Broker",
    "CampaignProgress",
    "CampaignResult",
    "CampaignSettings",
    "capabilities",
    "fleet_status",
    "run_campaign",
    "run_worker",
]
