"""Precautionary demand: what uncertain verification changes against its mean.

An agent whose verification electricity is uncertain must receive enough
electricity to cover the dearest state, and values each state's leftover by
its expected utility; :func:`precaution` compares an equilibrium of the
uncertain economy with the equilibrium of the same economy with ``κ``
certain at its mean (:meth:`market.model.Economy.with_kappa_states` ``(None)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from market.model import BoolArray, FloatArray
from market.results import Equilibrium


@dataclass(frozen=True)
class Precaution:
    """Electricity bought under uncertain ``κ`` against the mean-``κ`` equilibrium.

    Attributes
    ----------
    electricity : ndarray, shape (N,)
        ``Σ_t x_i^t`` (kWh over the ``T`` periods) in the uncertain economy's equilibrium.
    electricity_mean : ndarray, shape (N,)
        The same at the mean ``κ``.
    priced_out_by_uncertainty : ndarray of bool, shape (N,)
        Priced out under uncertain ``κ`` but trading at its mean: priced out
        only because of the uncertainty.
    """

    electricity: FloatArray
    electricity_mean: FloatArray
    priced_out_by_uncertainty: BoolArray

    @property
    def extra(self) -> FloatArray:
        """Precautionary demand per agent, ``Σ_t x_i^t`` less its mean-``κ`` value (kWh)."""
        return self.electricity - self.electricity_mean

    def relative(self, members: BoolArray | None = None) -> float:
        """The precautionary demand of ``members`` (default: all) relative to their mean-``κ`` purchases.

        Agents priced out in either equilibrium are left out (their change is
        entry or exit, counted by :attr:`priced_out_by_uncertainty`); NaN if
        none is left.
        """
        both = (self.electricity > 0) & (self.electricity_mean > 0)
        if members is not None:
            both &= members
        base = float(self.electricity_mean[both].sum())
        return float(self.extra[both].sum()) / base if base > 0 else float("nan")


def precaution(uncertain: Equilibrium, mean: Equilibrium) -> Precaution:
    """The :class:`Precaution` of an uncertain-``κ`` equilibrium against the mean-``κ`` one
    (both Nash, or both competitive, of the same agents)."""
    return Precaution(electricity=uncertain.allocations[:, 1:].sum(axis=1),
                      electricity_mean=mean.allocations[:, 1:].sum(axis=1),
                      priced_out_by_uncertainty=np.asarray(uncertain.priced_out & ~mean.priced_out))
