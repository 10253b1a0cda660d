"""Scenario events (``[[event]]``): loading, errors naming the field, the economy in force,
and the recovery measures of a path of prices."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest

from market.errors import ScenarioError
from market.events import Issue, KappaChange, PreferenceChange, Transfer, event_record
from market.shocks import economy_after, recovery
from market.presets import KAPPA_PRESETS
from market.scenario import scenario_from_dict

BASE = """
name = "t"
T = 2
[verification]
kappa = "pow"
[[standard]]
name = "home"
count = 2
omega = 10.0
alpha = [0.5, 0.5]
bytecoins = 100.0
[[producer]]
name = "plant"
count = 2
theta = [10.0, 20.0]
c = 0.8
K = 500.0
alpha = [0.5, 0.5]
bytecoins = 100.0
[simulation]
rounds = 50
"""


def load(events: str):  # type: ignore[no-untyped-def]
    return scenario_from_dict(tomllib.loads(BASE + events))


def test_no_events_by_default() -> None:
    assert load("").events == ()


def test_every_kind_loads() -> None:
    sc = load("""
[[event]]
round = 5
kind = "issue"
to = "all"
amount = 400.0
[[event]]
round = 5
kind = "issue"
to = "home"
per_agent = 10
[[event]]
round = 10
kind = "transfer"
from = "plant"
to = "home"
amount = 20.0
[[event]]
round = 20
kind = "kappa"
kappa = "pos"
[[event]]
round = 30
kind = "preferences"
group = "home"
alpha = [0.8, 0.2]
alpha0 = 0.1
""")
    assert sc.events == (
        Issue(5, "all", amount=400.0), Issue(5, "home", per_agent=10.0),
        Transfer(10, "plant", "home", 20.0),
        KappaChange(20, KAPPA_PRESETS["pos"].kwh_per_gas, "pos"),
        PreferenceChange(30, "home", (0.8, 0.2), 0.1))
    rec = event_record(sc.events[2])
    assert rec["from"] == "plant" and rec["details"] == "20 bytecoins from plant to home"


@pytest.mark.parametrize("body, message", [
    ('kind = "mint"\nround = 3', r"^event\[0\]\.kind: expected one of issue, transfer, kappa, preferences"),
    ('kind = "issue"\nto = "all"\namount = 1', r"^event\[0\]\.round: missing"),
    ('kind = "issue"\nround = 0\nto = "all"\namount = 1', r"^event\[0\]\.round: must be an integer in \[1, 49\]"),
    ('kind = "issue"\nround = 50\nto = "all"\namount = 1', r"^event\[0\]\.round: .*rounds = 50"),
    ('kind = "issue"\nround = 2\nto = "nobody"\namount = 1', r"^event\[0\]\.to: unknown group 'nobody' \(known: all, home, plant\)"),
    ('kind = "issue"\nround = 2\nto = "all"', r"^event\[0\]\.amount: give exactly one of amount"),
    ('kind = "issue"\nround = 2\nto = "all"\namount = 1\nper_agent = 1', r"^event\[0\]\.amount: give exactly one"),
    ('kind = "issue"\nround = 2\nto = "all"\namount = -1', r"^event\[0\]\.amount: must be in \[1e-18"),
    ('kind = "issue"\nround = 2\nto = "all"\namount = "lots"', r"^event\[0\]\.amount: expected a finite number"),
    ('kind = "issue"\nround = 2\nto = "home"\nper_agent = 1.0e7', r"^event\[0\]\.per_agent: the supply would reach 2\.00004e\+07"),
    ('kind = "issue"\nround = 2\nto = "all"\namount = 1\nfrom = "home"', r"^event\[0\]\.from: unknown key for kind = 'issue'"),
    ('kind = "transfer"\nround = 2\nfrom = "home"\nto = "home"\namount = 1', r"^event\[0\]\.to: must differ"),
    ('kind = "transfer"\nround = 2\nfrom = "all"\nto = "home"\namount = 1', r"^event\[0\]\.from: unknown group 'all'"),
    ('kind = "transfer"\nround = 2\nfrom = "plant"\nto = "home"', r"^event\[0\]\.amount: missing"),
    ('kind = "kappa"\nround = 2\nkappa = "coal"', r"^event\[0\]\.kappa: unknown preset 'coal'"),
    ('kind = "kappa"\nround = 2\nkappa = 5.0', r"^event\[0\]\.kappa: must be at most 1"),
    ('kind = "kappa"\nround = 2', r"^event\[0\]\.kappa: missing"),
    ('kind = "preferences"\nround = 2\ngroup = "home"\nalpha = [1.0]', r"^event\[0\]\.alpha: expected a list of T = 2"),
    ('kind = "preferences"\nround = 2\ngroup = "home"\nalpha = [1.0, -1.0]', r"^event\[0\]\.alpha\[1\]: must be a number in \[0, "),
    ('kind = "preferences"\nround = 2\ngroup = "home"\nalpha = [0.0, 0.0]', r"^event\[0\]\.alpha: weights must sum to a positive number"),
    ('kind = "preferences"\nround = 2\ngroup = "home"\nalpha = [1, 1]\nalpha0 = -2', r"^event\[0\]\.alpha0: must be in \[0, "),
])
def test_bad_events_name_their_field(body: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        load("[[event]]\n" + body + "\n")


def test_events_in_the_order_they_happen() -> None:
    with pytest.raises(ScenarioError, match=r"^event\[1\]\.round: 3 is before event\[0\]'s round 7"):
        load('[[event]]\nround = 7\nkind = "kappa"\nkappa = "pos"\n'
             '[[event]]\nround = 3\nkind = "kappa"\nkappa = "pow"\n')
    doc = tomllib.loads(BASE)
    doc["event"] = 3
    with pytest.raises(ScenarioError, match=r"^event: expected an array of tables"):
        scenario_from_dict(doc)


def test_the_economy_in_force() -> None:
    sc = load("")
    e0 = sc.economy
    e1 = economy_after(e0, KappaChange(3, 1e-7, None))
    assert e1.kappa == 1e-7 and e0.kappa == KAPPA_PRESETS["pow"].kwh_per_gas
    e2 = economy_after(e1, PreferenceChange(4, "plant", (0.9, 0.1)))
    assert e2.producers[0].alpha == (0.9, 0.1) and e2.producers[0].alpha0 == e0.producers[0].alpha0
    assert e2.standard == e0.standard and e2.kappa == 1e-7
    assert economy_after(e2, Issue(5, "all", amount=3.0)) is e2  # money leaves the parameters alone


def test_recovery_measures() -> None:
    pre = [1.0, 10.0, 20.0]
    # a doubling of the money: prices overshoot on post 1, settle at 2x
    window = [[1.5, 25.0, 40.0], [2.0, 21.0, 40.0], [2.0, 20.0, 40.0]]
    rec = recovery(7, [7, 8, 9], [0.3, 1e-3, 1e-9], np.array([pre, *window]), 1e-6, 100.0, 200.0)
    assert rec.rounds_to_recover == 2
    assert rec.money_ratio == 2.0
    assert rec.price_level_ratio == pytest.approx(1.0)
    assert rec.overshoot == pytest.approx((0.0, 0.25, 0.0))
    never = recovery(7, [7, 8], [0.3, 0.2], np.array([pre, *window[:2]]), 1e-6, 100.0, 100.0)
    assert never.rounds_to_recover is None
    assert never.price_level_ratio == pytest.approx(np.mean([2.0, 2.1, 2.0]))
    empty = recovery(7, [], [], np.array([pre]), 1e-6, 1.0, 1.0)
    assert empty.rounds_to_recover is None and math.isnan(empty.price_level_ratio)
