"""The command line: parse args -> call the library -> print -> exit code.

Exit codes: 0 ok, 2 bad input (ConfigError: file, key, what is allowed), 1 internal error.
Subcommands live in one module each under archsim/cli/ (each exports `add_parser(sub)`), so the
terminal I/O stays in this package; library code never prints.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import warnings

from archsim.cli.text import plain
from archsim.errors import ConfigError, ModelError
from archsim.version import __version__

# Subcommand modules, in the order `archsim --help` lists them.
SUBCOMMANDS = ("run", "validate", "sweep", "report", "scalesim", "trace", "reproduce", "calibrate",
               "compare", "schema", "roofline", "serve", "sensitivity", "validate-model")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="archsim", description="Cycle-approximate accelerator architecture simulator.")
    parser.add_argument("--version", action="version", version=f"archsim {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"archsim.cli.{name.replace('-', '_')}").add_parser(sub)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"archsim: warning: {category.__name__}: {message}", file=file or sys.stderr)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="archsim: %(message)s")
    if not args.verbose:   # library warnings (e.g. ScalingWarning) as one readable line
        warnings.showwarning = _show_warning
    try:
        _no_empty_paths(args)
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"archsim: error: {plain(exc)}", file=sys.stderr)
        return 2
    except ModelError as exc:
        print(f"archsim: model error: {plain(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("archsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        # the work estimates (archsim.plausibility) should have refused this op up front
        print("archsim: internal error: out of memory. An op exceeded the memory estimate "
              "archsim checks before running it; please report the command line.", file=sys.stderr)
        return 1
    except Exception as exc:   # exit 1 with one line, never a bare traceback (-v shows it)
        if args.verbose:
            import traceback
            traceback.print_exc()
        print(f"archsim: internal error: {type(exc).__name__}: {plain(_short(exc))}"
              + ("" if args.verbose else " (run with -v for the traceback)")
              + "; please report the command line", file=sys.stderr)
        return 1


#: options that name files or folders: an empty string is an error, never "use the default"
_PATH_OPTIONS = ("out", "json", "baseline", "config", "topology", "preset", "scheduler", "html", "plot",
                 "markdown", "write_baseline")


def _no_empty_paths(args) -> None:
    for name in _PATH_OPTIONS:
        v = getattr(args, name, None)
        if isinstance(v, str) and not v.strip():
            raise ConfigError(f"--{name}", "<empty>", "expected a path, got an empty string")


def _short(exc, limit: int = 400) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
