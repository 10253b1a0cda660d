"""Each round's verification cost ``κ`` when it is uncertain (docs/simulate.md, "Uncertain κ").

The agents order not knowing the round's ``κ``: :class:`KappaDraws` gives it
to the simulation after the orders are in, drawn from the scenario's
distribution (:meth:`market.kappa.KappaStates.draw`) by a random stream of its
own, spawned from the run's seed, or read from the scenario's series. The
simulation's main generator is never touched, so a run with a scalar ``κ``
draws nothing and stays byte-identical.
"""

from __future__ import annotations

import numpy as np

from market.kappa import KappaStates


class KappaDraws:
    """The ``κ`` of every round (kWh per gas), or None each round when ``κ`` is certain.

    Parameters
    ----------
    states : KappaStates or None
        :attr:`market.model.Economy.kappa_states`.
    seed : int
        The run's seed; the draws use ``SeedSequence(seed).spawn(1)[0]``, a
        stream independent of ``numpy.random.default_rng(seed)``.
    """

    def __init__(self, states: KappaStates | None, seed: int) -> None:
        self.states = states
        self.rng = (np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
                    if states is not None else None)

    def draw(self, round: int) -> float | None:
        """Round ``round``'s ``κ`` (call once per round, in order), or None if ``κ`` is certain."""
        if self.states is None or self.rng is None:
            return None
        return self.states.draw(self.rng, round)
