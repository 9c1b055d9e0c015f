"""Results: the versioned run record, ingest, query, utilisation, run comparison and scaling.

Imports only the vocabulary modules; torch-free.
"""

from subsidybench.results.frame import to_dataframe
from subsidybench.results.record import load_run, save_run

__all__ = ["load_run", "save_run", "to_dataframe"]
