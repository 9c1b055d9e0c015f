"""`subsidybench devices`: what this machine can run on."""

from __future__ import annotations

from rich.table import Table

from subsidybench.dtypes import DType
from subsidybench.report.terminal import console as render_console

_SHOWN = (DType.FP32, DType.TF32, DType.BF16, DType.FP16)


def devices() -> None:
    """List the devices present, and which dtypes each runs natively."""
    from subsidybench.devices import auto_device, present_devices

    chosen = auto_device()
    table = Table("device", "name", *(d.value for d in _SHOWN), "auto")
    for dev in present_devices():
        cells = [dev.dtype_support(d).support.value for d in _SHOWN]
        table.add_row(str(dev), dev.name, *cells, "←" if str(dev) == str(chosen) else "")
    render_console().print(table)
