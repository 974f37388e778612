from __future__ import annotations

import json

from synergy.graph.layers import Layer, LayerTable, op_category


def _table() -> LayerTable:
    conv = Layer(
        name="features.0",
        op="Conv",
        kind="Conv2d",
        input_shapes=((1, 3, 8, 8),),
        output_shapes=((1, 4, 8, 8),),
        macs=6912,
        params=112,
        weight_bytes=448,
        input_bytes=768,
        output_bytes=1024,
    )
    relu = Layer(
        name="features.1",
        op="Relu",
        kind="ReLU",
        input_shapes=((1, 4, 8, 8),),
        output_shapes=((1, 4, 8, 8),),
        flops_activation=256,
        input_bytes=1024,
        output_bytes=1024,
    )
    fc = Layer(
        name="classifier",
        op="Linear",
        kind="Linear",
        input_shapes=((1, 256),),
        output_shapes=((1, 10),),
        macs=2560,
        params=2570,
        weight_bytes=10280,
        input_bytes=1024,
        output_bytes=40,
    )
    return LayerTable(model="toy", input_shapes=((1, 3, 8, 8),), layers=(conv, relu, fc), params=2682)


def test_totals_sum_rows() -> None:
    totals = _table().totals()
    assert totals["macs"] == 6912 + 2560
    assert totals["params"] == 2682
    assert totals["flops"] == 2 * (6912 + 2560) + 256
    assert totals["layers"] == 3


def test_derived_quantities() -> None:
    conv = _table()["features.0"]
    assert conv.bytes_moved == 448 + 768 + 1024
    assert conv.arithmetic_intensity == 2 * 6912 / 2240
    assert conv.category == "conv"
    assert conv.output_elements == 256


def test_views() -> None:
    table = _table()
    assert list(table.by_op()["op"]) == ["Conv", "Relu", "Linear"]
    by_cat = table.by_category().set_index("category")
    assert by_cat.loc["fc", "macs"] == 2560
    assert list(table.by_module()["module"]) == ["features", "classifier"]


def test_json_round_trip() -> None:
    table = _table()
    again = LayerTable.from_dict(json.loads(table.to_json()))
    assert again.layers == table.layers
    assert again.params == table.params


def test_categories() -> None:
    assert op_category("MaxPool") == "pooling"
    assert op_category("Relu") == "activation"
    assert op_category("Add") == "other"
