"""The coordinator's decisions against a scripted broker: what is enqueued, collected, left pending."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from synergy.errors import OutputExistsError, UsageError
from synergy.fleet.campaign import CampaignSettings, plan_keys, run_campaign
from synergy.zoo import ZooEntry

ZOO = tuple(ZooEntry(f"net{i}", "synergy.zoo.cifar:nin", (1, 3, 16, 16)) for i in range(4))
CAPS: dict[str, Any] = {
    "board": "b1",
    "runtime": "torch",
    "runtimes": ["torch"],
    "sensor": "rapl",
    "sensor_opened": "rapl",
    "synergy": "0.1.0",
    "packages": {"torch": "2"},
}


class ScriptedBroker:
    """Board b1 answers; its backend and queue hold what the test puts there; results come when asked."""

    def __init__(self, states: dict[str, tuple[str, Any]], queued: set[str]) -> None:
        self.states = dict(states)
        self.waiting = set(queued)
        self.sent: list[str] = []
        self.forgotten: list[str] = []
        self.polls = 0

    def ask(self, boards: Any, timeout_s: float) -> dict[str, Any]:
        return {"b1": CAPS} if "b1" in boards else {}

    def board_record(self, board: str) -> None:
        return None

    def queued(self, board: str) -> tuple[set[str], set[str]]:
        return set(self.waiting), set()

    def enqueue(self, board: str, task_id: str, request: dict[str, Any]) -> None:
        assert request["key"] == task_id and request["fields"]["board"] == board
        self.sent.append(task_id)

    def results(self, task_ids: list[str]) -> dict[str, tuple[str, Any]]:
        return {t: self.states[t] for t in task_ids if t in self.states}

    def forget(self, task_id: str) -> None:
        self.forgotten.append(task_id)
        self.states.pop(task_id, None)

    def wait(self, seconds: float) -> None:
        # every queued or sent task ends as a failure reported by its board (no measuring here)
        self.polls += 1
        assert self.polls < 50, "the coordinator kept waiting"
        running = [t for t, (state, _) in self.states.items() if state == "STARTED"]
        for task_id in running:
            del self.states[task_id]
        for task_id in [*self.sent, *self.waiting, *running]:
            self.states.setdefault(
                task_id, ("SUCCESS", {"key": task_id, "board": "b1", "status": "failed", "error": "x"})
            )


def _settings() -> CampaignSettings:
    return CampaignSettings(zoo=ZOO, boards=("b1", "b4"), runs=3)


def test_only_what_is_neither_stored_queued_running_nor_waiting_is_enqueued(tmp_path: Path) -> None:
    keys = [k.id for k, _ in plan_keys(_settings(), "b1", CAPS)]
    waiting = {"key": keys[0], "board": "b1", "status": "failed", "error": "arrived while away"}
    broker = ScriptedBroker({keys[0]: ("SUCCESS", waiting), keys[1]: ("STARTED", None), keys[3]: ("FAILURE", "x")},
                            queued={keys[2]})  # fmt: skip
    result = run_campaign(_settings(), tmp_path / "c", broker, evaluate_studies=False, poll_s=0, timeout_s=60)  # type: ignore[arg-type]
    assert broker.sent == [keys[3]]  # a task that raised is sent again; the others were waiting somewhere
    assert result.enqueued == 1
    assert result.pending == {"b4": 4}  # the offline board: never enqueued, pending
    assert result.failed["b1/net0/r1"] == "arrived while away"
    assert set(broker.forgotten) >= set(keys)
    assert result.state["status"] == "incomplete"


def test_a_campaign_directory_is_never_reused_silently(tmp_path: Path) -> None:
    out = tmp_path / "c"
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    broker = ScriptedBroker({}, set())
    with pytest.raises(OutputExistsError):
        run_campaign(_settings(), out, broker, evaluate_studies=False)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="no campaign"):
        run_campaign(_settings(), out, broker, resume=True, evaluate_studies=False)  # type: ignore[arg-type]
    assert sorted(p.name for p in out.iterdir()) == ["mine.txt"]


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    out = tmp_path / "c"
    run_campaign(_settings(), out, ScriptedBroker({}, set()), evaluate_studies=False, poll_s=0, timeout_s=60)  # type: ignore[arg-type]
    other = CampaignSettings(zoo=ZOO, boards=("b1", "b4"), runs=5)
    with pytest.raises(UsageError, match="runs"):
        run_campaign(other, out, ScriptedBroker({}, set()), resume=True, evaluate_studies=False)  # type: ignore[arg-type]


def test_bad_settings_leave_no_directory(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        run_campaign(CampaignSettings(zoo=ZOO, boards=("b1",), repeats=0), tmp_path / "c", ScriptedBroker({}, set()))  # type: ignore[arg-type]
    assert not (tmp_path / "c").exists()
