"""ibviewer's command line: ``run``, ``presets``, ``bench`` and (with Qt) ``gui``.

Bad input exits with code 2 and one line that names what is wrong and what is allowed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ibviewer.core.bookkeeping import exit_code  # noqa: F401  (the one exit-code rule of the commands that train)
from ibviewer.core.cli_args import ArgumentParser, UsageError, config_parent, report_error, resolve
from ibviewer.core.config import DEFAULT_PRESET, ConfigError, preset_info, preset_names
from ibviewer.core.config_docs import keys_help
from ibviewer.core.interrupts import terminate_as_interrupt

EPILOG = f"""commands:
  ibviewer [gui options]   open the app on the default preset ({DEFAULT_PRESET})
  ibviewer gui ...         open the app (--preset, --config, --set, --play, --screenshot, --quit-after)
  ibviewer run ...         train headless, write summary.json, history.npz, history.csv (--check: only check)
  ibviewer presets         list the presets, one per line, name first
  ibviewer sweep SWEEP ... a grid of runs on a dask cluster: results.parquet, phase diagram (--out, --workers)
  ibviewer phase DIR       draw a finished sweep's phase diagram again (phase.png, phase.svg)
  ibviewer record ...      render an MP4/GIF/PNG frames of a run for a talk (--out, --frames, --size, --fps, ...)
  ibviewer bench [gui]     engine vs a plain torch loop (or the live app's responsiveness)
  ibviewer bench record    frames/s and memory of rendering a 1920x1080 MP4
  ibviewer bench longrun   memory and GUI timer lateness over 10^6 steps in the app, every panel shown
  ibviewer bench close     seconds from closing the app (training, comparing, exporting) to its exit
  ibviewer bench sweep     a 64-run sweep one after another, then on a 2-worker local cluster
"""


def _write_run(out: Path, engine, summary: dict) -> None:
    """One run's files into the folder ``out`` (already made)."""
    from ibviewer.core.io import write_history_csv, write_json, write_npz

    write_json(out / "summary.json", summary)
    hist = engine.history.as_dict()
    # wide columns (a matrix model's product past 64 x 64) at their own steps, "snapshot_step" (README)
    write_npz(out / "history.npz", {**hist, **engine.history.snapshots.as_dict()})
    write_history_csv(out / "history.csv", hist)


def _summary(engine, interrupted: bool) -> dict:
    """The run's summary.json: the engine's summary, an interruption stated, and the versions that made it."""
    from ibviewer.core.bookkeeping import STOPPED
    from ibviewer.core.provenance import versions

    summary = engine.summary()
    if interrupted and engine.status not in STOPPED:
        summary["status"] = "interrupted"
        summary["message"] = f"interrupted at step {engine.step_count}"
    summary["versions"] = versions()
    return summary


def _summary_line(name: str, summary: dict) -> str:
    line = f"{name}: {summary['steps']} steps, final loss {summary['final_loss']}"
    if summary.get("relative_error") is not None:
        line += f", relative error {summary['relative_error']:.4g}"
    if summary.get("test_accuracy") is not None:
        line += f", test accuracy {summary['test_accuracy']:.4g}"
    for k, v in summary.get("references", {}).items():
        if v is not None:
            line += f", dist {k} {v:.4g}"
    return line


def _train(trainer, *, total: int | None, desc: str, quiet: bool, show_loss: bool) -> bool:
    """Run an Engine or a RunGroup to its end with a progress bar on a terminal; True if interrupted (Ctrl+C)."""
    bar = None
    if not quiet and sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="step", unit_scale=True, dynamic_ncols=True, desc=desc)
    last = [0]

    def progress(t):
        if bar is not None:
            bar.update(t.step_count - last[0])
            last[0] = t.step_count
            if show_loss:
                bar.set_postfix_str(f"loss {t.current_loss():.3e}", refresh=False)

    try:
        trainer.run(chunk=2000, callback=progress)
    except KeyboardInterrupt:
        return True
    finally:
        if bar is not None:
            bar.close()
    return False


def cmd_compare(args, cfg, runs, name: str, out: Path) -> int:
    import re

    from ibviewer.core.compare import RunGroup, parse_compare
    from ibviewer.core.io import replace_folder, write_json

    group = RunGroup(runs)
    t0 = time.perf_counter()
    interrupted = _train(group, total=cfg.run.steps or None, desc=f"{name} ({len(runs)} runs)", quiet=args.quiet,
                         show_loss=False)
    entries = []
    for run_name, engine in zip(group.names, group.engines):
        folder = re.sub(r"[^A-Za-z0-9._=-]+", "_", run_name.replace(", ", "__"))
        summary = _summary(engine, interrupted)
        summary["name"] = run_name
        entries.append((engine, {"name": run_name, "folder": folder, "summary": summary}))

    def write(tmp: Path) -> None:
        for engine, entry in entries:
            (tmp / entry["folder"]).mkdir()
            _write_run(tmp / entry["folder"], engine, entry["summary"])
        write_json(tmp / "summary.json", {
            "compare": [{"key": k, "values": v} for k, v in parse_compare(args.compare)],
            "wall_seconds": time.perf_counter() - t0,
            "interrupted": interrupted,
            "versions": entries[0][1]["summary"]["versions"] if entries else None,
            "runs": [entry for _, entry in entries],
        })

    replace_folder(out, write)
    if not args.quiet:
        for _, entry in entries:
            print(_summary_line(entry["name"], entry["summary"]))
            for note in entry["summary"].get("notes", []):
                print(f"  note: {note}")
        print(f"wrote {out}/summary.json and one folder per run")
    return exit_code([entry["summary"]["status"] for _, entry in entries], interrupted)


def cmd_check(args, cfg, runs) -> int:
    """``ibviewer run --check``: the configuration, its memory and its data checked, nothing trained or written."""
    from ibviewer.core.problems import make_problem
    from ibviewer.core.sizing import check_memory

    check_memory(cfg, runs=len(runs) if runs else 1)
    make_problem(cfg)
    if not args.quiet:
        count = f"{len(runs)} runs" if runs else "1 run"
        print(f"ok: {cfg.problem.kind}, {count}; nothing trained or written")
    return 0


def cmd_run(args) -> int:
    from ibviewer.core.engine import Engine
    from ibviewer.core.io import check_output_folder, replace_folder

    steps = [] if args.steps is None else [("run.steps", args.steps)]
    resolved = resolve(args, extra=steps)  # bad values (of --compare too) fail before any folder is made
    cfg = resolved.cfg
    if args.check:
        return cmd_check(args, cfg, resolved.runs)
    name = args.preset or (Path(args.config).stem if args.config else cfg.problem.kind)
    out = Path(args.out) if args.out else Path("runs") / f"{name}_{time.strftime('%Y%m%d-%H%M%S')}"
    check_output_folder(out)  # an unwritable place fails now, not after the training
    with terminate_as_interrupt():
        if resolved.runs is not None:
            from ibviewer.core.sizing import check_memory

            check_memory(cfg, runs=len(resolved.runs))  # the runs share the problem's data, not their factors
            return cmd_compare(args, cfg, resolved.runs, name, out)
        engine = Engine(cfg)
        interrupted = _train(engine, total=cfg.run.steps or None, desc=name, quiet=args.quiet, show_loss=True)
        summary = _summary(engine, interrupted)
        replace_folder(out, lambda tmp: _write_run(tmp, engine, summary))
    if not args.quiet:
        print(_summary_line(name, summary))
        for note in summary.get("notes", []):
            print(f"note: {note}")
        if summary["diverged"] or interrupted:
            print(summary["message"])
        print(f"wrote {out}/summary.json, history.npz, history.csv")
    return exit_code([summary["status"]], interrupted)


def cmd_presets(args) -> int:
    names = preset_names()
    width = max(map(len, names))
    for name in names:
        meta = preset_info(name)
        tag = f"[{meta['experiment']}] " if "experiment" in meta else ""
        print(f"{name:<{width}}  {tag}{meta.get('title', '')}")
    return 0


def cmd_bench(argv: list[str]) -> int:
    if argv and argv[0] == "record":  # rendering speed (Qt, offscreen)
        from ibviewer.gui.record import bench_main

        return bench_main(argv[1:])
    if argv and argv[0] == "close":  # closing the app during training, a comparison, an export
        from ibviewer.gui.close_bench import main as close_bench

        return close_bench(argv[1:])
    if argv and argv[0] == "sweep":
        from ibviewer.core.sweep_bench import main as sweep_bench

        return sweep_bench(argv[1:])
    if argv and argv[0] == "gui":
        from ibviewer.gui.bench import main as gui_bench

        return gui_bench(argv[1:])
    if argv and argv[0] == "longrun":  # memory and timer lateness over 10^6 steps in the app
        from ibviewer.gui.bench_longrun import main as longrun_bench

        return longrun_bench(argv[1:])
    from ibviewer.core.bench import main as engine_bench

    return engine_bench(argv)


def _qt_entry(module: str, what: str, argv: list[str], **options) -> int:
    """Run ``module.main(argv, **options)`` of the Qt part; a missing Qt gives one line and exit code 2."""
    import importlib

    try:
        entry = importlib.import_module(module).main
    except ImportError as exc:
        print(f"ibviewer: error: {what} needs Qt (PySide6-Essentials, pyqtgraph): {exc}", file=sys.stderr)
        return 2
    return entry(argv, **options)


def cmd_record(argv: list[str]) -> int:
    return _qt_entry("ibviewer.gui.record", "recording", argv)


def cmd_gui(argv: list[str]) -> int:
    # once its window has closed, the app's process ends at once (see ibviewer.gui.app.end_now)
    return _qt_entry("ibviewer.gui.app", "the app", argv, end_process=True)


def make_parser() -> argparse.ArgumentParser:
    """The parser of the headless commands (``run``, ``presets``); the others parse their own arguments."""
    ap = ArgumentParser(prog="ibviewer", description="Watch the implicit bias of gradient descent.", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", metavar="command", parser_class=ArgumentParser)
    run = sub.add_parser("run", help="train headless and write the results", parents=[config_parent()],
                         description="Train headless and write summary.json, history.npz and history.csv.",
                         epilog=keys_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--steps", type=int, metavar="N", help="number of steps (run.steps)")
    run.add_argument("--out", metavar="DIR", help="output folder (default runs/<name>_<time>)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary line")
    run.add_argument("--check", action="store_true",
                     help="check the configuration, the memory it needs and its data file; train and write nothing")
    sub.add_parser("presets", help="list the presets")
    sub.add_parser("gui", help="open the app", add_help=False)
    sub.add_parser("bench", help="benchmarks", add_help=False)
    sub.add_parser("record", help="render an animation of a run", add_help=False)
    sub.add_parser("sweep", help="a grid of runs on a dask cluster, and its phase diagram", add_help=False)
    sub.add_parser("phase", help="draw a finished sweep's phase diagram again", add_help=False)
    return ap


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # the process is the command (ibviewer … in a shell): it exits when the command returns
        from ibviewer.core import interrupts

        interrupts.EXITING_PROCESS = True
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        return cmd_gui(argv)  # `ibviewer`, `ibviewer --preset NAME --play`: the app
    # sub-commands that parse their own arguments
    if argv[0] == "gui":
        return cmd_gui(argv[1:])
    if argv[0] == "bench":
        return cmd_bench(argv[1:])
    if argv[0] == "record":  # animations (Qt, offscreen without a display)
        return cmd_record(argv[1:])
    if argv[0] in ("sweep", "phase"):  # grids of runs (ibviewer/core/sweep_cli.py)
        from ibviewer.core.sweep_cli import phase_main, sweep_main

        return (sweep_main if argv[0] == "sweep" else phase_main)(argv[1:])

    ap = make_parser()
    try:
        args = ap.parse_args(argv)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "presets":
            return cmd_presets(args)
        ap.print_help()
        return 0
    except (UsageError, ConfigError) as exc:
        return report_error("ibviewer", exc)
    except BrokenPipeError:  # e.g. `ibviewer presets | head -3`
        sys.stderr.close()
        return 0
    except OSError as exc:
        return report_error("ibviewer", _os_message(exc))
    except KeyboardInterrupt:  # a second Ctrl+C while the files are written: they are whole or absent
        print("ibviewer: interrupted; nothing was written", file=sys.stderr)
        return 130


def _os_message(exc: OSError) -> str:
    """An OSError as one line: our own messages as they are, the system's with its file name and reason."""
    if exc.strerror and exc.filename:
        return f"cannot write {str(exc.filename)!r}: {exc.strerror}"
    return str(exc) or exc.strerror or type(exc).__name__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
