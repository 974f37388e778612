"""Keys, names and the result store: deterministic keys, names that never become paths, archives that
are checked before anything is unpacked, and a key that keeps its first result."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from synergy.errors import FleetError, UsageError
from synergy.fleet.archive import pack_dir, unpack
from synergy.fleet.campaign import CampaignSettings, feasible, plan_keys, result_dir, store_result
from synergy.fleet.names import check_board, inside, parse_boards, task_key
from synergy.zoo import ZooEntry

NIN = ZooEntry("nin", "synergy.zoo.cifar:nin", (1, 3, 16, 16))
CAPS: dict[str, Any] = {
    "board": "b1",
    "runtime": "torch",
    "runtimes": ["torch"],
    "sensor": "rapl",
    "sensor_opened": "rapl",
    "synergy": "0.1.0",
    "packages": {"torch": "2", "torchvision": "0.2"},
}


def test_keys_are_deterministic_and_depend_on_every_setting() -> None:
    settings = CampaignSettings(zoo=(NIN,), boards=("b1",), repeats=2, runs=3)
    first = [k.id for k, _ in plan_keys(settings, "b1", CAPS)]
    assert first == [k.id for k, _ in plan_keys(settings, "b1", dict(reversed(list(CAPS.items()))))]
    assert len(set(first)) == 2  # one per repeat
    assert first != [k.id for k, _ in plan_keys(settings, "b1", {**CAPS, "synergy": "0.2.0"})]
    assert first != [k.id for k, _ in plan_keys(CampaignSettings(zoo=(NIN,), boards=("b1",), repeats=2), "b1", CAPS)]
    assert task_key({"board": "b", "network": "n", "repeat": 1}).id.startswith("synergy-fleet-")


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "a b", "x" * 64, "é"])
def test_board_names_are_checked_not_rewritten(name: str) -> None:
    with pytest.raises(UsageError):
        check_board(name)


def test_boards_list() -> None:
    assert parse_boards(" a, b-2 ,c_3") == ("a", "b-2", "c_3")
    with pytest.raises(UsageError, match="twice"):
        parse_boards("a,a")


def test_paths_stay_inside(tmp_path: Path) -> None:
    assert inside(tmp_path, "boards", "b1") == tmp_path / "boards" / "b1"
    with pytest.raises(UsageError, match="never paths"):
        inside(tmp_path, "..", "elsewhere")


def test_feasibility() -> None:
    assert feasible(NIN, CAPS) is None
    assert "onnxruntime" in str(feasible(NIN, {**CAPS, "runtime": "onnxruntime"}))
    vision = ZooEntry("resnet18", "torchvision:resnet18")
    assert "torchvision" in str(feasible(vision, {**CAPS, "packages": {"torch": "2"}}))


def _result_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "measured"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"status": "complete", "inference_s": 0.01, "energy_j": 0.1}))
    (folder / "layers.csv").write_text("layer,op,category,duration_s\nconv1,Conv,conv,0.001\n")
    (folder / "events").mkdir()
    (folder / "events" / "a.txt").write_text("x")
    return folder


def test_a_key_keeps_its_first_result(tmp_path: Path) -> None:
    settings = CampaignSettings(zoo=(NIN,), boards=("b1",))
    (key, entry) = plan_keys(settings, "b1", CAPS)[0]
    out = tmp_path / "campaign"
    payload = {"key": key.id, "board": "b1", "status": "done", **pack_dir(_result_folder(tmp_path))}
    assert store_result(out, key, entry, payload) == ("done", None)
    folder = result_dir(out, key)
    assert (folder / "features.csv").is_file() and (folder / "events" / "a.txt").read_text() == "x"
    before = (folder / "task.json").read_bytes()
    assert store_result(out, key, entry, payload)[0] == "duplicate"
    assert store_result(out, key, entry, {**payload, "status": "failed", "error": "late"})[0] == "duplicate"
    assert (folder / "task.json").read_bytes() == before
    assert [p.name for p in folder.parent.iterdir()] == ["nin"]  # no partial left behind


def test_a_result_for_another_key_or_board_is_refused(tmp_path: Path) -> None:
    settings = CampaignSettings(zoo=(NIN,), boards=("b1",))
    (key, entry) = plan_keys(settings, "b1", CAPS)[0]
    packed = pack_dir(_result_folder(tmp_path))
    out = tmp_path / "campaign"
    assert store_result(out, key, entry, {"key": "other", "board": "b1", "status": "done", **packed})[0] == "failed"
    assert store_result(out, key, entry, {"key": key.id, "board": "b2", "status": "done", **packed})[0] == "failed"
    assert store_result(out, key, entry, {"key": key.id, "board": "b1", "status": "failed", "error": "boom"}) == (
        "failed",
        "boom",
    )
    assert not result_dir(out, key).exists()


def _archive(add: Any) -> dict[str, Any]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        add(tar)
    data = buffer.getvalue()
    return {"archive_b64": base64.b64encode(data).decode(), "archive_sha256": hashlib.sha256(data).hexdigest()}


def _file(tar: tarfile.TarFile, name: str, text: bytes = b"x") -> None:
    info = tarfile.TarInfo(name)
    info.size = len(text)
    tar.addfile(info, io.BytesIO(text))


@pytest.mark.parametrize("name", ["../escape.txt", "/abs.txt", "a/../../escape.txt"])
def test_an_archive_cannot_write_outside(tmp_path: Path, name: str) -> None:
    with pytest.raises(FleetError, match="outside"):
        unpack(_archive(lambda tar: _file(tar, name)), tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists() and not Path("/abs.txt").exists()


def test_an_archive_with_links_or_a_bad_checksum_is_refused(tmp_path: Path) -> None:
    def link(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("run.json")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)

    with pytest.raises(FleetError, match="not a plain file"):
        unpack(_archive(link), tmp_path / "a")
    bad = _archive(lambda tar: _file(tar, "run.json"))
    with pytest.raises(FleetError, match="checksum"):
        unpack({**bad, "archive_sha256": "0" * 64}, tmp_path / "b")
    assert not (tmp_path / "b").exists()
