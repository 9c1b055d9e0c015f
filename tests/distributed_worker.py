"""A torchrun entry point for the tests: the distributed runner with one task that goes wrong.

Run as `torchrun --nproc-per-node 2 tests/distributed_worker.py OUT MODE TIMEOUT_S`. The first
task is a small all-reduce that finishes; in the second, rank 1 misbehaves as MODE says:
  sleep  rank 1 sleeps in every step, past the group's timeout (a hung rank);
  exit   rank 1 exits while preparing (a rank that dies).
Prints what the CLI would (`error: ...`) and exits 1 on a UserError.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from subsidybench.devices import Device, resolve_device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.distributed import Group, Members, launch_from_env
from subsidybench.measure.distributed_plan import CollectiveTask, run_distributed
from subsidybench.measure.runner import Terminated
from subsidybench.measure.tasks import Prepared
from subsidybench.results.record import WorkloadResult
from subsidybench.results.scaling import Collective
from subsidybench.suites import Suite, SuiteEntry
from subsidybench.timing import TimingPolicy
from subsidybench.work import Work
from subsidybench.workloads.base import Step


@dataclass(frozen=True, slots=True)
class Misbehaving:
    """An all-reduce task whose rank 1 hangs or dies."""

    inner: CollectiveTask
    mode: str

    @property
    def id(self) -> str:
        return self.inner.id.replace("all_reduce", "misbehaving")

    @property
    def world_size(self) -> int:
        return self.inner.world_size

    @property
    def dtype(self) -> DType:
        return self.inner.dtype

    @property
    def policy(self) -> TimingPolicy:
        return self.inner.policy

    def skeleton(self) -> WorkloadResult:
        return self.inner.skeleton()

    def work(self) -> Work:
        return self.inner.work()

    def prepare(self, device: Device, members: Members) -> Prepared:
        rank = int(os.environ["RANK"])
        if self.mode == "exit" and rank == 1:
            os._exit(1)
        prepared = self.inner.prepare(device, members)
        inner_run = prepared.run.run

        def run() -> None:
            if rank == 1:
                time.sleep(120)
            inner_run()

        return Prepared(Step(run=run), verify=prepared.verify)


def main() -> int:
    out, mode, timeout_s = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    launch = launch_from_env()
    group = Group(launch, resolve_device("cpu"), "gloo", timeout_s)
    group.start()
    policy = TimingPolicy(budget_s=0.05)
    first = CollectiveTask(Collective.ALL_REDUCE, 4096, launch.world_size, policy)
    tasks = [first, Misbehaving(first, mode)]
    suite = Suite("test", 1, "", (SuiteEntry("matmul", {}, (DType.FP32,), 0.05),), "test")
    try:
        run_distributed(tasks, group, out, suite=suite)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    except Terminated as e:
        print(f"rank {launch.rank}: {e}", file=sys.stderr, flush=True)
        return 143
    return 0


if __name__ == "__main__":
    sys.exit(main())
