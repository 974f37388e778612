"""The announce board: a shared log of which layer runs, and the true energy it implies."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import torch

from synergy.testing.announce import IDLE, OVERHEAD, AnnounceBoard, AnnouncedPower, announcing_model


def _power_in_child(power: AnnouncedPower, t_s: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(power(t_s))


def test_states_and_true_energy() -> None:
    with AnnounceBoard(capacity=64) as board:
        t, state = board.log()
        assert list(state) == [IDLE]
        model = announcing_model(board, [0.002, 0.001])
        model(torch.zeros(1))
        t, state = board.log()
        assert list(state) == [IDLE, OVERHEAD, 0, OVERHEAD, 1, OVERHEAD, IDLE]
        powers = {0: 10.0, 1: 20.0, OVERHEAD: 2.0, IDLE: 1.0}
        assert board.state_at(int(t[2]) + 1) == 0
        # Energy of layer 0's own window is its power times its duration, exactly.
        e = board.energy_j([t[2]], [t[3]], powers)
        np.testing.assert_allclose(e, [10.0 * (t[3] - t[2]) * 1e-9])
        whole = board.energy_j([t[0] - 1000], [t[-1] + 1000], powers)[0]
        parts = sum(powers[int(s)] * (b - a) * 1e-9 for a, b, s in zip(t[:-1], t[1:], state[:-1], strict=True))
        assert abs(whole - parts - 2000e-9 * 1.0) < 1e-12


def test_power_function_is_picklable_and_reads_across_processes() -> None:
    with AnnounceBoard(capacity=16) as board:
        board.announce(1)
        power = AnnouncedPower(board.name, (10.0, 20.0), overhead_w=2.0, idle_w=1.0)
        assert power(1e9) == 20.0  # far future: the last state
        clone = pickle.loads(pickle.dumps(power))
        assert clone._board is None
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        child = ctx.Process(target=_power_in_child, args=(power, 1e9, out))
        child.start()
        assert out.get(timeout=60) == 20.0
        child.join(timeout=60)
        assert child.exitcode == 0
        power.__dict__["_board"].close()


def test_full_board_raises() -> None:
    with AnnounceBoard(capacity=2) as board:
        board.announce(0)
        try:
            board.announce(1)
        except RuntimeError as exc:
            assert "full" in str(exc)
        else:
            raise AssertionError("a full board must refuse entries")


def test_exact_integral_matches_the_truth_and_grows_incrementally() -> None:
    with AnnounceBoard(capacity=64) as board:
        power = AnnouncedPower(board.name, (10.0, 20.0), overhead_w=2.0, idle_w=1.0)
        model = announcing_model(board, [0.002, 0.001])
        model(torch.zeros(1))
        t, _ = board.log()
        for a, b in ((t[0], t[-1]), (t[2] + 123, t[3] - 77), (t[1], t[-1] + 5000)):
            truth = board.energy_j([a], [b], power.powers())[0]
            assert abs(power.energy_j(a * 1e-9, b * 1e-9) - truth) < 1e-9
        version = power.version()
        before = power.cumulative_j(int(t[-1]) + 10_000_000)  # the last state (idle) assumed to go on
        model(torch.zeros(1))  # new entries: the sums are extended, not recomputed
        assert power.version() == version + 6
        t, _ = board.log()
        truth = board.energy_j([t[0]], [t[-1]], power.powers())[0]
        assert abs(power.cumulative_j(int(t[-1])) - truth) < 1e-9
        assert before > 0
        power.__dict__["_board"].close()
