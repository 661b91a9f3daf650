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
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"archsim: error: {exc}", file=sys.stderr)
        return 2
    except ModelError as exc:
        print(f"archsim: model error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("archsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
