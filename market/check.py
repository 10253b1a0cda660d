"""Former home of the profile checks, kept as an import path for ``emg/output.py``.

:func:`evaluate_profile` and :func:`nash_residuals` now live in
:mod:`market.profile`, :func:`is_nash` in :mod:`market.verify`.
"""

from market.profile import evaluate_profile

__all__ = ["evaluate_profile"]
