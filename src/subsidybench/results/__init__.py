"""Results: the versioned run record, ingest, utilisation, run comparison, query and scaling."""

from subsidybench.results.record import load_run, save_run, to_dataframe

__all__ = ["load_run", "save_run", "to_dataframe"]
