"""torch.distributed for subsidybench: the process group, the collectives it times, and DDP.

The only module that calls torch.distributed. It never launches processes: torchrun does
(`torchrun --nproc-per-node N -m subsidybench run --distributed`), and each process finds its rank
in the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE).

Every rank must make the same collective calls in the same order, or the group hangs. Two rules
keep them in step: a failure on one rank is told to the others through a collective of its own
(`Members.first_failure`) before anyone moves on, and time-based decisions are taken on times all
ranks share (`Members.agree`, the slowest rank's). What these rules cannot catch (a rank that
dies, or hangs inside a collective) the process group's timeout does: the collective raises after
`timeout_s` and the caller stops the run, keeping what was saved.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import socket
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from subsidybench.backends import DEVICE_TYPES
from subsidybench.devices import Device, auto_device, resolve_device
from subsidybench.errors import UserError
from subsidybench.results.scaling import Collective

_TORCHRUN = "torchrun --nproc-per-node N -m subsidybench run --distributed"


class GroupBroken(Exception):
    """A collective failed: a rank died, hung past the timeout, or the transport broke."""


@dataclass(frozen=True, slots=True)
class Launch:
    """Where this process sits in the group, as torchrun's environment says."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int

    def __post_init__(self) -> None:
        if not (0 <= self.rank < self.world_size):
            raise UserError(f"RANK {self.rank} is outside WORLD_SIZE {self.world_size}")
        if not (0 <= self.local_rank < self.local_world_size):
            raise UserError(
                f"LOCAL_RANK {self.local_rank} is outside LOCAL_WORLD_SIZE {self.local_world_size}"
            )


def launch_from_env(env: Mapping[str, str] | None = None) -> Launch:
    """Read this process's place from torchrun's variables; a UserError if it was not launched."""
    env = os.environ if env is None else env
    needed = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
    missing = [k for k in needed if k not in env]
    if missing:
        raise UserError(
            f"--distributed runs under torchrun ({', '.join(missing)} not set): {_TORCHRUN}"
        )
    try:
        world = int(env["WORLD_SIZE"])
        return Launch(
            rank=int(env["RANK"]),
            world_size=world,
            local_rank=int(env["LOCAL_RANK"]),
            local_world_size=int(env.get("LOCAL_WORLD_SIZE", world)),
        )
    except ValueError as e:
        raise UserError(f"torchrun's environment is not numbers: {e}") from None


def backend_for(device_type: str) -> str:
    """The torch.distributed backend for a device type (the backends table, else torch's)."""
    known = DEVICE_TYPES.get(device_type)
    if known is not None and known.collective is not None:
        return known.collective
    try:
        return str(dist.get_default_backend_for_device(device_type))
    except (ValueError, RuntimeError, AttributeError):
        raise UserError(
            f"no torch.distributed backend is known for {device_type}: give --backend"
        ) from None


def rank_device(spec: str, launch: Launch) -> Device:
    """This rank's device: the cpu for every rank, or accelerator number LOCAL_RANK."""
    if ":" in spec:
        raise UserError(
            f"--device {spec!r}: with --distributed each rank takes the device numbered by its "
            "LOCAL_RANK; give the type only (cuda, npu, ...)"
        )
    first = auto_device() if spec.strip().lower() == "auto" else resolve_device(spec)
    if first.type == "cpu":
        return first
    return resolve_device(f"{first.type}:{launch.local_rank}")


def _version(backend: str) -> str | None:
    if backend == "nccl" and torch.cuda.is_available():
        return ".".join(str(v) for v in torch.cuda.nccl.version())
    return None


def one_line(e: BaseException) -> str:
    """The first sentence of an error, without the C++ source location gloo and nccl put first
    (gloo follows the cause with advice and an emoji: "... reset by peer. This is typically")."""
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]
    return text.split(". ", 1)[0].rstrip(".")


class Members:
    """The first `size` ranks of the group: those that measure a task together."""

    def __init__(self, size: int, handle: object | None, device: Device, rank: int) -> None:
        self.size = size
        self.handle = handle
        """The torch process group of these ranks; None for one rank alone (no collectives)."""
        self.device = device
        self.includes_me = rank < size

    def agree(self, seconds: float) -> float:
        """The slowest member's figure: every member gets the same number back."""
        if self.handle is None:
            return seconds
        # float64 where the backend reduces it (gloo, nccl); a duration in seconds needs no more.
        t = torch.tensor([seconds], dtype=torch.float64, device=self.device.torch_device)
        try:
            dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.handle)
        except Exception as e:  # a dead or hung rank: nothing after this can be trusted
            raise GroupBroken(one_line(e)) from e
        return float(t.item())

    def first_failure(self, reason: str | None) -> str | None:
        """Tell every member whether any failed: the first failing rank's reason, or None."""
        if self.handle is None:
            return reason
        reasons: list[str | None] = [None] * self.size
        try:
            dist.all_gather_object(reasons, reason, group=self.handle)
        except Exception as e:
            raise GroupBroken(one_line(e)) from e
        for rank, why in enumerate(reasons):
            if why is not None:
                return why if self.size == 1 else f"rank {rank}: {why}"
        return None


class Group:
    """The process group of a torchrun launch, and subgroups of its first n ranks."""

    def __init__(self, launch: Launch, device: Device, backend: str, timeout_s: float) -> None:
        self.launch = launch
        self.device = device
        self.backend = backend
        self.timeout_s = timeout_s
        self._members: dict[int, Members] = {}

    @property
    def rank(self) -> int:
        return self.launch.rank

    @property
    def world_size(self) -> int:
        return self.launch.world_size

    @property
    def backend_version(self) -> str | None:
        return _version(self.backend)

    def start(self) -> None:
        """Join the group; every rank waits up to the timeout for the others to arrive."""
        self.device.make_current()
        bound = None if self.device.index is None else self.device.torch_device
        try:
            dist.init_process_group(
                self.backend,
                timeout=datetime.timedelta(seconds=self.timeout_s),
                device_id=bound,
            )
        except (RuntimeError, ValueError) as e:
            raise UserError(
                f"rank {self.rank}: cannot start the {self.backend} process group: {one_line(e)}"
            ) from None

    def stop(self) -> None:
        if dist.is_initialized():
            dist.destroy_process_group()

    def make_members(self, sizes: Sequence[int]) -> None:
        """Create the subgroups of the first n ranks for every n in `sizes`.

        torch requires every rank to create every subgroup, members or not, in the same order.
        """
        for n in sorted(set(sizes)):
            if not (1 <= n <= self.world_size):
                raise UserError(f"world size {n} is outside 1..{self.world_size}")
            if n == 1:
                handle = None
            elif n == self.world_size:
                handle = dist.group.WORLD
            else:
                handle = dist.new_group(list(range(n)))
            self._members[n] = Members(n, handle, self.device, self.rank)

    def members(self, n: int) -> Members:
        return self._members[n]

    def barrier(self) -> None:
        """Wait for every rank (those idle during a task wait here for those measuring)."""
        try:
            dist.barrier()
        except Exception as e:
            raise GroupBroken(one_line(e)) from e

    def topology(self) -> tuple[int, ...]:
        """Ranks on each node, largest first, found by comparing host names across ranks.

        The names are hashed only to be compared here; neither they nor the hashes are kept.
        """
        mine = hashlib.sha256(socket.gethostname().encode()).hexdigest()
        hosts: list[str | None] = [None] * self.world_size
        try:
            dist.all_gather_object(hosts, mine)
        except Exception as e:
            raise GroupBroken(one_line(e)) from e
        return tuple(sorted(Counter(hosts).values(), reverse=True))


def _single(name: str, old: str) -> Callable[..., object]:
    # torch 2.13 renames all_gather_into_tensor and reduce_scatter_tensor to *_single and warns
    # on the old names; older releases (2.4+) have only the old ones.
    return getattr(dist, name, None) or getattr(dist, old)


@dataclass(frozen=True, slots=True)
class CollectiveStep:
    """Buffers for one collective on the members, what one call does, and its checks."""

    op: Collective
    nbytes: int
    """S as nccl-tests defines it: the whole array (all ranks' parts for gather and scatter)."""
    run: Callable[[], None]
    verify: Callable[[], str | None]
    """Run the collective once on known values and compare: None if right, else what is wrong."""
    check: Callable[[], str | None]
    """After timing: the buffers hold zeros still (the timed calls moved and summed zeros)."""


def collective(op: Collective, members: Members, nbytes: int) -> CollectiveStep:
    """Allocate fp32 buffers for `op` over `nbytes` (rounded down to whole elements per rank).

    Timing runs on zeros: a sum of zeros stays zero, where summing ones in place for thousands
    of calls would overflow to inf. `verify` runs first on values that tell the ranks apart.
    """
    n, device = members.size, members.device.torch_device
    group = members.handle
    count = nbytes // 4 // n  # elements per rank's part
    if count < 1:
        raise UserError(f"{op}: {nbytes} bytes is less than one fp32 element per rank")
    total = count * n
    rank = dist.get_rank(group) if group is not None else 0
    expected_sum = n * (n + 1) / 2  # rank r contributes r + 1

    def zeros(k: int) -> torch.Tensor:
        return torch.zeros(k, dtype=torch.float32, device=device)

    if op is Collective.ALL_REDUCE:
        buf = zeros(total)

        def run() -> None:
            dist.all_reduce(buf, group=group)

        def verify() -> str | None:
            buf.fill_(rank + 1)
            run()
            ok = bool((buf == expected_sum).all())
            buf.zero_()
            return None if ok else f"all_reduce gave the wrong sum (expected {expected_sum:g})"

        outputs = [buf]
    elif op is Collective.ALL_GATHER:
        part, whole = zeros(count), zeros(total)
        gather = _single("all_gather_single", "all_gather_into_tensor")

        def run() -> None:
            gather(whole, part, group=group)

        def verify() -> str | None:
            part.fill_(rank + 1)
            run()
            want = torch.arange(1, n + 1, dtype=torch.float32, device=device).repeat_interleave(
                count
            )
            ok = bool((whole == want).all())
            part.zero_()
            whole.zero_()
            return None if ok else "all_gather put the parts in the wrong places"

        outputs = [part, whole]
    elif op is Collective.REDUCE_SCATTER:
        whole, part = zeros(total), zeros(count)
        scatter = _single("reduce_scatter_single", "reduce_scatter_tensor")

        def run() -> None:
            scatter(part, whole, group=group)

        def verify() -> str | None:
            whole.fill_(rank + 1)
            run()
            ok = bool((part == expected_sum).all())
            whole.zero_()
            part.zero_()
            return None if ok else f"reduce_scatter gave the wrong sum (expected {expected_sum:g})"

        outputs = [whole, part]
    else:
        buf = zeros(total)
        root = dist.get_global_rank(group, 0) if group is not None else 0

        def run() -> None:
            dist.broadcast(buf, src=root, group=group)

        def verify() -> str | None:
            buf.fill_(7.0 if rank == 0 else 0.0)
            run()
            ok = bool((buf == 7.0).all())
            buf.zero_()
            return None if ok else "broadcast did not deliver the root's values"

        outputs = [buf]

    def check() -> str | None:
        if all(bool((t == 0).all()) for t in outputs):
            return None
        return f"{op}: buffers changed while timing zeros (values not zero or not finite)"

    def guarded(f: Callable[[], str | None]) -> Callable[[], str | None]:
        def call() -> str | None:
            try:
                return f()
            except Exception as e:  # the collective itself failed: the group cannot go on
                raise GroupBroken(one_line(e)) from e

        return call

    return CollectiveStep(op, total * 4, run, guarded(verify), check)


def data_parallel(model: nn.Module, members: Members) -> nn.Module:
    """Wrap `model` in DistributedDataParallel over the members (a collective: all must call)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = None if members.device.index is None else [members.device.index]
    try:
        return DistributedDataParallel(model, device_ids=ids, process_group=members.handle)
    except (RuntimeError, dist.DistError) as e:
        raise GroupBroken(one_line(e)) from e
