"""Validating catalogue files of every kind, each read by the reader that costing uses.

`profiles validate` once read device profiles only: a programme paying 150% or an exchange rate
of NaN beside them was reported "OK". Every kind a catalogue directory holds is read here.
Torch-free.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from subsidybench.catalogue import paths as catalogue
from subsidybench.errors import UserError

KINDS = ("devices", "systems", "subsidies", "fx")


def kind_of(path: Path) -> str:
    """A file's kind by the folder it sits in; a loose file is a device profile."""
    return path.parent.name if path.parent.name in KINDS else "devices"


def given_files(paths: Sequence[Path]) -> list[tuple[str, Path]]:
    """(kind, file) for files, kind folders, and catalogue roots holding kind folders; a folder
    of neither is read as a folder of device profiles."""
    found: list[tuple[str, Path]] = []
    for path in paths:
        if path.is_dir():
            kinds = [k for k in KINDS if (path / k).is_dir()]
            if path.name in KINDS:
                found += [(path.name, p) for p in sorted(path.glob("*.toml"))]
            elif kinds:
                found += [(k, p) for k in kinds for p in sorted((path / k).glob("*.toml"))]
            else:
                found += [("devices", p) for p in sorted(path.glob("*.toml"))]
        elif path.is_file():
            found.append((kind_of(path), path))
        else:
            raise UserError(f"{path}: no such file or directory")
    return found


def catalogue_files(extra: Sequence[Path]) -> list[tuple[str, Path]]:
    """(kind, file) of every file of the catalogue, user directories included."""
    return [(k, p) for k in KINDS for _, p in sorted(catalogue.files(k, extra).items())]


def read(kind: str, path: Path, extra: Sequence[Path]) -> None:
    """Read one file as its kind; a bad one raises UserError naming the file and the field."""
    # A path that is neither *.toml nor has a separator would be read as a name.
    text = str(path) if os.sep in str(path) else f".{os.sep}{path}"
    if kind == "devices":
        from subsidybench.catalogue.profiles import load_profile

        load_profile(text, extra)
    elif kind == "systems":
        from subsidybench.catalogue.systems import load_system

        load_system(text, extra)
    elif kind == "subsidies":
        from subsidybench.catalogue.subsidies import load_programme

        load_programme(text, extra)
    else:
        from subsidybench.catalogue.fx import read_rate

        read_rate(path)
