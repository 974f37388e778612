"""``synergy fleet worker|run|status``: a model zoo measured across many boards (Celery, Redis broker)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from synergy.cli.common import add_network_settings_options

__all__ = ["register"]

#: The settings a campaign records (their defaults are :class:`~synergy.fleet.CampaignSettings`'s).
_SETTINGS: tuple[str, ...] = ("runs", "warmup", "threads", "idle_s", "seed", "repeats")


def register(subparsers: Any) -> None:
    """Add the ``fleet`` subcommand and its ``worker``, ``run`` and ``status`` commands."""
    parser = subparsers.add_parser(
        "fleet",
        help="measure a model zoo on many boards: a worker per board, a campaign on the coordinator",
        description="Fleet campaigns on Celery with a Redis broker: 'worker' serves one board (one measurement "
        "at a time, each in a fresh process), 'run' measures a zoo on every board that can run it and stores "
        "each result as it arrives, 'status' shows the boards, their queues and a campaign's progress.",
    )
    commands = parser.add_subparsers(dest="fleet_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    worker = commands.add_parser("worker", help="serve one board's queue (run it on the board)")
    worker.add_argument("--broker", required=True, metavar="URL", help="the broker, redis://HOST:PORT/DB")
    worker.add_argument("--board", required=True, metavar="NAME", help="this board's name (letters, digits, - _)")
    worker.add_argument("--runtime", choices=("onnxruntime", "torch"), default="torch", help="(default: torch)")
    worker.add_argument("--sensor", default="auto", metavar="SENSOR", help="the sensor of every measurement (auto)")
    worker.add_argument("--sysfs-root", type=Path, default=Path("/"), metavar="DIR", help="read sysfs under DIR")
    worker.add_argument("--state-dir", type=Path, default=None, metavar="DIR", help="where the board's lock lives")
    worker.add_argument(
        "--task-timeout-s", type=float, default=6 * 3600.0, metavar="S", help="stop a measurement after S (6 h)"
    )
    worker.set_defaults(func=_worker)

    run = commands.add_parser("run", help="measure a zoo on the boards and store the results (the coordinator)")
    run.add_argument("zoo", nargs="?", default=None, metavar="ZOO", help="default, small or a zoo file")
    run.add_argument("--broker", required=True, metavar="URL", help="the broker, redis://HOST:PORT/DB")
    run.add_argument("--boards", default=None, metavar="A,B,C", help="the boards (on --resume: the campaign's)")
    run.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="the campaign directory")
    run.add_argument("--repeats", type=int, default=None, metavar="N", help="measurements of each pair (1)")
    add_network_settings_options(run)
    run.add_argument("--resume", action="store_true", help="continue the campaign in DIR with its own settings")
    run.add_argument("--ask-s", type=float, default=3.0, metavar="S", help="time boards have to answer (3)")
    run.add_argument("--timeout-s", type=float, default=None, metavar="S", help="stop waiting after S")
    run.add_argument("--no-evaluate", action="store_true", help="skip the study evaluation per board")
    run.set_defaults(func=_run)

    status = commands.add_parser("status", help="boards seen, queue depths, a campaign's keys per board")
    status.add_argument("campaign", nargs="?", type=Path, default=None, metavar="CAMPAIGN")
    status.add_argument("--broker", required=True, metavar="URL", help="the broker, redis://HOST:PORT/DB")
    status.set_defaults(func=_status)


def _log(line: str) -> None:
    sys.stdout.write(f"{time.strftime('%H:%M:%S')} {line}\n")
    sys.stdout.flush()


def _worker(args: argparse.Namespace) -> int:
    from synergy.fleet import BoardOptions, run_worker

    options = BoardOptions(
        board=args.board,
        runtime=args.runtime,
        sensor=args.sensor,
        sysfs_root=args.sysfs_root,
        task_timeout_s=args.task_timeout_s,
        **({"state_dir": args.state_dir} if args.state_dir is not None else {}),
    )
    return run_worker(args.broker, options, log=_log)


def _settings(args: argparse.Namespace) -> Any:
    from synergy.errors import UsageError
    from synergy.fleet import CampaignSettings
    from synergy.fleet.names import parse_boards
    from synergy.study.files import read_json
    from synergy.zoo import load_zoo

    given = {k: getattr(args, k) for k in _SETTINGS if getattr(args, k) is not None}
    if args.resume:
        try:
            stored = CampaignSettings.from_dict(read_json(args.output / "campaign.json")["settings"])
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"{args.output} holds no readable campaign ({exc}): start one without --resume") from exc
        base = stored.to_dict()
        values = {k: base[k] for k in _SETTINGS} | given
        zoo, zoo_name = stored.zoo, stored.zoo_name
        if args.zoo is not None:
            zoo, zoo_name = load_zoo(args.zoo), args.zoo
        boards = parse_boards(args.boards) if args.boards else stored.boards
        return CampaignSettings(zoo=zoo, boards=boards, zoo_name=zoo_name, **values)
    if not args.boards:
        raise UsageError("no board given: list the boards with --boards a,b,c")
    name = args.zoo or "default"
    return CampaignSettings(zoo=load_zoo(name), boards=parse_boards(args.boards), zoo_name=name, **given)


def _progress(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from synergy.fleet import CampaignProgress

    class RichProgress(CampaignProgress):
        """One bar per board (its keys stored out of its feasible keys), a line per result."""

        def __init__(self) -> None:
            self.bar = Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            )
            self.tasks: dict[str, Any] = {}
            self.started = False

        def planned(self, board: str, total: int, done: int, note: str | None) -> None:
            console.print(f"{board}: {total} keys, {done} stored" + (f" ({note})" if note else ""))
            self.tasks[board] = self.bar.add_task(board, total=total, completed=done)

        def enqueued(self, enqueued: int, collected: int, in_flight: int) -> None:
            console.print(
                f"enqueued {enqueued}; {collected} result(s) waiting on the broker; {in_flight} queued or running"
            )
            self.bar.start()
            self.started = True

        def stored(self, key: Any, status: str, error: str | None, wall_s: float | None) -> None:
            took = f" ({wall_s:.1f} s on the board)" if wall_s is not None else ""
            mark = {"done": "stored", "duplicate": "duplicate delivery, ignored"}.get(status, f"FAILED: {error}")
            console.print(f"{key.label}: {mark}{took}")
            if status in ("done", "failed") and key.board in self.tasks:
                self.bar.advance(self.tasks[key.board])

        def phase(self, name: str) -> None:
            self.stop()
            console.print(name)

        def stop(self) -> None:
            if self.started:
                self.bar.stop()
                self.started = False

    return RichProgress()


def _table(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    frame = pd.DataFrame(rows)
    done = frame[frame["status"] == "done"]
    grouped = done.groupby(["board", "network"], sort=False)
    table = grouped.agg(
        repeats=("repeat", "count"),
        sensor=("sensor", "first"),
        inference_ms=("inference_s", lambda s: 1e3 * float(s.mean())),
        inference_spread=("inference_s", lambda s: float((s.max() - s.min()) / s.mean()) if len(s) > 1 else 0.0),
        energy_mj=("energy_j", lambda s: 1e3 * float(s.mean()) if s.notna().all() else float("nan")),
    ).reset_index()
    return table


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from synergy.cli.common import render_frame
    from synergy.fleet import Broker, run_campaign

    settings = _settings(args)
    broker = Broker(args.broker)
    console = Console(file=sys.stderr)
    drawer = _progress(console)
    try:
        result = run_campaign(
            settings,
            args.output,
            broker,
            resume=args.resume,
            ask_s=args.ask_s,
            timeout_s=args.timeout_s,
            evaluate_studies=not args.no_evaluate,
            progress=drawer,
        )
    except KeyboardInterrupt:
        drawer.stop()
        sys.stderr.write(
            f"interrupted: the results so far are stored in {args.output}; the boards go on with their queues; "
            f"collect and continue with 'synergy fleet run --resume --broker {args.broker} -o {args.output}'\n"
        )
        return 130
    finally:
        drawer.stop()
    out = sys.stdout
    table = _table(result.rows)
    if not table.empty:
        out.write(render_frame(table, title="campaign: per board and network, mean over repeats"))
    for name, report in result.reports.items():
        out.write(f"study report {name}: {report}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")
    for label, error in result.failed.items():
        out.write(f"failed: {label}: {error} (retry with --resume)\n")
    for board, count in result.pending.items():
        out.write(f"pending: {board}: {count} key(s) (collect them with --resume)\n")
    out.write(f"campaign: {result.out_dir} ({result.state['status']})\n")
    return 0 if result.state["status"] == "complete" else 1


def _status(args: argparse.Namespace) -> int:
    import pandas as pd

    from synergy.cli.common import render_frame
    from synergy.fleet import Broker, fleet_status

    rows = fleet_status(Broker(args.broker), args.campaign)
    if not rows:
        sys.stdout.write("no board has announced itself on this broker\n")
        return 0
    for row in rows:
        seen = row.pop("announced_unix_s", None)
        row["announced"] = (
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seen)) if isinstance(seen, int | float) else "never"
        )
    frame = pd.DataFrame(rows).astype(object)
    sys.stdout.write(render_frame(frame.where(frame.notna(), "-"), title="fleet"))
    return 0
