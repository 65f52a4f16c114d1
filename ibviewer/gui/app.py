"""``ibviewer gui``: open the live app.

    ibviewer gui [--preset NAME | --config FILE | --session FILE.ibvs] [--set key=value ...]
                 [--compare KEY=V1,V2,...] [--single] [--play] [--speed N] [--x-axis step|log_step|time|rescaled]
                 [--theory] [--screenshot FILE.png] [--quit-after SECONDS]

A preset opens with all the runs it compares (``--single``: only its own config); ``--compare`` sets up runs
that differ in one key (repeatable: every combination).  With ``--screenshot`` the window (at its normal size)
is saved when ``--quit-after`` expires (5 s if not given).  Bad arguments, a bad configuration or an unreadable
session print one line on stderr and return 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ibviewer.core.cli_args import UsageError, command_parser, report_error, resolve
from ibviewer.core.config import ConfigError
from ibviewer.live.series import X_MODES

PROG = "ibviewer gui"


def make_parser() -> argparse.ArgumentParser:
    p = command_parser(PROG, "Open ibviewer's live window.",
                       session="session file (.ibvs) to open: its runs and view, as saved")
    p.add_argument("--single", action="store_true", help="a preset's own config only, not the runs it compares")
    p.add_argument("--theory", action="store_true", help="turn on every panel's theory overlay")
    p.add_argument("--play", action="store_true", help="start training at once")
    p.add_argument("--speed", type=int, default=None, metavar="N",
                   help="steps per frame (30 frames/s), 0 = as fast as possible; default: run.steps in about 20 s")
    p.add_argument("--x-axis", choices=X_MODES, default="log_step", help="x axis of the plots (default: log_step)")
    p.add_argument("--talk", metavar="FILE",
                   help="play a talk (a TOML list of scenes) in presentation mode: PageDown/PageUp or Right/Left "
                        "go from scene to scene, N shows the speaker's notes; e.g. resources/talks/implicit_bias.toml")
    p.add_argument("--present", nargs="?", const="", default=None, metavar="PANEL",
                   help="open in presentation mode (P in the app): the plots alone, full screen, large text; "
                        "PANEL (e.g. loss, singular_values) shows that panel alone")
    p.add_argument("--screenshot", metavar="FILE.png", help="save the window as PNG when --quit-after expires")
    p.add_argument("--quit-after", type=float, metavar="SECONDS", help="close the window after this many seconds")
    return p


def parse(argv: list[str]):
    """Parse arguments and resolve the config; raises UsageError / ConfigError with a one-line message."""
    args = make_parser().parse_args(argv)
    if args.quit_after is not None and not args.quit_after >= 0:
        raise UsageError(f"--quit-after {args.quit_after} is not allowed; it must be >= 0 seconds")
    if args.speed is not None and args.speed < 0:
        raise UsageError(f"--speed {args.speed} is not allowed; it must be >= 0 (0 = as fast as possible)")
    if args.screenshot:
        shot = Path(args.screenshot)
        if shot.suffix.lower() != ".png":
            raise UsageError(f"--screenshot {args.screenshot!r} must name a .png file")
        if not shot.parent.resolve().is_dir():
            raise UsageError(f"--screenshot {args.screenshot!r}: the folder {str(shot.parent)!r} does not exist")
        if args.quit_after is None:
            args.quit_after = 5.0
    if args.session:
        from ibviewer.core.session import peek_session

        peek_session(args.session)  # a file that is not a session (or of a newer format): one line, exit 2
        if args.compare or args.sets:
            raise UsageError("--session opens the runs as saved; it takes no --set or --compare")
    args.talk_obj = None
    if args.talk:
        from ibviewer.core.talk import load_talk
        from ibviewer.gui.talk import check_panels

        if args.preset or args.config or args.session or args.sets or args.compare:
            raise UsageError("--talk names its scenes' experiments; it takes no --preset, --config, --session, "
                             "--set or --compare")
        args.talk_obj = load_talk(args.talk)
        check_panels(args.talk_obj)
        first = args.talk_obj.scenes[0]
        args.preset = first.preset
    resolved = resolve(args, preset_runs=not args.single and not args.session)
    args.runs = resolved.runs
    if args.present and not args.session:
        from ibviewer.gui.docks import layout_for

        cols, tabs = layout_for(resolved.cfg, [c for _, c in args.runs or ()] or [resolved.cfg])
        names = [n for col in cols for n in col] + [t for t, _ in tabs]
        if args.present not in names:
            raise UsageError(f"--present {args.present!r} is not a panel of this experiment; choose from: "
                             + ", ".join(names))
    return args, resolved.cfg, resolved.preset


def create_app():
    """The QApplication (reused if one exists), with a font size readable on a projector."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        _quiet_offscreen_warnings()
        app = QApplication([sys.argv[0] if sys.argv else "ibviewer"])
        app.setApplicationName("ibviewer")
        app.setOrganizationName("ibviewer")
        f = app.font()
        if f.pointSizeF() > 0 and f.pointSizeF() < 10.5:
            f.setPointSizeF(10.5)
            app.setFont(f)
    return app


def _quiet_offscreen_warnings() -> None:
    """Drop the offscreen platform's 'does not support propagateSizeHints()' notes; pass on everything else."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message):
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    previous = qInstallMessageHandler(handler)
    _quiet_offscreen_warnings.handler = handler  # keep it alive


def no_display_reason() -> str:
    """Why a window cannot open here (Linux without X or Wayland and no Qt platform chosen), else ''."""
    import os

    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return ""
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return ""
    return ("no display to open the window on; run it on a desktop, under xvfb-run, or with "
            "QT_QPA_PLATFORM=offscreen (e.g. with --screenshot); headless training: ibviewer run")


def main(argv: list[str] | None = None, *, end_process: bool = False) -> int:
    """``ibviewer gui``; ``end_process``: once the window has closed, end the process at once (:func:`end_now`)
    instead of returning (the command line's choice; a caller in the same process keeps the default)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, cfg, preset = parse(argv)
    except (UsageError, ConfigError, ValueError) as exc:  # ValueError: a SessionError
        return report_error(PROG, exc)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)

    no_display = no_display_reason()
    if no_display:
        print(f"{PROG}: error: {no_display}", file=sys.stderr)
        return 2

    from PySide6.QtCore import QTimer

    from ibviewer.gui.export_ui import Recording
    from ibviewer.gui.window import MainWindow

    app = create_app()
    selected = 0
    if args.runs:
        base = cfg.to_dict()
        selected = next((i for i, (_, c) in enumerate(args.runs) if c.to_dict() == base), 0)
    win = MainWindow(cfg, preset=preset, play=args.play, speed=args.speed, x_mode=args.x_axis, runs=args.runs,
                     selected=selected, session=args.session, restore_geometry=not args.screenshot,
                     recording=Recording)
    if args.theory:
        for p in win.panels.values():
            if getattr(p, "theory_box", None) is not None:
                p.set_theory(True)
    win.show()
    if args.present is not None or args.talk_obj is not None:
        win.presentation.enter(args.present or None)
    if args.talk_obj is not None:
        from ibviewer.gui.talk import TalkPlayer

        win.talk = TalkPlayer(win, args.talk_obj, autoplay=args.play)
        win.talk.open_scene(0)

    def finish() -> None:
        if args.screenshot:
            app.processEvents()
            if not win.grab().save(args.screenshot):
                print(f"{PROG}: error: cannot write {args.screenshot}", file=sys.stderr)
                finish.code = 1
        win.close()

    finish.code = 0
    if args.quit_after is not None:
        QTimer.singleShot(int(args.quit_after * 1000), finish)

    # Ctrl+C in the terminal, or SIGTERM, closes the window as its close button does: the worker stops, an
    # export in progress is cancelled (Python handles signals only when the event loop lets it run)
    previous = {s: signal.signal(s, lambda *_: request_close(win)) for s in (signal.SIGINT, signal.SIGTERM)}
    tick = QTimer()
    tick.timeout.connect(_noop)
    tick.start(SIGNAL_TICK_MS)
    try:
        app.exec()
    finally:
        tick.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        win.shutdown()
    if end_process:
        end_now(finish.code)
    return finish.code


#: how often the event loop lets Python run its signal handlers (the most a Ctrl+C or SIGTERM waits to close)
SIGNAL_TICK_MS = 100


def _noop() -> None:
    pass


def close_window(win) -> None:
    """Close ``win`` unless it is already gone (a second Ctrl+C after the first closed and deleted it)."""
    import shiboken6

    if shiboken6.isValid(win):
        win.close()


def end_now(code: int) -> None:
    """End the process now, once the app has closed: its settings are saved, its worker stopped, its exports
    finished or removed, and nothing is left to write.  Python's own teardown of the Qt, pyqtgraph and torch
    objects took 0.25 s on a quiet 2-core host and 3 s under load; closing the window must end the app at once
    (docs/benchmarks.md, ``ibviewer bench close``)."""
    import os

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def request_close(win) -> None:
    """Close ``win`` from the event loop, for a signal handler: Python runs a handler between any two bytecodes
    of the GUI thread, and closing there stopped the worker in the middle of a command being sent to it."""
    from PySide6.QtCore import QTimer

    QTimer.singleShot(0, lambda: close_window(win))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
