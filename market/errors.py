"""The project's exception hierarchy: one root, :class:`EmgError`.

Every error emg raises on purpose derives from it, so a caller (or the CLI)
can catch ``EmgError`` and show its message without a traceback. The chain
layer's :class:`agents.chain.errors.ChainError` derives from it too.
"""

from __future__ import annotations


class EmgError(Exception):
    """Root of every error emg raises on purpose."""


class ScenarioError(EmgError, ValueError):
    """A scenario file or parameter is invalid; the message names the field."""


class SolverError(EmgError, RuntimeError):
    """An equilibrium solver could not produce a result."""


class SimulationError(EmgError, RuntimeError):
    """An on-chain simulation run failed as a whole (not one agent's failure)."""


class OutputError(EmgError, OSError):
    """An output folder (``--out``) cannot be used or written; the message names it."""
