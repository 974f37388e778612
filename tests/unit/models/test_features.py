"""Per-layer features and op keys."""

from __future__ import annotations

from synergy.graph.layers import Layer, LayerTable
from synergy.models.features import FEATURES, kernel_area, layer_frame, op_key, rows_frame
from synthetic_nets import conv, eltwise


def test_kernel_area_and_keys() -> None:
    c3 = conv("a", 16, 32, 8, 3)
    c1 = conv("b", 16, 32, 8, 1)
    assert kernel_area(c3) == 9 and kernel_area(c1) == 1
    assert kernel_area(eltwise("r", "Relu", 16, 8)) == 0
    dw = Layer(
        "dw", "Conv", input_shapes=((1, 32, 8, 8),), output_shapes=((1, 32, 8, 8),), macs=32 * 64 * 9, params=288
    )
    frame = layer_frame(LayerTable("m", (), (c3, c1, dw, eltwise("r", "Relu", 16, 8)), 0))
    assert list(frame["op_key"]) == ["Conv3x3", "Conv1x1", "DWConv3x3", "Relu"]
    assert list(frame["kernel_area"]) == [9, 1, 9, 0]
    assert frame.loc[0, "bytes_moved"] == c3.bytes_moved
    assert frame.loc[0, "output_elems"] == 32 * 64
    assert op_key("Conv", 25) == "Conv5x5" and op_key("MaxPool", 9) == "MaxPool"


def test_rows_frame_fills_missing_features() -> None:
    frame = rows_frame([{"name": "x", "op": "Conv", "macs": 10, "weight_bytes": 4, "input_bytes": 8}])
    assert list(frame.columns[4:]) == list(FEATURES)
    assert frame.loc[0, "bytes_moved"] == 12
    assert frame.loc[0, "params"] == 0
    assert frame.loc[0, "category"] == "conv"
