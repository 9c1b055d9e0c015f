"""Workloads, registered by name. Importing this package registers every built-in workload."""

from subsidybench.workloads import bandwidth, cnn, gpt, matmul, mlp  # noqa: F401  (registration)
from subsidybench.workloads.base import WORKLOADS, Family, Step, Workload, make_workload

__all__ = ["WORKLOADS", "Family", "Step", "Workload", "make_workload"]
