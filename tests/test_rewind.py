"""A diverged run shows its blow-up and can go on from its last finite state with a lower learning rate."""

import math

import numpy as np

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.core.engine import Engine


def _engine() -> Engine:
    c = build_config(preset=DEFAULT_PRESET)
    c.run.steps = 0
    return Engine(c)


def _diverge(e: Engine, lr: float = 5.0) -> int:
    """Raise the learning rate until the run diverges; the step it diverged at."""
    e.set_optimizer(None, lr=lr)
    e.step(100)
    assert e.status == "diverged"
    return e.step_count


def test_the_row_where_a_run_diverges_is_recorded_while_it_is_finite():
    e = _engine()
    e.step(300)
    at = _diverge(e)
    h = e.history
    assert int(h["step"][-1]) == at
    loss0 = float(h["loss"][0])
    assert math.isfinite(h["loss"][-1]) and h["loss"][-1] > e.cfg.run.diverge_factor * max(loss0, 1.0)


def test_rewind_goes_on_from_the_last_recorded_row_exactly_as_if_the_learning_rate_had_not_been_raised():
    lr = build_config(preset=DEFAULT_PRESET).optimizer.lr
    e = _engine()
    e.step(300)
    e.step(1)  # the row of step 300 is recorded as the next step begins
    kept = e.last_good.step
    assert kept == 300
    _diverge(e)
    e.set_optimizer(None, lr=lr)
    assert e.rewind()
    assert e.status == "ready" and e.message == "" and e.step_count == kept
    assert int(e.history["step"][-1]) == kept  # the blow-up rows are gone
    e.step(200)
    # an independent run: the same steps at the same learning rate, never raised
    ref = _engine()
    ref.step(kept + 200)
    assert ref.step_count == e.step_count
    for a, b in zip(e.params, ref.params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(e.history["loss"][-1], ref.history["loss"][-1])


def test_rewind_refuses_a_run_that_did_not_diverge_and_a_reset_forgets_the_kept_state():
    e = _engine()
    e.step(50)
    assert not e.rewind() and e.step_count == 50
    e.reset()
    assert e.last_good.step is None
    _diverge(e)
    # diverged before its first record after step 0: it goes back to step 0
    assert e.rewind() and e.step_count == e.last_good.step
