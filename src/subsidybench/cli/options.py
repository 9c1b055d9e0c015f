"""Options several command groups share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ProfilesDir = Annotated[
    list[Path] | None,
    typer.Option(
        "--profiles-dir",
        help="A directory laid out like profiles/ (devices/NAME.toml, subsidies/NAME.toml),"
        " searched before the built-in catalogue and SUBSIDYBENCH_PROFILES; repeatable.",
    ),
]
