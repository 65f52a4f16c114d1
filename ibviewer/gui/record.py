"""``ibviewer record``: train a run headless and render a projector-ready animation of its history;
``ibviewer bench record``: how fast frames are made.

    ibviewer record [--preset NAME | --config FILE | --session FILE] [--set key=value ...]
                    (--out FILE.mp4|.gif|.webm|.mov | --frames DIR) [--size WxH|720p|1080p|1440p|4k]
                    [--aspect 16:9|4:3|1:1] [--transparent] [--fps 30] [--seconds S]
                    [--steps N] [--schedule linear|log] [--panels NAME,...] [--theme light|dark]
                    [--quality draft|normal|high] [--x-axis step|log_step|time] [--font-scale F] [--no-caption]
                    [--theory] [--compare KEY=V1,V2 ...] [--single] [--run NAME]
    ibviewer record --talk FILE --out DIR [--format mp4|gif|webm] [--size ...] [--fps ...] [--seconds ...] ...

The run is trained in this process (no worker), then ``fps x seconds`` frames are rendered from its history on a
fixed schedule of steps (``linear``, or ``log``: after a small initialization the dynamics happen on a log time
scale), so the video does not depend on how fast training ran.  Frames are streamed to the encoder thread and
never held in memory; the output is written under a temporary name beside it, read back (frame count, size,
first and last frames decoded) and only then takes the place of an earlier file, so it is whole or absent.
Works with no display (offscreen).

``--size`` is WIDTHxHEIGHT or a preset (720p, 1080p, 1440p, 4k = 3840x2160); ``--aspect`` fits it to 16:9, 4:3
or 1:1 by keeping the height and setting the width (1080p at 4:3 is 1440x1080).  ``--transparent`` draws on a
transparent background for laying over slides: VP9 WebM with alpha, ProRes 4444 MOV, or RGBA PNG frames.
``--talk`` renders every scene of a talk to a clip of its own in a folder (:mod:`ibviewer.gui.record_talk`).

Exit codes: 2 with one line on stderr for bad input, or for an output that cannot be written (a full disk, an
encoder that fails, a read-only destination; the previous file is left as it was); otherwise the rule of
``ibviewer run`` (:func:`ibviewer.core.bookkeeping.exit_code`): 130 when interrupted by Ctrl+C or SIGTERM
(nothing is written, no temporary file or encoder process is left), 1 when a run diverged, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from ibviewer.core.cli_args import UsageError, command_parser, report_error, resolve
from ibviewer.live.series import X_MODES

PROG = "ibviewer record"
DEFAULT_SIZE = "1920x1080"


def make_parser() -> argparse.ArgumentParser:
    p = command_parser(PROG, "Render an animation of a run's history (MP4, GIF or PNG frames).",
                       session="a saved session (.ibvs): render its history")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--out", metavar="FILE", help="output video: FILE.mp4 (H.264), FILE.gif, FILE.webm (VP9 "
                     "with alpha) or FILE.mov (ProRes 4444 with alpha)")
    out.add_argument("--frames", metavar="DIR", help="write numbered PNG frames into the folder DIR instead")
    p.add_argument("--size", default=DEFAULT_SIZE, metavar="WxH",
                   help=f"frame size: WIDTHxHEIGHT or 720p, 1080p, 1440p, 4k (default {DEFAULT_SIZE})")
    p.add_argument("--aspect", metavar="W:H", help="fit the size to 16:9, 4:3 or 1:1 (the height is kept)")
    p.add_argument("--transparent", action="store_true",
                   help="transparent background, to lay over slides (needs .webm, .mov or --frames)")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second (default 30)")
    p.add_argument("--seconds", type=float, default=10.0, metavar="S", help="length of the animation (default 10)")
    p.add_argument("--steps", type=int, metavar="N", help="train to N steps (run.steps); a session trains on to N")
    p.add_argument("--schedule", default="log", help="steps shown by the frames: linear or log (default log)")
    p.add_argument("--panels", metavar="NAME,...", help="panels to show, in order (default: the run's main layout)")
    p.add_argument("--theme", default="light", help="light (white background, thick lines) or dark")
    p.add_argument("--quality", default="normal", help="draft, normal or high (x264 preset and quality)")
    p.add_argument("--x-axis", default=None, help="x axis of the time plots: step, log_step, time or rescaled "
                   "(default: log_step with the log schedule, step with the linear one)")
    p.add_argument("--font-scale", type=float, default=1.0, metavar="F",
                   help="fonts and lines x F (default 1: sized for the frame height, as on a 1080p projector)")
    p.add_argument("--no-caption", action="store_true", help="no caption with the setting and the step counter")
    p.add_argument("--theory", action="store_true",
                   help="every panel's theory overlay (predicted singular values, half-times, reference lines)")
    p.add_argument("--title", metavar="TEXT", help="caption title (default: the preset's title)")
    p.add_argument("--single", action="store_true",
                   help="only the preset's own run (not the runs it compares), or only --run of a session")
    p.add_argument("--run", metavar="NAME", help="the run of a session whose W and setting are shown "
                   "(default: the first); with --single, the only one drawn")
    p.add_argument("--talk", metavar="FILE", help="render every scene of a talk (.toml) to a clip of its own in "
                   "the folder --out DIR (01-<scene>.mp4, ...)")
    p.add_argument("--format", default="mp4", help="with --talk: mp4 (default), gif or webm")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary line")
    return p


def _choice(flag: str, value: str, allowed) -> str:
    if value not in allowed:
        raise UsageError(f"{flag} {value!r} is not allowed; choose one of: {', '.join(allowed)}")
    return value


def parse(argv: list[str]):
    """Arguments checked before any work: raises UsageError / RecordingError / ConfigError (one line)."""
    from ibviewer.core.recording import (
        ALPHA_FORMATS,
        QUALITY,
        RecordingError,
        check_output,
        fit_aspect,
        output_kind,
        parse_size,
    )

    args = make_parser().parse_args(argv)
    if not args.out and not args.frames and not args.talk:
        raise UsageError("give --out FILE.mp4, --out FILE.gif, --out FILE.webm, --out FILE.mov or --frames DIR")
    _choice("--schedule", args.schedule, ("linear", "log"))
    _choice("--theme", args.theme, ("light", "dark"))
    _choice("--quality", args.quality, tuple(QUALITY))
    if args.x_axis is None:
        args.x_axis = "log_step" if args.schedule == "log" else "step"
    _choice("--x-axis", args.x_axis, X_MODES)
    args.size_px = fit_aspect(parse_size(args.size), args.aspect)
    w, h = args.size_px
    if w % 2 or h % 2:
        raise UsageError(f"--size {args.size}: width and height must be even (H.264 with yuv420p)")
    if not (args.fps > 0 and args.fps <= 240):
        raise UsageError(f"--fps {args.fps:g} is not allowed; it must be > 0 and <= 240")
    if not args.seconds > 0:
        raise UsageError(f"--seconds {args.seconds:g} is not allowed; it must be > 0")
    args.n_frames = max(1, round(args.fps * args.seconds))
    if args.n_frames > 1_000_000:
        raise UsageError(f"{args.n_frames} frames is too many; lower --fps or --seconds")
    if args.steps is not None and args.steps < 1:
        raise UsageError(f"--steps {args.steps} is not allowed; it must be >= 1")
    if not 0.2 <= args.font_scale <= 8:
        raise UsageError(f"--font-scale {args.font_scale:g} is not allowed; it must be 0.2 to 8")
    if args.session and args.sets:
        raise UsageError("--set does not apply to --session (a session's runs keep their settings)")
    if args.run and not args.session:
        raise UsageError("--run chooses a run of a --session")
    if args.compare and (args.session or args.single):
        raise UsageError("--compare makes new runs; it does not go with --session or --single")
    if args.talk:
        from ibviewer.gui.record_talk import check_talk_args

        check_talk_args(args, vars(make_parser().parse_args([])))
        return args
    elif args.format != "mp4":
        raise UsageError("--format chooses the clips of --talk; for one recording the --out suffix says it")
    args.panel_names = [s.strip() for s in args.panels.split(",") if s.strip()] if args.panels else None
    if args.panels is not None and not args.panel_names:
        raise UsageError("--panels is empty; give panel names separated by commas")
    if args.frames:
        args.kind = "frames"
        args.target = Path(args.frames)
        check_output(args.target)
        if args.target.exists():
            from ibviewer.core.video import frames_folder_in_use

            if not args.target.is_dir():
                raise RecordingError(f"--frames {args.frames!r} exists and is not a folder")
            why = frames_folder_in_use(args.target)
            if why:
                raise RecordingError(f"--frames {args.frames!r} {why}; choose a new or empty folder")
    else:
        args.kind = output_kind(args.out)
        args.target = check_output(args.out)
        if args.target.is_dir():
            raise RecordingError(f"--out {args.out!r} is a folder")
    if args.transparent and args.kind not in ALPHA_FORMATS:
        raise UsageError(f"--transparent needs --out FILE.webm, --out FILE.mov or --frames DIR, not .{args.kind}")
    return args


def _config(args):
    """The configuration and the runs to train, and the title name: the shared flags, with a recording cadence
    of about two rows per frame (unless the user chose one)."""

    def cadence(cfg, overrides) -> None:
        chosen = any(k == "run.record_every" for k, _ in overrides) or cfg.run.record_every != 0
        if not chosen and cfg.run.steps > 0 and cfg.family != "mlp":
            from ibviewer.core.engine import AUTO_STRIDE

            auto = max(AUTO_STRIDE, cfg.run.steps // 8000)  # the engine's own cadence
            cfg.run.record_every = max(1, min(auto, cfg.run.steps // max(1, 2 * args.n_frames)))

    steps = [] if args.steps is None else [("run.steps", args.steps)]
    resolved = resolve(args, extra=steps, adjust=cadence, preset_runs=not args.single)
    cfg = resolved.cfg
    name = args.preset or (Path(args.config).stem if args.config else (resolved.preset or cfg.problem.kind))
    return cfg, resolved.runs, name


def _ensure_display() -> None:
    if not os.environ.get("QT_QPA_PLATFORM") and not os.environ.get("DISPLAY") and not os.environ.get(
            "WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _bar(total: int, desc: str, unit: str, quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, dynamic_ncols=True)


def train(engine, desc: str, quiet: bool) -> None:
    """Train an Engine, or a RunGroup of compared runs (the bar counts the steps of the longest run)."""
    total = engine.cfg.run.steps if hasattr(engine, "cfg") else max(e.cfg.run.steps for e in engine.engines)
    bar = _bar(total or None, desc, "step", quiet)
    last = [engine.step_count]
    if bar is not None:
        bar.update(engine.step_count)

    def cb(e) -> None:
        if bar is not None:
            bar.update(e.step_count - last[0])
            last[0] = e.step_count

    try:
        engine.run(chunk=1000, callback=cb)
    finally:
        if bar is not None:
            bar.close()


def load_runs(args) -> tuple[list[tuple[str, object]], int, str]:
    """The runs to render, trained: ([(name, engine), ...], index of the shown run, title name).  Several runs
    (a preset that compares runs, --compare, a session with several) are overlaid in every panel."""
    from ibviewer.core.engine import Engine

    if args.session:
        from ibviewer.core.session import load_session

        session = load_session(args.session)
        if not session.runs:
            raise UsageError(f"session {args.session!r} holds no run")
        runs = list(session.runs)
        names = [n for n, _ in runs]
        selected = 0
        if args.run:
            if args.run not in names:
                raise UsageError(f"--run {args.run!r} is not in the session; choose one of: {', '.join(names)}")
            selected = names.index(args.run)
        if args.single:
            runs, selected = [runs[selected]], 0
        _check_panels(args, runs[selected][1].cfg)
        if args.steps is not None:
            for name, engine in runs:
                if args.steps > engine.step_count:
                    engine.set_max_steps(args.steps)
                    train(engine, name, args.quiet)
        return runs, selected, runs[selected][0]
    cfg, runs, name = _config(args)
    _check_panels(args, cfg)  # before any training
    specs = runs or [("run", cfg)]
    if len(specs) == 1:
        engine = Engine(specs[0][1])
        train(engine, name, args.quiet)
        return [(name, engine)], 0, name
    from ibviewer.core.compare import RunGroup
    from ibviewer.live.runs import pretty_name

    # as in the app: the shown run (its W, its setting) is the preset's own config, else the first
    base = cfg.to_dict()
    selected = next((i for i, (_, c) in enumerate(specs) if c.to_dict() == base), 0)
    group = RunGroup(specs)
    train(group, name, args.quiet)
    return [(pretty_name(n), e) for n, e in zip(group.names, group.engines)], selected, name


def _check_panels(args, cfg) -> None:
    if args.panel_names:
        from ibviewer.gui.export import check_panels

        check_panels(args.panel_names, cfg)


def record(args, runs, name: str, selected: int = 0, *, progress=None) -> Path:
    """Render the animation of the runs' histories (``runs``: [(name, engine)], overlaid when several) as
    ``args`` ask; returns the output path."""
    from ibviewer.core.recording import FrameWriter, RecordingError
    from ibviewer.gui.app import create_app
    from ibviewer.gui.export import ExportLayout, animation_rows, animation_theme, render_animation
    from ibviewer.gui.timeline import RunSource
    from ibviewer.live.runs import RUN_COLOURS

    create_app()
    sources = [RunSource.from_engine(e, n) for n, e in runs]
    source = sources[selected]
    source.annotations = tuple(getattr(args, "annotations", ())) or source.annotations
    if source.n == 0:
        raise RecordingError("the run recorded no history: nothing to render")
    compare = None
    if len(sources) > 1:
        compare = [(s, n, RUN_COLOURS[i % len(RUN_COLOURS)]) for i, (s, (n, _)) in enumerate(zip(sources, runs))]
        source.name = name
    w, h = args.size_px
    theme = animation_theme(args.theme, h, args.kind, font_scale=args.font_scale,
                            transparent=getattr(args, "transparent", False))
    from ibviewer.gui.export import available_panels

    state = {name: {"theory": True} for name in available_panels(source.cfg)} if args.theory else None
    layout = ExportLayout(source, args.panel_names, (w, h), theme, x_mode=args.x_axis, caption=not args.no_caption,
                          reveal="grow", title=args.title, compare=compare, panel_state=state)
    try:
        total = max(e.step_count for _, e in runs)
        rows = animation_rows(layout, args.n_frames, args.schedule, total_steps=total,
                              start=getattr(args, "first_step", 0))
        with FrameWriter(args.target, (w, h), args.fps, kind=args.kind, quality=args.quality,
                         alpha=getattr(args, "transparent", False)) as writer:
            render_animation(layout, rows, writer, progress=progress)  # closes the writer, or cancels it
        return writer.path
    finally:
        layout.close_layout()


def main(argv: list[str] | None = None) -> int:
    """``ibviewer record``.  Exit codes: 2 for bad input or an output that cannot be written (one line; the
    previous file is left as it was), else the rule of every command that trains
    (:func:`ibviewer.core.bookkeeping.exit_code`): 130 when interrupted (Ctrl+C or SIGTERM; nothing is written),
    1 when a run diverged (its animation is written), else 0."""
    from ibviewer.core.interrupts import interrupt_once

    argv = list(sys.argv[1:] if argv is None else argv)
    with interrupt_once() as interrupts:  # a second Ctrl+C or SIGTERM never interrupts the clean-up
        try:
            return _main(argv, interrupts)
        except KeyboardInterrupt:  # between the steps below (their own handlers say what was interrupted)
            print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
            return 130


def _main(argv: list[str], interrupts) -> int:
    from ibviewer.core.bookkeeping import exit_code
    from ibviewer.core.config import ConfigError
    from ibviewer.core.recording import RecordingError
    from ibviewer.core.session import SessionError

    _ensure_display()
    try:
        args = parse(argv)
    except (UsageError, RecordingError, ConfigError) as exc:
        return report_error(PROG, exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    t0 = time.perf_counter()
    if args.talk:
        from ibviewer.gui.record_talk import main_talk

        return main_talk(args, interrupts)
    try:
        runs, selected, name = load_runs(args)
    except (UsageError, RecordingError, ConfigError, SessionError) as exc:
        return report_error(PROG, exc)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted while training; nothing was written", file=sys.stderr)
        return 130
    for run_name, engine in runs:
        if engine.status == "diverged" and not args.quiet:
            who = f"{run_name}: " if len(runs) > 1 else ""
            print(f"{PROG}: note: {who}{engine.message}", file=sys.stderr)
    bar = _bar(args.n_frames, "frames", "frame", args.quiet)

    def progress(done: int, total: int):
        if bar is not None:
            bar.update(done - bar.n)
        interrupts.check()  # a signal while Qt rendered the frame is raised here, between frames
        if done == total:
            interrupts.resume()  # the frames are made; finishing the file is Qt-free

    try:
        with interrupts.deferring():
            path = record(args, runs, name, selected, progress=progress)
    except (UsageError, RecordingError, ConfigError) as exc:
        return report_error(PROG, exc)
    except OSError as exc:  # the writer names its output; anything else still gets one line
        return report_error(PROG, RecordingError(f"cannot write {str(args.target)!r}: {exc.strerror or exc}"))
    except KeyboardInterrupt:
        kept = "the previous one was left as it was" if args.target.exists() else "nothing was written"
        print(f"{PROG}: interrupted; {kept}", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        w, h = args.size_px
        what = "PNG frames in" if args.kind == "frames" else args.kind.upper()
        runs_text = f", {len(runs)} runs" if len(runs) > 1 else ""
        print(f"wrote {what} {path} ({args.n_frames} frames, {w}x{h}, {args.fps:g} fps, steps 0 to "
              f"{max(e.step_count for _, e in runs):,} on a {args.schedule} schedule{runs_text}) in "
              f"{time.perf_counter() - t0:.1f} s")
    return exit_code([e.status for _, e in runs], False)


# ====================================================================================================== bench
BENCH_PROG = "ibviewer bench record"


def _rss_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return float("nan")


def _peak_mb(who: int) -> float:
    import resource

    kb = resource.getrusage(who).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def make_bench_parser() -> argparse.ArgumentParser:
    """``ibviewer bench record``'s arguments: the shared --preset/--config/--set (no --compare: one run)."""
    p = command_parser(BENCH_PROG, "Frames per second and memory of rendering MP4s of a recorded history.",
                       compare=False)
    p.add_argument("--frames", default="1000,10000", help="frame counts, comma-separated (default 1000,10000)")
    p.add_argument("--size", default=DEFAULT_SIZE)
    p.add_argument("--steps", type=int, default=20000, help="steps of the recorded run (default 20000)")
    p.add_argument("--theme", default="light")
    p.add_argument("--quality", default="normal")
    p.add_argument("--schedule", default="linear")
    p.add_argument("--keep", metavar="DIR", help="keep the videos in DIR (default: a temporary folder)")
    return p


def bench_main(argv: list[str] | None = None) -> int:
    """Render 1920x1080 MP4s of a recorded history; one JSON line per frame count (frames, frames_per_s,
    peak_rss_mb, ...).  Targets: >= 30 frames/s; memory that does not grow with the number of frames."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = make_bench_parser()
    from ibviewer.core.config import ConfigError
    from ibviewer.core.recording import RecordingError, parse_size

    try:
        args = p.parse_args(argv)
        counts = [int(v) for v in args.frames.split(",") if v.strip()]
        if not counts or min(counts) < 1:
            raise UsageError("--frames must list frame counts >= 1")
        size = parse_size(args.size)
        _choice("--schedule", args.schedule, ("linear", "log"))
        _choice("--theme", args.theme, ("light", "dark"))
        # one recorded row per step: every frame shows a different state (an honest frame rate)
        resolved = resolve(args, extra=[("run.steps", args.steps), ("run.record_every", 1),
                                        ("run.history_rows", max(20000, args.steps + 10))])
        cfg, preset = resolved.cfg, resolved.preset
        if args.keep and not Path(args.keep).is_dir():
            raise UsageError(f"--keep {args.keep!r} is not a folder")
    except (UsageError, ValueError, ConfigError, RecordingError) as exc:
        return report_error(BENCH_PROG, exc)
    except SystemExit as exc:
        return int(exc.code or 0)
    _ensure_display()
    import resource

    from ibviewer.core.engine import Engine
    from ibviewer.core.recording import FrameWriter
    from ibviewer.gui.app import create_app
    from ibviewer.gui.export import ExportLayout, render_animation
    from ibviewer.gui.themes import get_theme
    from ibviewer.gui.timeline import RunSource

    engine = Engine(cfg)
    t = time.perf_counter()
    engine.run(chunk=2000)
    train_s = time.perf_counter() - t
    create_app()
    source = RunSource.from_engine(engine, preset)
    theme = get_theme(args.theme).scaled(size[1] / 1080)
    folder = args.keep or tempfile.mkdtemp(prefix="ibviewer-bench-record-")
    for n in counts:
        layout = ExportLayout(source, None, size, theme, x_mode="step" if args.schedule == "linear" else "log_step")
        rows = source.schedule_rows(n, args.schedule)
        out = Path(folder) / f"bench_{n}.mp4"
        rss0 = _rss_mb()
        peak = [rss0]

        def progress(done: int, total: int, peak=peak) -> None:
            if done % 50 == 0:
                peak[0] = max(peak[0], _rss_mb())

        t0 = time.perf_counter()
        with FrameWriter(out, size, 30, quality=args.quality) as writer:
            render_animation(layout, rows, writer, progress=progress)
        dt = time.perf_counter() - t0
        layout.close_layout()
        res = {
            "frames": n,
            "frames_per_s": round(n / dt, 1),
            "seconds": round(dt, 2),
            "peak_rss_mb": round(max(peak[0], _rss_mb()), 1),
            "rss_start_mb": round(rss0, 1),
            "rss_end_mb": round(_rss_mb(), 1),
            "process_peak_rss_mb": round(_peak_mb(resource.RUSAGE_SELF), 1),
            "ffmpeg_peak_rss_mb": round(_peak_mb(resource.RUSAGE_CHILDREN), 1),
            "distinct_frames": len({int(r) for r in rows}),
            "size": f"{size[0]}x{size[1]}",
            "mp4_mb": round(out.stat().st_size / 2**20, 2),
            "history_rows": source.n,
            "train_seconds": round(train_s, 2),
            "preset": preset,
            "theme": args.theme,
            "quality": args.quality,
            "cpus": os.cpu_count(),
        }
        if not args.keep:
            out.unlink(missing_ok=True)
        print(json.dumps(res), flush=True)
    if not args.keep:
        try:
            os.rmdir(folder)
        except OSError:
            pass
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
