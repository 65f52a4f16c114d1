"""``ibviewer record --talk``: one clip per scene, named by its caption, from its first to its last step, with
its annotations drawn; bad input is one line and exit 2."""

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from ibviewer.gui.record import main as record_main
from ibviewer.gui.record_talk import clip_name, slug

SCENE_1 = '''
[[scene]]
preset = "sensing_incremental_rank"
panels = ["loss"]
steps = 300
caption = "Singular values are learned one at a time"
{annotations}
'''
SCENE_2 = '''
[[scene]]
preset = "sensing_incremental_rank"
compare = {{ "model.depth" = [1, 2] }}
steps = [100, 400]
schedule = "linear"
caption = "Depth: ×2, sharper"
'''
SMALL = ["--size", "320x180", "--fps", "3", "--seconds", "1", "-q"]
NOTE = 'annotations = [{ panel = "loss", step = 50, y = 1.0, text = "HERE HERE HERE" }]'


def write_talk(folder: Path, annotations: str = NOTE) -> Path:
    path = folder / "talk.toml"
    path.write_text('title = "tiny"\n' + SCENE_1.format(annotations=annotations) + SCENE_2.format(),
                    encoding="utf-8")
    return path


def frames_of(path: Path) -> list[np.ndarray]:
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]


def test_every_scene_becomes_a_clip_named_by_its_caption(qapp, tmp_path):
    talk = write_talk(tmp_path)
    out = tmp_path / "clips"
    assert record_main(["--talk", str(talk), "--out", str(out), *SMALL]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["01-singular-values-are-learned-one-at-a.mp4", "02-depth-2-sharper.mp4"]
    for name in names:
        frames = frames_of(out / name)
        assert len(frames) == 3 and frames[0].shape == (180, 320, 3)
        assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 0.5  # the clip moves
    # the annotation is drawn: the same talk without it gives a different last frame of scene 1
    bare = tmp_path / "bare"
    bare.mkdir()
    assert record_main(["--talk", str(write_talk(bare, "")), "--out", str(bare / "clips"), *SMALL]) == 0
    with_note = frames_of(out / names[0])[-1].astype(int)
    without = frames_of(bare / "clips" / names[0])[-1].astype(int)
    assert np.abs(with_note - without).max() > 100


def test_clip_names():
    assert slug("Depth: ×2 — deeper is sharper") == "depth-2-deeper-is-sharper"
    assert slug("σ₁ ∞") == "1"  # subscripts read as digits
    assert slug("σ ∞") == "scene"
    assert clip_name(11, "A b", "gif") == "12-a-b.gif"


def test_a_talk_as_gif_frames_have_the_size(qapp, tmp_path):
    talk = write_talk(tmp_path, "")
    out = tmp_path / "gifs"
    assert record_main(["--talk", str(talk), "--out", str(out), "--format", "gif", *SMALL]) == 0
    for p in sorted(out.iterdir()):
        assert p.suffix == ".gif"
        with Image.open(p) as im:
            assert im.size == (320, 180) and im.n_frames == 3


@pytest.mark.parametrize("extra, expect", [
    (["--preset", "sensing_incremental_rank"], "--preset does not go with --talk"),
    (["--format", "avi"], "mp4, gif, webm"),
    (["--format", "gif", "--transparent"], "--format webm"),
])
def test_bad_talk_options_are_one_line_exit_2(qapp, tmp_path, capsys, extra, expect):
    talk = write_talk(tmp_path, "")
    assert record_main(["--talk", str(talk), "--out", str(tmp_path / "clips"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expect in err, err
    assert not (tmp_path / "clips").exists()


def test_bad_talks_are_one_line_exit_2(qapp, tmp_path, capsys):
    bad_panel = tmp_path / "bad.toml"
    bad_panel.write_text('[[scene]]\npreset = "sensing_incremental_rank"\npanels = ["nope"]\n', encoding="utf-8")
    cases = [([str(tmp_path / "none.toml")], "does not exist"), ([str(bad_panel)], "'nope' is not a panel")]
    for argv, expect in cases:
        assert record_main(["--talk", *argv, "--out", str(tmp_path / "clips")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and expect in err, err
    assert record_main(["--talk", str(bad_panel), "--frames", str(tmp_path / "f")]) == 2
    assert "--out DIR" in capsys.readouterr().err
    assert record_main(["--out", str(tmp_path / "x.mp4"), "--format", "gif"]) == 2
    assert "--format chooses the clips of --talk" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
