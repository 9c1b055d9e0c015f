"""Options several command groups share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from subsidybench import bounds

ProfilesDir = Annotated[
    list[Path] | None,
    typer.Option(
        "--profiles-dir",
        help="A directory laid out like profiles/ (devices/NAME.toml, subsidies/NAME.toml),"
        " searched before the built-in catalogue and SUBSIDYBENCH_PROFILES; repeatable.",
    ),
]

IntervalAlpha = Annotated[
    float,
    typer.Option(
        "--alpha",
        callback=bounds.option("--alpha", bounds.ALPHA),
        help="Chance that any of the workloads compared is called changed when none is, in (0, 1):"
        " each interval is at alpha / the number of workloads.",
    ),
]
"""compare's and ab's: the interval a ratio is called on."""

TestAlpha = Annotated[
    float,
    typer.Option(
        "--alpha",
        callback=bounds.option("--alpha", bounds.ALPHA),
        help="Significance level of the test.",
    ),
]
"""history's and gate's: the step test's level."""

MinEffect = Annotated[
    float,
    typer.Option(
        "--min-effect",
        metavar="PCT",
        callback=bounds.option("--min-effect", bounds.PERCENT),
        help="Smallest change called, in per cent: smaller significant differences are shown as"
        " 'small', and a pair whose interval cannot see it says 'cannot tell'. Default 5 (see"
        " README, Comparing runs).",
    ),
]
