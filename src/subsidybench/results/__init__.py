"""Results: the versioned run record, ingest, query, utilisation, run comparison and scaling.

Imports only the vocabulary modules; torch-free.
"""

from typing import Any

# Resolved on first use (PEP 562): importing one submodule (results.serving, say) must not
# import the record, its timing statistics and numpy with it; `cost` reads no run file.
_EXPORTS = {
    "load_run": "subsidybench.results.record",
    "save_run": "subsidybench.results.record",
    "to_dataframe": "subsidybench.results.frame",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
