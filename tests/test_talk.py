"""Talk files: the shipped example reads whole; anything wrong is one line naming the scene and the key."""

import pytest

from ibviewer.core.talk import X_MODES, TalkError, example_talk, load_talk
from ibviewer.live.series import X_MODES as APP_X_MODES


def test_the_example_talk_tells_the_story_in_five_scenes():
    talk = load_talk(example_talk())
    assert talk.title == "The implicit bias of gradient descent"
    presets = [s.preset for s in talk.scenes]
    assert presets == ["sensing_depth_low_rank", "hadamard_l1_bias", "sensing_incremental_rank",
                       "hadamard_kernel_to_rich", "saddle_to_saddle_limit"]
    assert [s.theory for s in talk.scenes] == [False, False, False, False, True]
    assert talk.scenes[4].x_axis == "rescaled"
    first = talk.scenes[0]
    assert [n for n, _ in first.runs] == ["depth=1", "depth=2", "depth=3"]  # the preset's comparison
    assert (first.first, first.last) == (0, 6000) and first.panels == ["singular_values", "effective_rank"]
    assert all(s.caption and s.notes for s in talk.scenes)
    assert [a.panel for a in talk.scenes[2].annotations] == ["loss"]


def test_a_scenes_x_axes_are_the_apps():
    assert set(X_MODES) <= set(APP_X_MODES)


def _talk(tmp_path, text: str):
    p = tmp_path / "t.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.mark.parametrize("scene, words", [
    ('preset = "sensing_depth_low_rank"\ncolour = "red"', ["scene 1", "'colour'", "allowed"]),
    ('preset = "no_such"', ["scene 1", "'preset'", "unknown preset 'no_such'"]),
    ('preset = "sensing_depth_low_rank"\nsteps = -3', ["scene 1", "'steps'", "-3"]),
    ('preset = "sensing_depth_low_rank"\nsteps = [500, 100]', ["scene 1", "'steps'", "first < last"]),
    ('preset = "sensing_depth_low_rank"\nspeed = 2.5', ["scene 1", "'speed'", "2.5", ">= 0"]),
    ('preset = "sensing_depth_low_rank"\nschedule = "cubic"', ["scene 1", "'schedule'", "log, linear"]),
    ('preset = "sensing_depth_low_rank"\nx_axis = "time_of_day"', ["scene 1", "'x_axis'", "log_step"]),
    ('preset = "sensing_depth_low_rank"\nset = { "model.depth" = 0 }', ["scene 1", "model.depth = 0"]),
    ('preset = "sensing_depth_low_rank"\ncompare = { "model.depth" = 3 }', ["scene 1", "'compare'", "lists"]),
    ('preset = "sensing_depth_low_rank"\ncompare = { "problem.d" = [10, 20] }', ["scene 1", "share the problem"]),
    ('caption = "no experiment"', ["scene 1", "exactly one of 'preset' or 'session'"]),
    ('preset = "sensing_depth_low_rank"\nsession = "s.ibvs"', ["scene 1", "exactly one"]),
    ('session = "missing.ibvs"', ["scene 1", "'session'", "does not exist"]),
    ('preset = "sensing_depth_low_rank"\npanels = "loss"', ["scene 1", "'panels'", "list"]),
    ('preset = "sensing_depth_low_rank"\ntheory = "yes"', ["scene 1", "'theory'", "'yes'", "true or false"]),
    ('preset = "sensing_depth_low_rank"\nannotations = [{ panel = "loss", step = 3 }]',
     ["scene 1, annotation 1", "needs 'y'"]),
])
def test_a_bad_scene_is_one_line_naming_the_scene_and_key(tmp_path, scene, words):
    good = '[[scene]]\npreset = "hadamard_l1_bias"\n'
    path = _talk(tmp_path, good + "\n[[scene]]\n" + scene.replace("scene 1", "scene 2") + "\n")
    with pytest.raises(TalkError) as err:
        load_talk(path)
    text = str(err.value)
    assert "\n" not in text
    for w in words:
        assert w.replace("scene 1", "scene 2") in text, (w, text)


@pytest.mark.parametrize("content, words", [
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[[scene]\npreset = 1", "not valid TOML"),
    (b'title = "x"\n', "has no scenes"),
    (b'tittle = "x"\n[[scene]]\npreset = "hadamard_l1_bias"\n', "'tittle' is not allowed"),
])
def test_a_bad_talk_file_is_one_line(tmp_path, content, words):
    p = tmp_path / "t.toml"
    p.write_bytes(content)
    with pytest.raises(TalkError, match=words):
        load_talk(p)
    with pytest.raises(TalkError, match="does not exist"):
        load_talk(tmp_path / "none.toml")
    with pytest.raises(TalkError, match="is not a file"):
        load_talk(tmp_path)


def test_a_preset_without_a_step_limit_needs_the_scenes_steps(tmp_path):
    path = _talk(tmp_path, '[[scene]]\npreset = "hadamard_l1_bias"\nset = { "run.steps" = 0 }\n')
    with pytest.raises(TalkError, match="scene 1, key 'steps'"):
        load_talk(path)
    path = _talk(tmp_path, '[[scene]]\npreset = "hadamard_l1_bias"\nset = { "run.steps" = 0 }\nsteps = [10, 200]\n')
    assert (load_talk(path).scenes[0].first, load_talk(path).scenes[0].last) == (10, 200)
