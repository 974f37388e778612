"""How long predicting many networks takes beyond their analysis.

Builds N layer tables of NAS-Bench-201 networks (analysed once, through the layer-table cache), fits a
predictor of every model form on the first networks with synthetic totals, and times
``Predictor.predict_tables`` over all N, domain checks included. Prints seconds per 1,000 networks.

    PYTHONPATH=src python benchmarks/predict_speed.py [N]
"""

from __future__ import annotations

import itertools
import sys
import time

import numpy as np

from synergy.graph.nb201 import EDGE_OPS
from synergy.graph.tablecache import analyze_many
from synergy.models import MODELS
from synergy.models.data import LayerData
from synergy.models.predictor import Predictor, training_domain


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cells = itertools.islice(itertools.product(EDGE_OPS, repeat=6), 0, None, 7)
    archs = [f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|" for o in itertools.islice(cells, n)]
    started = time.monotonic()
    tables = analyze_many([(f"nb201:{a}", None) for a in archs])
    print(f"analysis of {n} networks (cache + workers): {time.monotonic() - started:.1f} s")
    rng = np.random.default_rng(0)
    train = LayerData.from_tables(tables[:100])
    macs = np.array([t.macs for t in tables[:100]], dtype=float)
    y = 1e-3 + 1e-10 * macs * rng.uniform(0.95, 1.05, 100)
    for name, (factory, _) in MODELS.items():
        model = factory().fit(train, y)
        predictor = Predictor(name, model, "energy_j", "J", "energy_j", training_domain(train))
        started, cpu = time.monotonic(), time.process_time()
        out = predictor.predict_tables(tables, warn=False)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        assert len(out) == n
        print(
            f"{name:12s} predict {n} networks: {elapsed:.2f} s wall, {cpu:.2f} s CPU "
            f"({1000 * elapsed / n:.2f} s wall per 1,000)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
