"""The ``emg`` command line: ``emg solve``, ``emg simulate``, ``emg study``, ``emg report``,
``emg compile``.

Each subcommand lives in its own module, which provides two functions:

``configure(parser: argparse.ArgumentParser) -> None``
    adds the subcommand's arguments;
``run(args: argparse.Namespace) -> int``
    does the work and returns the exit code.

Every command module is imported to build the parser, so each keeps its
top-level imports light (argparse, :mod:`market`) and imports web3 and the
chain layer inside ``run``: ``emg solve`` never loads web3.

Exit codes: 0 success; 1 the command ran and reported its results, but one
of them did not converge (``converged = false``) or a check failed;
2 bad input (a :class:`market.errors.EmgError`, or a malformed option,
printed as one line naming the field); 3 a solver found no equilibrium (a
:class:`market.errors.SolverError`, printed as one line saying why — not bad
input: the economy may simply have no equilibrium of the kind solved for);
130 interrupted. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from market.errors import EmgError, SolverError

#: Exit code of a command whose solver found no equilibrium (see the module docstring).
EXIT_NO_EQUILIBRIUM = 3

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "solve": ("emg.solve", "Nash and competitive equilibria of a scenario, side by side"),
    "simulate": ("emg.simulate", "run a scenario's AI agents on a local chain, round after round"),
    "study": ("emg.study", "sweep scenarios over axes on Dask: index table, plots, HTML report"),
    "report": ("emg.report", "a self-contained HTML report of an emg simulate --out folder"),
    "compile": ("emg.compile", "(re)build the Solidity contracts and print their sizes"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``emg simulate: error: ...`` and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="emg",
        description="emg: the Electricity Market Game with crypto-in-advance, on a chain.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module_name)
        importlib.import_module(module_name).configure(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(args._module)
    try:
        code = int(module.run(args))
    except SolverError as exc:
        print(f"emg {args.command}: no equilibrium: {exc}", file=sys.stderr)
        return EXIT_NO_EQUILIBRIUM
    except EmgError as exc:
        print(f"emg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"emg {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
