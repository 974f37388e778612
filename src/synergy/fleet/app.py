"""The Celery application of a fleet: JSON only, one task at a time per board, redelivery when a board dies.

Both sides (``synergy fleet worker`` on a board, ``synergy fleet run`` on the coordinator) build the same
application from the broker's URL; the result backend is the broker's Redis unless given. Tasks are called
by name with JSON arguments, so each board runs its own Python and its own synergy install.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CAPABILITIES_COMMAND", "MEASURE_TASK", "RESULT_TTL_S", "make_app"]

#: The measurement task, called by name.
MEASURE_TASK = "synergy.fleet.measure"

#: The remote-control command a worker answers with its capabilities.
CAPABILITIES_COMMAND = "synergy_capabilities"

#: How long a result waits on the broker for its coordinator (a campaign may be resumed days later).
RESULT_TTL_S = 30 * 24 * 3600


def make_app(broker: str, backend: str | None = None) -> Any:
    """A Celery application for ``broker`` (a ``redis://`` URL).

    The settings that matter: JSON serialisation only (no pickle anywhere); late acknowledgement and
    rejection on a lost worker (a task whose board dies is delivered again); prefetch 1 (a board holds
    no task it is not measuring); results kept :data:`RESULT_TTL_S`; started tasks tracked.
    """
    from celery import Celery

    app = Celery("synergy-fleet", broker=broker, backend=backend or broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        event_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        worker_pool="solo",
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
        result_expires=RESULT_TTL_S,
        result_extended=False,
        task_default_queue="synergy-fleet.default",
        broker_transport_options={"visibility_timeout": 7 * 24 * 3600},
    )
    return app
