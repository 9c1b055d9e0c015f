"""Flag text into a cost question's values: one number, a list or sweep a:b:step (cost.sweep),
or an uncertain range a~b (cost.uncertainty), each refused in one line naming the flag.
Torch-free.
"""

from __future__ import annotations

import datetime
from typing import Any

from subsidybench.errors import UserError


def flag_values(
    text: str | None, flag: str, uncertain: dict[str, Any], takes: tuple[str, ...]
) -> Any:
    """A flag's values (cost.sweep.parse_values), or its centre where it is a range a~b: the
    Spread goes into `uncertain` under the Request field's name."""
    import numpy as np

    from subsidybench.cost.sweep import parse_values
    from subsidybench.cost.uncertainty import parse_spread

    if text is None:
        return None
    spread = parse_spread(text, flag)
    if spread is None:
        return parse_values(text, flag)
    key = flag.removeprefix("--").replace("-", "_")
    if key not in takes:
        raise UserError(
            f"{flag}: a range a~b is taken for --{', --'.join(takes)}".replace("_", "-")
        )
    uncertain[key] = spread
    return np.array([spread.centre])


def fx_value(text: str, uncertain: dict[str, Any]) -> float:
    """--fx: one number (checked against its range with the others), or a range a~b."""
    from subsidybench.cost.uncertainty import parse_spread

    spread = parse_spread(text, "--fx")
    if spread is not None:
        uncertain["fx"] = spread
        return spread.centre
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--fx: expected a number or a range a~b, got {text!r}") from None


def train_pair(text: str) -> tuple[float, float]:
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise UserError(f"--train: expected PARAMS:TOKENS, e.g. 7e9:2e12, got {text!r}") from None


def date_value(text: str, flag: str) -> datetime.date:
    """A day given as YYYY-MM-DD."""
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{flag}: expected a day as YYYY-MM-DD, got {text!r}") from None
