"""The worker's command dispatch, in this process: a fake GUI on both pipes queues commands, acknowledges every
snapshot and records every message (commands in, messages out)."""

from collections import deque

import pytest

from ibviewer.core.config import DEFAULT_PRESET, build_config
from ibviewer.live import protocol as msg
from ibviewer.live.worker import Worker

#: a worker that gets no Quit within this many reads of its command pipe is stopped (and the test fails)
MAX_POLLS = 200_000


def small_cfg(**overrides):
    c = build_config(preset=DEFAULT_PRESET)
    c.run.steps = 0
    for key, value in overrides.items():
        table, name = key.split("__")
        setattr(getattr(c, table), name, value)
    return c.validate().to_dict()


class FakeGui:
    """Both pipe ends of the worker.  ``react(gui, message)`` queues the next commands; ``ack``: acknowledge
    snapshots as the GUI does."""

    def __init__(self, react, ack: bool = True):
        self.queue: deque = deque()
        self.messages: list = []
        self.react = react
        self.ack = ack
        self.polls = 0
        self.ran_out = False

    # the command pipe
    def poll(self, _timeout=0.0) -> bool:
        self.polls += 1
        if self.polls > MAX_POLLS and not self.ran_out:
            self.ran_out = True
            self.queue.append(msg.Quit())
        return bool(self.queue)

    def recv(self):
        return self.queue.popleft()

    # the message pipe
    def send(self, message) -> None:
        self.messages.append(message)
        if isinstance(message, msg.Snapshot) and self.ack:
            self.queue.append(msg.Ack(message.seq))
        self.react(self, message)

    def close(self) -> None:
        pass

    def of(self, kind) -> list:
        return [m for m in self.messages if isinstance(m, kind)]


def serve(react, runs=None, ack=True, gen=0, selected=None) -> FakeGui:
    gui = FakeGui(react, ack)
    runs = runs or (msg.RunSpec(0, "a", small_cfg()), msg.RunSpec(1, "b", small_cfg(model__init_scale=0.01)))
    Worker(gui, gui, {"gen": gen, "runs": runs, "selected": selected}).serve(small_cfg())
    assert not gui.ran_out, "the script never sent Quit"
    return gui


class Script:
    """Commands to send, each after the first snapshot that satisfies its condition."""

    def __init__(self, *steps):
        self.steps = deque(steps)  # (condition(snapshot) -> bool, [commands])

    def __call__(self, gui, message):
        if isinstance(message, msg.Snapshot) and self.steps and self.steps[0][0](message):
            gui.queue.extend(self.steps.popleft()[1])


def always(_snap):
    return True


def test_the_first_runs_are_reported_ready_with_their_generation_and_selection():
    gui = serve(Script((always, [msg.Quit()])), gen=4, selected=1)
    ready = gui.messages[0]
    assert isinstance(ready, msg.Ready) and ready.gen == 4 and ready.selected == 1
    assert [(r.id, r.name) for r in ready.runs] == [(0, "a"), (1, "b")]
    assert ready.runs[1].cfg["model"]["init_scale"] == 0.01 and ready.problem["shape"] == (20, 20)
    snap = gui.of(msg.Snapshot)[0]
    assert snap.gen == 4 and snap.selected == 1 and all(e.step == 0 and e.replace for e in snap.runs)


def test_step_takes_exactly_n_steps_on_every_run_then_pauses():
    gui = serve(Script((always, [msg.Step(5)]), (lambda s: s.lead.step == 5, [msg.Quit()])))
    last = gui.of(msg.Snapshot)[-1]
    assert [e.step for e in last.runs] == [5, 5] and not last.playing and last.pending == 0


def test_play_trains_until_pause():
    gui = serve(Script((always, [msg.Play()]), (lambda s: s.lead.step > 30, [msg.Pause()]),
                       (lambda s: not s.playing, [msg.Quit()])))
    snaps = gui.of(msg.Snapshot)
    assert any(s.playing for s in snaps) and not snaps[-1].playing and snaps[-1].lead.step > 30


def test_reset_with_a_seed_restarts_every_run_and_reseeds_one():
    gui = serve(Script((always, [msg.Step(8)]), (lambda s: s.lead.step == 8, [msg.Reset(seed=7, run_id=1)]),
                       (lambda s: s.lead.step == 0, [msg.Quit()])))
    last = gui.of(msg.Snapshot)[-1]
    assert [(e.step, e.replace) for e in last.runs] == [(0, True), (0, True)]
    assert [e.seed for e in last.runs] == [0, 7]


def test_select_moves_the_lead_and_its_product():
    gui = serve(Script((always, [msg.Select(1)]), (lambda s: s.selected == 1, [msg.Quit()])))
    first, last = gui.of(msg.Snapshot)[0], gui.of(msg.Snapshot)[-1]
    assert first.selected == 0 and last.lead.id == 1 and last.lead.product is not None


def test_remove_keeps_the_last_run_and_rename_names_one():
    gui = serve(Script((always, [msg.RemoveRun(0), msg.Rename(1, "shallow")]),
                       (lambda s: len(s.runs) == 1, [msg.RemoveRun(1), msg.Step(1)]),
                       (lambda s: s.lead.step == 1, [msg.Quit()])))
    last = gui.of(msg.Snapshot)[-1]
    assert [(e.id, e.name) for e in last.runs] == [(1, "shallow")] and last.selected == 1
    assert not gui.of(msg.Error)


def test_set_optimizer_retunes_one_run_live():
    gui = serve(Script((always, [msg.SetOptimizer({"lr": 0.005}, 1)]),
                       (lambda s: s.runs[1].lr == 0.005, [msg.Quit()])))
    last = gui.of(msg.Snapshot)[-1]
    assert [e.lr for e in last.runs] == [0.01, 0.005]


def test_a_refused_command_and_an_unknown_one_are_answered_with_one_line():
    gui = serve(Script((always, [msg.SetOptimizer({"lr": -1.0}), "bogus", msg.Quit()])))
    errors = [e.text for e in gui.of(msg.Error)]
    assert len(errors) == 2 and "lr" in errors[0] and errors[1] == "unknown command str"
    assert all("\n" not in e for e in errors)


def test_new_runs_carry_their_generation_and_a_refused_set_keeps_the_old_runs_where_they_stood():
    bad = small_cfg()
    bad["problem"]["singular_values"] = [1.0] * 21  # more singular values than a 20 x 20 matrix has
    gui = serve(Script(
        (always, [msg.Runs((msg.RunSpec(3, "c", small_cfg()),), gen=5), msg.Step(4)]),
        (lambda s: s.gen == 5 and s.lead.step == 4, [msg.Runs((msg.RunSpec(4, "d", bad),), gen=6), msg.Step(2)]),
        (lambda s: s.gen == 6 and s.lead.step == 6, [msg.Quit()])))
    assert [r.gen for r in gui.of(msg.Ready)] == [0, 5, 6]
    assert [(e.gen, e.kept) for e in gui.of(msg.ConfigError)] == [(6, True)]
    kept = gui.of(msg.Ready)[-1]
    assert [r.id for r in kept.runs] == [3] and kept.runs[0].step == 4  # not rebuilt: where it stood
    first = next(s for s in gui.of(msg.Snapshot) if s.gen == 6)
    assert first.runs[0].replace and first.runs[0].rows["step"][0] == 0  # its history sent again whole
    last = gui.of(msg.Snapshot)[-1]
    assert last.gen == 6 and [e.id for e in last.runs] == [3] and last.lead.step == 6  # and it went on


def test_refused_first_runs_are_not_kept():
    bad = small_cfg()
    bad["model"]["depth"] = 0

    def react(gui, message):
        if isinstance(message, msg.ConfigError):
            gui.queue.append(msg.Quit())

    gui = FakeGui(react)
    Worker(gui, gui, {"runs": (msg.RunSpec(0, "a", bad),)}).serve(small_cfg())
    assert [(e.gen, e.kept) for e in gui.of(msg.ConfigError)] == [(0, False)] and not gui.of(msg.Ready)


def test_a_model_too_large_on_the_same_problem_is_refused_before_allocation_and_the_runs_go_on():
    """The problem is reused (only the model changed), so the problem's own memory check does not run: a width of
    500,000 (7 TiB of factors) must still be refused in one line, never reach numpy and end the worker."""
    wide = small_cfg(model__width=500_000)
    gui = serve(Script(
        (always, [msg.Runs((msg.RunSpec(0, "a", wide),), gen=1), msg.Step(2)]),
        (lambda s: s.lead.step == 2, [msg.Quit()])))
    (refused,) = gui.of(msg.ConfigError)
    assert refused.gen == 1 and refused.kept and "model.width" in refused.text and "\n" not in refused.text
    assert not gui.of(msg.Fatal)
    last = gui.of(msg.Snapshot)[-1]
    # the runs the worker had went on, kept under the refused generation
    assert last.gen == 1 and [e.step for e in last.runs] == [2, 2]


def test_one_snapshot_in_flight_until_it_is_acknowledged():
    def react(gui, message):
        if isinstance(message, msg.Ready):
            gui.queue.append(msg.Play())

    gui = FakeGui(react, ack=False)
    gui_polls_before_quit = 3000
    original = gui.poll

    def poll(timeout=0.0):
        if gui.polls == gui_polls_before_quit:
            gui.queue.extend([msg.Ack(-1), msg.Quit()])  # a stale acknowledgement releases nothing
        return original(timeout)

    gui.poll = poll
    Worker(gui, gui, {"runs": (msg.RunSpec(0, "a", small_cfg()),)}).serve(small_cfg())
    assert len(gui.of(msg.Snapshot)) == 1


@pytest.mark.parametrize("command", [msg.Play(), msg.Step(3), msg.Select(0)])
def test_without_runs_a_command_is_refused(command):
    bad = small_cfg()
    bad["model"]["depth"] = 0

    def react(gui, message):
        if isinstance(message, msg.ConfigError):
            gui.queue.extend([command, msg.Quit()])

    gui = FakeGui(react)
    Worker(gui, gui, {"runs": (msg.RunSpec(0, "a", bad),)}).serve(small_cfg())
    assert [type(m) for m in gui.messages] == [msg.ConfigError, msg.Error]
    assert gui.messages[1].text == "no run is loaded; choose a valid configuration"


def test_each_run_carries_the_events_its_history_shows_when_they_change():
    from ibviewer.core.config import config_from_dict
    from ibviewer.core.engine import Engine
    from ibviewer.core.events import events

    cfg = small_cfg()
    gui = serve(Script((always, [msg.Step(600)]), (lambda s: s.lead.step == 600 and not s.pending, [msg.Pause()]),
                       (always, [msg.Quit()])), runs=(msg.RunSpec(0, "a", cfg),))
    sent = [en.events for s in gui.of(msg.Snapshot) for en in s.runs if en.events is not None]
    assert sent, "no snapshot carried events"
    # the last events sent are those the engine finds in the same run, trained alone
    e = Engine(config_from_dict(cfg))
    e.step(600)
    expected = events(e.history.as_dict(), e.cfg, e.status, e.step_count, e.problem.target)
    assert any(ev["kind"] == "learned" for ev in expected)
    assert list(sent[-1]) == expected
    # unchanged events are not sent again (the snapshot after Pause)
    assert gui.of(msg.Snapshot)[-1].runs[0].events is None


def test_continue_takes_a_diverged_run_of_a_stack_back_to_its_last_finite_state_and_leaves_the_others():
    lr = small_cfg()["optimizer"]["lr"]

    def entry(s, rid):
        return next(en for en in s.runs if en.id == rid)

    gui = serve(Script(
        (always, [msg.Step(100)]),
        (lambda s: s.lead.step == 100 and not s.pending, [msg.SetOptimizer({"lr": 0.2}, 1), msg.Step(60)]),
        (lambda s: entry(s, 1).status == "diverged" and not s.pending,
         [msg.SetOptimizer({"lr": lr}, 1), msg.Continue(), msg.Step(30)]),
        (lambda s: entry(s, 1).status != "diverged" and not s.pending and entry(s, 1).step > 100,
         [msg.Quit()])))
    snaps = gui.of(msg.Snapshot)
    diverged = next(entry(s, 1) for s in snaps if entry(s, 1).status == "diverged")
    assert 100 <= diverged.resume_step < diverged.step
    last = snaps[-1]
    other, back = entry(last, 0), entry(last, 1)
    assert back.step == diverged.resume_step + 30 and back.status != "diverged" and back.resume_step == -1
    assert other.status != "diverged" and other.step == 100 + 60 + 30  # the other run trained on throughout
    resent = next(entry(s, 1) for s in snaps if s.seq > 0 and entry(s, 1).replace and entry(s, 1).step >= 100)
    assert int(resent.rows["step"][-1]) <= diverged.resume_step + 30  # its history sent again without the blow-up


def test_an_edit_for_a_run_the_worker_no_longer_has_is_dropped_and_the_worker_trains_on():
    # the window retuned run 0 while a new set of runs (ids 3 and 4) was on its way: the edit names a run that
    # is gone; before, the worker died of "ValueError: 0 is not in list"
    gui = serve(Script(
        (always, [msg.Runs((msg.RunSpec(3, "c", small_cfg()), msg.RunSpec(4, "d", small_cfg())), gen=1),
                  msg.SetOptimizer({"lr": 0.005}, 0), msg.Step(3)]),
        (lambda s: s.gen == 1 and s.lead.step == 3, [msg.Quit()])))
    last = gui.of(msg.Snapshot)[-1]
    assert [e.id for e in last.runs] == [3, 4] and [e.lr for e in last.runs] == [0.01, 0.01]
    assert not gui.of(msg.Error) and not gui.of(msg.Fatal)
