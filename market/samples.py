"""Random economies for property tests and the success-rate script (``scripts/econ_check.py``).

:func:`random_economy` draws a small heterogeneous economy of the kind a user
may write: returns to scale ``c`` in ``[0.5, 2]``, capacities binding or slack
(and, for ``c ≤ 1``, chosen in the long run), verification from free to dear
enough to price some agents out, log or CES utility.
"""

from __future__ import annotations

import numpy as np

from market.model import Economy, GasPerOrder, ProducerGroup, StandardGroup, Utility, Verification

#: ``κ`` (kWh per gas) drawn from: free, proof of stake, and dearer (which prices
#: the poorer agents out: a 60,000-gas order costs 0.6 kWh at 1e-5, 60 kWh at 1e-3).
KAPPAS = (0.0, 6.6e-8, 1e-5, 1e-4, 1e-3)


def random_economy(rng: np.random.Generator) -> Economy:
    """One random economy (see the module docstring)."""
    T = int(rng.integers(1, 4))
    n_std = int(rng.integers(2, 4))
    n_prd = int(rng.integers(2, 4))
    std = []
    for h in range(n_std):
        ces = rng.random() < 0.2
        std.append(StandardGroup(
            name=f"s{h}", count=int(rng.integers(1, 4)), omega=float(rng.uniform(1.0, 100.0)),
            alpha=tuple(float(a) for a in rng.uniform(0.1, 1.0, T)),
            alpha0=float(rng.choice([0.0, 0.0, 0.3])), bytecoins=float(rng.uniform(10, 1000)),
            utility=Utility("ces", float(rng.choice([0.6, 2.0]))) if ces else Utility()))
    prd = []
    for j in range(n_prd):
        c = float(rng.uniform(0.5, 2.0))
        theta = tuple(float(x) for x in rng.uniform(10.0, 60.0, T))
        value = rng.random() < 0.7
        alpha = tuple(float(a) for a in rng.uniform(0.1, 1.0, T)) if value else (0.0,) * T
        kind = rng.random()
        if c <= 1.0 and kind < 0.2:
            K, rho = None, float(rng.uniform(0.1, 1.0))
        elif kind < 0.6:
            # binding: well below what the good could make
            K, rho = float(rng.uniform(0.05, 0.5)) * float(np.mean(theta)) * 100.0 ** min(c, 1.0), None
        else:
            K, rho = 1e7, None
        prd.append(ProducerGroup(
            name=f"p{j}", count=int(rng.integers(1, 3)), theta=theta, c=c, K=K, rho=rho,
            alpha=alpha, alpha0=0.0 if value else 1.0, bytecoins=float(rng.uniform(10, 1000))))
    kappa = float(rng.choice(KAPPAS))
    return Economy(T=T, standard=tuple(std), producers=tuple(prd),
                   verification=Verification(kappa=kappa, schedule=(1.0 / T,) * T,
                                             gas_per_order=GasPerOrder()))
