"""How the format-1 session fixtures were made: with the ibviewer of commit 18bbde4, the last to write format 1.

    git archive 18bbde4 | tar -x -C /tmp/v1 && mkdir -p /tmp/v1/tests/data
    cp tests/data/make_format1_sessions.py /tmp/v1/tests/data/
    (cd /tmp/v1 && PYTHONPATH=$PWD python tests/data/make_format1_sessions.py)
    cp /tmp/v1/tests/data/*.ibvs tests/data/

* ``format1_adam.ibvs``: one run (small matrix sensing, Adam), saved after 121 steps.
* ``format1_sgd.ibvs``: one run (small matrix sensing, SGD on minibatches of 10), saved after 121 steps.
* ``format1_gd.ibvs``: one run (small matrix sensing, full-batch GD), saved after 121 steps.
* ``format1_compare.ibvs``: a two-run comparison (init scale 0.1 and 0.01, stacked GD) saved after 150 steps.

tests/test_session.py rebuilds the same runs from these settings and checks that the saved ones go on exactly
as an uninterrupted run does.
"""

from pathlib import Path

from ibviewer.core.compare import RunGroup, expand, parse_compare
from ibviewer.core.config import build_config
from ibviewer.core.engine import Engine
from ibviewer.core.session import VERSION, save_session

HERE = Path(__file__).parent
SENSING = [("problem.kind", "matrix_sensing"), ("problem.d", 6), ("problem.rank", 2), ("problem.measurements", 40),
           ("model.depth", 3), ("model.init_scale", 0.1), ("run.steps", 0), ("run.seed", 7)]
SINGLE = {
    "adam": [("optimizer.name", "adam"), ("optimizer.lr", 1e-2)],
    "sgd": [("optimizer.name", "sgd"), ("optimizer.lr", 0.02), ("optimizer.batch_size", 10)],
    "gd": [("optimizer.name", "gd"), ("optimizer.lr", 0.02)],
}
SINGLE_STEPS = 121  # mid-epoch for SGD (4 batches of 10 per epoch of 40 rows): the permutation matters
COMPARE = ["model.init_scale=0.1,0.01"]
COMPARE_STEPS = 150


def main() -> None:
    assert VERSION == 1, "these fixtures must be written by an ibviewer that writes format 1"
    for name, over in SINGLE.items():
        e = Engine(build_config(overrides=SENSING + over))
        e.step(SINGLE_STEPS)
        save_session(HERE / f"format1_{name}.ibvs", [(name, e)], view={"x_axis": "log_step"})
    group = RunGroup(expand(build_config(overrides=SENSING + SINGLE["gd"]), parse_compare(COMPARE)))
    group.step(COMPARE_STEPS)
    for b in group.batches:
        b.sync_engines()
    save_session(HERE / "format1_compare.ibvs", list(zip(group.names, group.engines)), view={"selected_index": 1})


if __name__ == "__main__":
    main()
