"""The command-line pieces every ibviewer command shares: one parent parser for ``--preset``, ``--config``,
``--set`` (and ``--session``, ``--compare`` where they apply), one parser class whose errors are one line with
exit code 2, and one function that turns those arguments into a configuration and its runs.

It lives in the Qt-free core because the commands of the app (``ibviewer gui``, ``record``, ``bench gui``) and
the headless ones (``ibviewer run``, ``bench``) both use it, and the app may not import ``ibviewer.cli``
(layers: cli -> gui -> live -> core, see docs/architecture.md).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, Callable

from ibviewer.core.config import DEFAULT_PRESET, Config, build_config, parse_assignment
from ibviewer.core.config_docs import keys_help

#: exit code of every usage or configuration error
USAGE_EXIT = 2


class UsageError(Exception):
    """Bad command-line arguments: a one-line message; ``prog`` names the command when the parser knows it."""

    def __init__(self, message: str, prog: str = ""):
        super().__init__(message)
        self.prog = prog


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one error style: a bad argument raises :class:`UsageError` (one line, no usage block), which
    the command reports with :func:`report_error` and exit code 2."""

    def error(self, message: str):  # noqa: D102
        raise UsageError(message, self.prog)


def config_parent(*, session: str | None = None, compare: bool = True) -> ArgumentParser:
    """The parent parser of every command that trains or shows runs: ``--preset | --config [| --session]``,
    ``--set`` and (unless ``compare=False``) ``--compare``.  ``session`` is the help text of ``--session`` for
    commands that open saved sessions (None: no such flag)."""
    p = ArgumentParser(add_help=False)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", metavar="NAME", help=f"a preset from 'ibviewer presets' (default: {DEFAULT_PRESET})")
    src.add_argument("--config", metavar="FILE", help="a TOML config file")
    if session is not None:
        src.add_argument("--session", metavar="FILE", help=session)
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config key, e.g. --set model.depth=2 (repeatable; the keys are listed below)")
    if compare:
        p.add_argument("--compare", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="runs on the same problem that differ in KEY, one per value, e.g. --compare "
                            "model.depth=1,2,3 (repeatable: every combination)")
    return p


def command_parser(prog: str, description: str, *, session: str | None = None, compare: bool = True,
                   **kwargs: Any) -> ArgumentParser:
    """A command's parser: the shared flags of :func:`config_parent`, the one error style, and the config keys
    with what each allows at the end of ``--help``."""
    return ArgumentParser(prog=prog, description=description, parents=[config_parent(session=session,
                                                                                      compare=compare)],
                          epilog=keys_help(), formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def report_error(prog: str, exc: BaseException) -> int:
    """Print ``prog: error: message`` (one line) on stderr; returns the exit code 2."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    print(f"{getattr(exc, 'prog', '') or prog}: error: {message}", file=sys.stderr)
    return USAGE_EXIT


@dataclass
class Resolved:
    """What the shared flags ask for: the configuration, the preset it came from (None for a config file or a
    problem kind's own defaults), the dotted overrides, and the runs (None: just ``cfg``)."""

    cfg: Config
    preset: str | None
    overrides: list[tuple[str, Any]]
    runs: list[tuple[str, Config]] | None


def resolve(args: argparse.Namespace, *, extra: list[tuple[str, Any]] = (),  # type: ignore[assignment]
            adjust: Callable[[Config, list[tuple[str, Any]]], None] | None = None,
            preset_runs: bool = False) -> Resolved:
    """Turn the shared flags into a configuration and its runs; ConfigError / UsageError (one line) if they are
    bad.

    The default preset applies when no preset, config file or ``problem.kind`` is named (a kind alone takes the
    kind's defaults).  ``extra`` overrides follow the ``--set`` ones (e.g. ``--steps``); ``adjust(cfg, overrides)``
    may change the config before runs are made from it.  The runs are those of ``--compare`` (every
    combination), else, with ``preset_runs``, those the preset compares (when it compares more than one)."""
    overrides = [parse_assignment(s) for s in getattr(args, "sets", [])] + list(extra)
    preset = getattr(args, "preset", None)
    config = getattr(args, "config", None)
    if preset is None and config is None and not any(k == "problem.kind" for k, _ in overrides):
        preset = DEFAULT_PRESET
    cfg = build_config(preset=preset, config_file=config, overrides=overrides)
    if adjust is not None:
        adjust(cfg, overrides)
    runs = None
    if getattr(args, "compare", None):
        from ibviewer.core.compare import expand, parse_compare

        runs = expand(cfg, parse_compare(args.compare))
    elif preset_runs and preset is not None:
        from ibviewer.core.compare import preset_runs as runs_of

        made = runs_of(preset, base=cfg)
        runs = made if len(made) > 1 else None
    return Resolved(cfg, preset if config is None else None, overrides, runs)

