"""The chain layer's errors, under the project's one root :class:`market.errors.EmgError`."""

from __future__ import annotations

from market.errors import EmgError


class ChainError(EmgError, RuntimeError):
    """The chain layer failed: compiler, deployment, transaction or node."""
