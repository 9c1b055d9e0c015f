"""Workloads, registered by name. Importing this package registers every built-in workload."""

from subsidybench.workloads import (  # noqa: F401  (registration)
    attention,
    bandwidth,
    cnn,
    conv,
    gpt,
    llama,
    matmul,
    mlp,
    norm,
    serving,
    transfer,
)
from subsidybench.workloads.base import WORKLOADS, Family, Step, Workload, make_workload

__all__ = ["WORKLOADS", "Family", "Step", "Workload", "make_workload"]
