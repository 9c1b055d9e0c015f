"""subsidybench: measure what an accelerator does, then cost how far a compute subsidy goes."""

__version__ = "0.1.0"
