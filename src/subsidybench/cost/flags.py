"""An input's text into a cost question's values: one number, a list or sweep a:b:step
(cost.sweep), or an uncertain range a~b (cost.spread), each refused in one line naming the
input (errors.named: the front end says it as its flag, field or key). Torch-free.
"""

from __future__ import annotations

import datetime
from typing import Any

from subsidybench.errors import UserError, named


def flag_values(
    text: str | None, key: str, uncertain: dict[str, Any], takes: tuple[str, ...]
) -> Any:
    """Input `key`'s values (cost.sweep.parse_values), or its centre where it is a range a~b:
    the Spread goes into `uncertain` under the input's name."""
    import numpy as np

    from subsidybench.cost.spread import parse_spread
    from subsidybench.cost.sweep import parse_values

    if text is None:
        return None
    spread = parse_spread(text, named(key))
    if spread is None:
        return parse_values(text, named(key))
    if key not in takes:
        raise UserError(f"{named(key)}: a range a~b is taken for {', '.join(map(named, takes))}")
    uncertain[key] = spread
    return np.array([spread.centre])


def fx_value(text: str, uncertain: dict[str, Any]) -> float:
    """The exchange rate: one number (checked against its range with the others), or a range
    a~b."""
    from subsidybench.cost.spread import parse_spread

    spread = parse_spread(text, named("fx"))
    if spread is not None:
        uncertain["fx"] = spread
        return spread.centre
    try:
        return float(text)
    except ValueError:
        raise UserError(f"{named('fx')}: expected a number or a range a~b, got {text!r}") from None


def train_pair(text: str) -> tuple[float, float]:
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(
            f"{named('train')}: expected PARAMS:TOKENS, e.g. 7e9:2e12, got {text!r}"
        ) from None


def date_value(text: str, key: str) -> datetime.date:
    """A day given as YYYY-MM-DD, for input `key`."""
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{named(key)}: expected a day as YYYY-MM-DD, got {text!r}") from None
