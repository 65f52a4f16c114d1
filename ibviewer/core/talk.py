"""A talk: an ordered list of scenes, each an experiment shown a certain way, read from a TOML file.

A scene names a preset or a session file, optional ``set`` overrides and ``compare`` values (the runs it shows),
the panels to show (default: the experiment's layout), a step range (``steps = 3000`` or ``[500, 3000]``: the
runs are trained silently to the first, then played to the second), how fast to play (``speed``, steps per
frame, 0 = as fast as possible) and how a recording spaces its frames (``schedule``: ``log`` or ``linear``), the
x axis, a caption for the audience and notes for the speaker::

    title = "The implicit bias of gradient descent"

    [[scene]]
    preset = "sensing_depth_low_rank"
    compare = { "model.depth" = [1, 2, 3] }
    panels = ["loss", "singular_values"]
    steps = 4000
    caption = "Deeper factorizations find lower rank"
    notes = "Point at σ₄…σ₂₀: they stay at the initialization scale for depth 3."

A talk is validated whole when it is read, like a configuration: anything wrong is one line that names the scene
and the key (:class:`TalkError`), before anything is shown.  Qt-free: ``ibviewer gui --talk`` plays it live
(:mod:`ibviewer.gui.talk`), ``ibviewer record --talk`` renders a clip per scene.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibviewer.core.annotations import Annotation, AnnotationError, annotation_from_dict
from ibviewer.core.config import Config, ConfigError, build_config, preset_names

#: the x axes a scene may ask for (the app's own, :data:`ibviewer.live.series.X_MODES`, which the core may not
#: import; a test keeps them in step)
X_MODES = ("step", "log_step", "time", "rescaled")

#: keys a scene may have, with what each is
SCENE_KEYS = {
    "preset": "a preset name (see 'ibviewer presets')",
    "session": "a session file (.ibvs), relative to the talk file",
    "set": "a table of dotted config keys and values",
    "compare": "a table of dotted config keys and lists of values (every combination is a run)",
    "panels": "a list of panel names to show",
    "steps": "the last step, or [first, last]",
    "speed": "steps per frame, 0 = as fast as possible",
    "schedule": "'log' or 'linear'",
    "x_axis": f"one of {', '.join(X_MODES)}",
    "theory": "true to draw the shown panels' theory overlays (predictions, limits, windows)",
    "caption": "text shown above the plots",
    "notes": "text for the speaker",
    "annotations": "a list of tables: panel, step, y, text (and arrow = false for none)",
}
SCHEDULES = ("log", "linear")


class TalkError(ValueError):
    """A talk file that cannot be used: one line naming the scene and key."""


@dataclass
class Scene:
    """One validated scene (see the module's docstring)."""

    index: int
    preset: str | None
    session: Path | None
    overrides: list[tuple[str, Any]]
    runs: list[tuple[str, Config]]
    panels: list[str]
    first: int
    last: int
    speed: int | None
    schedule: str
    x_axis: str | None
    caption: str
    notes: str
    annotations: list[Annotation] = field(default_factory=list)
    #: the panels' theory overlays on (False: off, whatever the scene before had)
    theory: bool = False

    @property
    def cfg(self) -> Config:
        """The scene's own configuration (its first run's)."""
        return self.runs[0][1]

    @property
    def title(self) -> str:
        """What the scene is called: its caption's first line, else its preset's title, else 'scene N'."""
        if self.caption:
            return self.caption.splitlines()[0]
        meta = self.cfg.meta or {}
        return str(meta.get("title") or f"scene {self.index + 1}")


@dataclass
class Talk:
    path: Path
    title: str
    scenes: list[Scene] = field(default_factory=list)


def _where(i: int, key: str | None = None) -> str:
    return f"scene {i + 1}" + (f", key {key!r}" if key else "")


def _scene(i: int, raw: Any, base: Path) -> Scene:
    from ibviewer.core.compare import expand, preset_runs

    if not isinstance(raw, dict):
        raise TalkError(f"{_where(i)} must be a table ([[scene]] with key = value lines)")
    unknown = sorted(set(raw) - set(SCENE_KEYS))
    if unknown:
        raise TalkError(f"{_where(i, unknown[0])} is not a scene key; allowed: {', '.join(SCENE_KEYS)}")
    preset, session = raw.get("preset"), raw.get("session")
    if (preset is None) == (session is None):
        raise TalkError(f"{_where(i)} needs exactly one of 'preset' or 'session'")
    if preset is not None and preset not in preset_names():
        raise TalkError(f"{_where(i, 'preset')}: unknown preset {preset!r}; see 'ibviewer presets'")
    path = None
    if session is not None:
        if not isinstance(session, str):
            raise TalkError(f"{_where(i, 'session')} must be a file name")
        path = (base / session).resolve()
        if not path.is_file():
            raise TalkError(f"{_where(i, 'session')}: {str(path)!r} does not exist")
        if raw.get("set") or raw.get("compare"):
            raise TalkError(f"{_where(i)}: a session is shown as saved; it takes no 'set' or 'compare'")
    sets = raw.get("set", {})
    if not isinstance(sets, dict):
        raise TalkError(f"{_where(i, 'set')} must be a table of dotted keys, e.g. set = {{ \"model.depth\" = 2 }}")
    overrides = list(sets.items())
    compare = raw.get("compare", {})
    if not isinstance(compare, dict) or not all(isinstance(v, list) and v for v in compare.values()):
        raise TalkError(f"{_where(i, 'compare')} must map dotted keys to lists of values, e.g. "
                        "compare = { \"model.depth\" = [1, 2, 3] }")
    runs: list[tuple[str, Config]] = []
    if preset is not None:
        try:
            cfg = build_config(preset=preset, overrides=overrides)
            runs = expand(cfg, list(compare.items())) if compare else preset_runs(preset, base=cfg)
        except ConfigError as exc:
            raise TalkError(f"{_where(i)}: {' '.join(str(exc).split())}") from None
    else:
        from ibviewer.core.session import SessionError, peek_session

        try:
            peek_session(path)
        except (SessionError, ValueError) as exc:
            raise TalkError(f"{_where(i, 'session')}: {' '.join(str(exc).split())}") from None
        runs = [("run", build_config())]  # stands in until the session is opened: its runs are its own
    panels = raw.get("panels", [])
    if not isinstance(panels, list) or not all(isinstance(p, str) for p in panels):
        raise TalkError(f"{_where(i, 'panels')} must be a list of panel names, e.g. [\"loss\", \"singular_values\"]")
    first, last = _steps(i, raw.get("steps"), runs[0][1])
    speed = raw.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, int) or speed < 0):
        raise TalkError(f"{_where(i, 'speed')} = {speed!r} is not allowed; it must be a whole number >= 0 "
                        "(steps per frame, 0 = as fast as possible)")
    schedule = raw.get("schedule", "log")
    if schedule not in SCHEDULES:
        raise TalkError(f"{_where(i, 'schedule')} = {schedule!r} is not allowed; choose from: {', '.join(SCHEDULES)}")
    x_axis = raw.get("x_axis")
    if x_axis is not None and x_axis not in X_MODES:
        raise TalkError(f"{_where(i, 'x_axis')} = {x_axis!r} is not allowed; choose from: {', '.join(X_MODES)}")
    theory = raw.get("theory", False)
    if not isinstance(theory, bool):
        raise TalkError(f"{_where(i, 'theory')} = {theory!r} is not allowed; it must be true or false")
    for key in ("caption", "notes"):
        if not isinstance(raw.get(key, ""), str):
            raise TalkError(f"{_where(i, key)} must be text")
    notes = raw.get("annotations", [])
    if not isinstance(notes, list):
        raise TalkError(f"{_where(i, 'annotations')} must be a list of tables, e.g. "
                        "annotations = [{ panel = \"loss\", step = 300, y = 1.0, text = \"σ₁ learned\" }]")
    try:
        annotations = [annotation_from_dict(d, f"{_where(i)}, annotation {k + 1}") for k, d in enumerate(notes)]
    except AnnotationError as exc:
        raise TalkError(str(exc)) from None
    return Scene(i, preset, path, overrides, runs, list(panels), first, last, speed, schedule, x_axis,
                 str(raw.get("caption", "")).strip(), str(raw.get("notes", "")).strip(), annotations, theory)


def _steps(i: int, value: Any, cfg: Config) -> tuple[int, int]:
    """(first, last) of a scene's ``steps`` (default: from 0 to the config's run.steps)."""
    if value is None:
        last = int(cfg.run.steps)
        if last <= 0:
            raise TalkError(f"{_where(i, 'steps')}: the experiment has no step limit (run.steps = 0); "
                            "give the scene one, e.g. steps = 3000")
        return 0, last
    pair = value if isinstance(value, list) else [0, value]
    if (len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
            or not 0 <= pair[0] < pair[1]):
        raise TalkError(f"{_where(i, 'steps')} = {value!r} is not allowed; give the last step (> 0) or "
                        "[first, last] with 0 <= first < last")
    return int(pair[0]), int(pair[1])


def load_talk(path: str | Path) -> Talk:
    """Read and check a talk file whole; :class:`TalkError` (one line) for anything wrong."""
    path = Path(path)
    if not path.is_file():
        raise TalkError(f"talk file {str(path)!r} does not exist" if not path.exists()
                        else f"talk file {str(path)!r} is not a file")
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise TalkError(f"talk file {str(path)!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise TalkError(f"talk file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise TalkError(f"talk file {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    unknown = sorted(set(raw) - {"title", "scene"})
    if unknown:
        raise TalkError(f"talk key {unknown[0]!r} is not allowed; a talk has 'title' and [[scene]] tables")
    scenes = raw.get("scene")
    if not isinstance(scenes, list) or not scenes:
        raise TalkError(f"talk file {str(path)!r} has no scenes; add [[scene]] tables")
    title = raw.get("title", path.stem)
    if not isinstance(title, str):
        raise TalkError("talk key 'title' must be text")
    return Talk(path, title, [_scene(i, s, path.parent) for i, s in enumerate(scenes)])


def example_talk() -> Path:
    """The talk that ships with ibviewer: the story of implicit bias in five scenes."""
    from ibviewer.core.resources import resources_dir

    return resources_dir() / "talks" / "implicit_bias.toml"
