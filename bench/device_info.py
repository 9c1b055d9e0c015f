"""The device, driver and software a device check runs on; with --energy, its energy reader.

    python bench/device_info.py cuda|cpu [--energy]

Run by bench/device_check.sh with PYTHONPATH=src (the package need not be installed).
"""

from __future__ import annotations

import sys

import torch

from subsidybench.devices import resolve_device
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.measure.energy import start_session
from subsidybench.measure.environment import capture


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("cuda", "cpu") or argv[1:] not in ([], ["--energy"]):
        print("usage: device_info.py cuda|cpu [--energy]", file=sys.stderr)
        return 2
    try:
        device = resolve_device(argv[0])
    except UserError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    if argv[1:] == ["--energy"]:
        # Idle power over two seconds, read the way every workload's energy is read.
        print(start_session(device, idle_s=2.0).setup.describe())
        return 0
    env = capture(device)
    print(f"device: {device} ({device.name}), {env.device_count} of its kind")
    print(f"driver: {env.driver or 'not reported'}; runtime: {env.backend_version or '-'}")
    print(f"torch {env.torch_version}, python {env.python}, {env.os}")
    print(f"host cpu: {env.cpu_model}, {env.cpu_count} cpus; plugins: {dict(env.plugins)}")
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device.torch_device)
        print(
            f"compute capability {props.major}.{props.minor}, {props.total_memory / 2**30:.0f}"
            f" GiB, {props.multi_processor_count} SMs"
        )
    for dtype in DType:
        support = device.dtype_support(dtype)
        why = f" ({support.reason})" if support.reason else ""
        print(f"  {dtype}: {support.support.value}{why}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
