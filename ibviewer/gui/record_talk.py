"""``ibviewer record --talk FILE --out DIR``: one clip per scene of a talk, for slides that embed videos.

Each scene is trained as it says (its preset and overrides, the runs it compares, or its session trained on to
its last step), then rendered from its first to its last step on its schedule, with its panels, its x axis, its
caption as the clip's title and its annotations drawn.  The clips are ``DIR/01-<slug>.mp4``, ``02-...`` (MP4 by
default; ``--format gif`` or ``webm``), each written whole or not at all by
:class:`~ibviewer.core.recording.FrameWriter`; every other option of ``ibviewer record`` (size, aspect, fps,
seconds, theme, quality, transparent, font scale) applies to every clip.  The talk is checked whole (every
scene, every panel it names) before anything is trained.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from pathlib import Path

from ibviewer.core.cli_args import UsageError

#: what --format may name, and the file suffix of each
TALK_FORMATS = ("mp4", "gif", "webm")
#: options of ``ibviewer record`` that choose one experiment; a talk's scenes do
EXPERIMENT_OPTIONS = ("preset", "config", "session", "sets", "compare", "run", "single", "steps", "panels", "title")


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe short form of ``text``: ASCII letters and digits joined by '-' ('scene' when none)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    out = ""
    for w in words:
        if len(out) + len(w) + 1 > limit:
            break
        out = f"{out}-{w}" if out else w
    return out or "scene"


def clip_name(index: int, title: str, kind: str) -> str:
    return f"{index + 1:02d}-{slug(title)}.{kind}"


def check_talk_args(args, parser_defaults: dict) -> None:
    """--talk goes with --out DIR (a folder, made if missing) and options that apply to every clip; one line
    (UsageError) otherwise.  Sets ``args.talk_obj``, ``args.out_dir`` and ``args.kind``."""
    from ibviewer.core.talk import TalkError, load_talk
    from ibviewer.gui.talk import check_panels

    given = [k for k in EXPERIMENT_OPTIONS if getattr(args, k, None) != parser_defaults.get(k)]
    if given:
        flag = "--" + ("set" if given[0] == "sets" else given[0].replace("_", "-"))
        raise UsageError(f"{flag} does not go with --talk: each scene says its own experiment")
    if args.frames:
        raise UsageError("--talk writes one clip per scene: give --out DIR, not --frames")
    if not args.out:
        raise UsageError("--talk needs --out DIR, the folder for the clips")
    if args.format not in TALK_FORMATS:
        raise UsageError(f"--format {args.format!r} is not allowed; choose one of: {', '.join(TALK_FORMATS)}")
    if args.transparent and args.format != "webm":
        raise UsageError("--transparent with --talk needs --format webm")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {args.out!r} is not a folder; --talk writes one clip per scene into a folder")
    parent = out.parent if str(out.parent) else Path(".")
    if not out.exists() and not parent.is_dir():
        raise UsageError(f"--out {args.out!r}: folder {str(parent)!r} does not exist")
    try:
        talk = load_talk(args.talk)
        check_panels(talk)
    except TalkError as exc:
        raise UsageError(str(exc)) from None
    args.talk_obj, args.out_dir, args.kind = talk, out, args.format


def _cadence(cfg, last: int, n_frames: int) -> None:
    """About two history rows per frame (unless the scene chose a cadence), as ``ibviewer record`` does."""
    if cfg.run.record_every == 0 and last > 0 and cfg.family != "mlp":
        from ibviewer.core.engine import AUTO_STRIDE

        auto = max(AUTO_STRIDE, last // 8000)
        cfg.run.record_every = max(1, min(auto, last // max(1, 2 * n_frames)))


def scene_runs(scene, n_frames: int, quiet: bool):
    """The scene's runs trained to its last step: ([(name, engine)], index of the shown run)."""
    from ibviewer.core.engine import Engine
    from ibviewer.gui.record import train

    if scene.session is not None:
        from ibviewer.core.session import load_session

        runs = list(load_session(scene.session).runs)
        for name, engine in runs:
            if scene.last > engine.step_count:
                engine.set_max_steps(scene.last)
                train(engine, name, quiet)
        return runs, 0
    specs = []
    for name, cfg in scene.runs:
        cfg = cfg.copy()
        cfg.run.steps = scene.last
        _cadence(cfg, scene.last, n_frames)
        specs.append((name, cfg))
    if len(specs) == 1:
        engine = Engine(specs[0][1])
        train(engine, scene.title, quiet)
        return [(scene.title, engine)], 0
    from ibviewer.core.compare import RunGroup
    from ibviewer.live.runs import pretty_name

    group = RunGroup(specs)
    train(group, scene.title, quiet)
    return [(pretty_name(n), e) for n, e in zip(group.names, group.engines)], 0


def scene_args(args, scene, index: int) -> argparse.Namespace:
    """``ibviewer record``'s arguments for one scene's clip."""
    a = argparse.Namespace(**vars(args))
    a.target = args.out_dir / clip_name(index, scene.title, args.kind)
    a.panel_names = list(scene.panels) or None
    a.schedule = scene.schedule
    a.x_axis = scene.x_axis or ("log_step" if scene.schedule == "log" else "step")
    a.title = scene.caption or scene.title
    a.first_step = scene.first
    a.annotations = tuple(scene.annotations)
    a.theory = scene.theory or args.theory
    return a


def record_talk(args, progress_for=None, report=None, statuses: list[str] | None = None) -> list[Path]:
    """Train and render every scene of ``args.talk_obj`` into ``args.out_dir``; returns the clips' paths.
    ``progress_for(index, scene)`` gives the per-frame progress callback of one clip; ``report(line)`` is told
    each clip written; ``statuses`` collects every run's final status (for the exit code)."""
    from ibviewer.gui.record import record

    args.out_dir.mkdir(exist_ok=True)
    paths = []
    for i, scene in enumerate(args.talk_obj.scenes):
        runs, selected = scene_runs(scene, args.n_frames, args.quiet)
        if statuses is not None:
            statuses.extend(e.status for _, e in runs)
        a = scene_args(args, scene, i)
        path = record(a, runs, scene.title, selected, progress=progress_for(i, scene) if progress_for else None)
        paths.append(path)
        if report is not None:
            report(f"scene {i + 1}: wrote {path} (steps {scene.first:,} to {scene.last:,})")
    return paths


def main_talk(args, interrupts) -> int:
    """``ibviewer record --talk``'s work after its arguments were checked; the exit codes of ``ibviewer
    record`` (2 with one line for an output that cannot be written, 130 when interrupted -- the clips already
    written are kept, the one being made is not --, 1 when a run diverged, else 0)."""
    import sys
    import time

    from ibviewer.core.bookkeeping import exit_code
    from ibviewer.core.cli_args import report_error
    from ibviewer.core.config import ConfigError
    from ibviewer.core.recording import RecordingError
    from ibviewer.core.session import SessionError
    from ibviewer.gui.record import PROG, _bar

    t0 = time.perf_counter()
    statuses: list[str] = []
    bars = []

    def progress_for(i, scene):
        bar = _bar(args.n_frames, f"scene {i + 1}", "frame", args.quiet)
        bars.append(bar)

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.update(done - bar.n)
            interrupts.check()
            if done == total:
                interrupts.resume()

        return progress

    def report(line: str) -> None:
        for bar in bars:
            if bar is not None:
                bar.close()
        bars.clear()
        if not args.quiet:
            print(line, file=sys.stderr)

    try:
        with interrupts.deferring():
            paths = record_talk(args, progress_for, report, statuses)
    except (UsageError, RecordingError, ConfigError, SessionError) as exc:
        return report_error(PROG, exc)
    except OSError as exc:
        return report_error(PROG, RecordingError(f"cannot write into {str(args.out_dir)!r}: {exc.strerror or exc}"))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; the clips already written were kept, the one being made was not",
              file=sys.stderr)
        return 130
    finally:
        for bar in bars:
            if bar is not None:
                bar.close()
    if not args.quiet:
        w, h = args.size_px
        print(f"wrote {len(paths)} clips ({args.kind.upper()}, {w}x{h}, {args.n_frames} frames each) into "
              f"{args.out_dir} in {time.perf_counter() - t0:.1f} s")
    return exit_code(statuses, False)
