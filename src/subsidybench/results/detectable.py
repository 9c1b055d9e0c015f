"""The smallest change a result can see, before it is compared with anything.

A comparison (results/compare.py) calls a change when the interval of the ratio of two sides
excludes 1; the interval's half-width is the smallest change the pair could have called. Before
comparing, a result alone gives the same figure against a second run like itself: its rounds
(each a process of its own since method 3) spread s in log median, so two runs of k rounds have
a Welch interval of half-width t(1 - alpha/2, 2(k - 1)) * s * sqrt(2 / k). With 3 rounds t is
2.78: rounds 2% apart let a comparison see about 5%, rounds 6% apart about 14%. Torch-free.
"""

from __future__ import annotations

import math

import numpy as np

from subsidybench.timing import Measurement


def detectable_alone(m: Measurement, alpha: float = 0.05) -> float | None:
    """The change (0.05 = 5%) a comparison with a second run like this one could just call;
    None for a single round, whose spread between processes is not known."""
    if m.round_count < 2:
        return None
    from scipy.special import stdtrit  # scipy.stats costs 0.76 s to import

    k = m.round_count
    logs = np.log([float(np.median(r)) for r in m.by_round()])
    half = float(stdtrit(2 * (k - 1), 1 - alpha / 2)) * float(logs.std(ddof=1))
    return math.expm1(half * math.sqrt(2 / k))
