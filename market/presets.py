"""Named presets for ``κ``, the electricity that verifying one unit of gas costs.

A payment's verification electricity is ``v = κ · gasUsed`` (SPEC §3). The
presets are network-wide *averages* (annual electricity of the network divided
by the gas it processed), not marginal costs: under proof of work a block cost
the same energy whatever it held, so charging each transaction its average
share is a modelling choice, made here because the paper makes verification a
fixed electricity cost per payment. Sources are given per preset and repeated
in ``docs/scenarios.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from market.errors import ScenarioError


@dataclass(frozen=True)
class KappaPreset:
    """One named ``κ`` figure.

    Attributes
    ----------
    name : str
        The name a scenario uses (``kappa = "pow"``).
    kwh_per_gas : float
        ``κ`` in kWh per unit of gas.
    source : str
        Where the figure comes from and how it was derived.
    """

    name: str
    kwh_per_gas: float
    source: str


KAPPA_PRESETS: dict[str, KappaPreset] = {
    p.name: p
    for p in (
        KappaPreset("free", 0.0, "No verification cost (the market game of Spear 2003 without §3)."),
        KappaPreset(
            "pow",
            2.4e-3,
            "Proof of work, Digiconomist Ethereum Energy Consumption Index, last pre-merge "
            "figures (Aug 2022): 83.89 TWh/yr, ~199 kWh per transaction at ~84,000 gas per "
            "transaction => ~2.4e-3 kWh/gas.",
        ),
        KappaPreset(
            "pow-ccri",
            6.6e-4,
            "Proof of work, CCRI 'The Merge' report (Sept 2022): ~23 TWh/yr pre-merge over "
            "the same gas throughput => ~6.6e-4 kWh/gas.",
        ),
        KappaPreset(
            "pos",
            6.6e-8,
            "Proof of stake, CCRI post-merge estimate (Sept 2022): 2,601 MWh/yr over "
            "~1.08e11 gas/day => ~6.6e-8 kWh/gas.",
        ),
        KappaPreset(
            "pos-digiconomist",
            2.8e-7,
            "Proof of stake, Digiconomist post-merge index (2.5-3.1e-7 kWh/gas; midpoint).",
        ),
    )
}


def kappa_value(name_or_value: str | float, field: str = "verification.kappa") -> float:
    """Resolve a ``κ`` given as a preset name or a number (kWh/gas).

    Parameters
    ----------
    name_or_value : str or float
        A key of :data:`KAPPA_PRESETS` or a non-negative number.
    field : str
        The field name used in error messages.

    Returns
    -------
    float
        ``κ`` in kWh per gas.

    Raises
    ------
    ScenarioError
        Unknown preset, or a negative / non-finite number.
    """
    if isinstance(name_or_value, str):
        preset = KAPPA_PRESETS.get(name_or_value)
        if preset is None:
            known = ", ".join(sorted(KAPPA_PRESETS))
            raise ScenarioError(f"{field}: unknown preset {name_or_value!r} (known: {known})")
        return preset.kwh_per_gas
    if isinstance(name_or_value, bool) or not isinstance(name_or_value, (int, float)):
        raise ScenarioError(f"{field}: expected a preset name or a number, got {name_or_value!r}")
    value = float(name_or_value)
    if not (value >= 0.0) or value == float("inf"):
        raise ScenarioError(f"{field}: must be a finite number >= 0, got {name_or_value!r}")
    return value
