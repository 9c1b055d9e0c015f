"""The inputs an answer rests on, printed beside it: name, value, where it came from, source.

A cost a finance team pays on must say which figures were measured, which were given by hand and
which were estimated; every answer of the cost model carries a list of these records.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Basis(StrEnum):
    """Where an input of the model comes from."""

    MEASURED = "measured"
    GIVEN = "given by hand"
    ESTIMATE = "estimate"
    VENDOR = "vendor"
    PROGRAMME = "programme"
    DATA = "data file"
    DERIVED = "derived"
    NOT_APPLIED = "not applied"


@dataclass(frozen=True, slots=True)
class Assumption:
    """One input an answer used: its value, where it came from and the source."""

    name: str
    value: str
    basis: Basis
    source: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.value:
            raise ValueError("an assumption needs a name and a value")

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "value": self.value,
            "basis": self.basis.value,
            "source": self.source,
        }
