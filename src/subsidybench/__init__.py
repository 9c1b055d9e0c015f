"""subsidybench: measure what an accelerator really does, then cost how far a compute subsidy goes."""

__version__ = "0.1.0"
