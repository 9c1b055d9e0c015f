"""The job a cost question asks about, and the cluster it runs on, as its Request states them.

scenario.resolve calls these: which job was given (train, serve, hours, contract, or a reach),
the Job record it makes, and how many devices share it at what scaling efficiency (given, or
measured by a distributed run). Torch-free.
"""

from __future__ import annotations

import numpy as np

from subsidybench.cost.device import Device
from subsidybench.cost.jobs import ContractJob, HoursJob, Job, ServeJob, TrainJob
from subsidybench.cost.request import Request
from subsidybench.cost.throughput import ThroughputAxis
from subsidybench.errors import UserError, named
from subsidybench.provenance import Assumption, Basis

JOBS = ("train", "serve", "hours", "contract")


def job_kind(r: Request) -> str:
    given = [k for k in JOBS if r.given(k)]
    if r.train is not None and r.hours is not None:
        given.remove("hours")  # a training job and the device-hours it took: implied throughput
    if r.reach is not None:
        if [k for k in given if k != "train"]:
            raise UserError(
                f"{named('reach')} asks how far a subsidy goes: give no other job than"
                f" {named('train')}"
            )
        return "reach"
    if not given:
        raise UserError(
            f"give a job: {named('train')} PARAMS:TOKENS, {named('serve')} TOKENS, {named('hours')}"
            f" or {named('contract')}"
        )
    if len(given) > 1:
        raise UserError(f"give one job, not {' and '.join(named(k) for k in given)}")
    return given[0]


def train_job(r: Request) -> TrainJob:
    assert r.train is not None
    n, d = r.train
    layers = None if r.layers is None else int(r.layers)
    seq = None if r.seq_len is None else int(r.seq_len)
    return TrainJob(n, d, layers, r.attention_width, seq, r.total_params)


def job_of(r: Request, kind: str, rate: ThroughputAxis | None) -> Job | None:
    if r.total_params is not None and r.train is None:
        raise UserError(
            f"{named('total_params')} goes with {named('train')} (which takes the activated"
            " parameters)"
        )
    if kind == "reach":
        return train_job(r) if r.train is not None else None
    if kind == "train" or (rate is not None and rate.implied):
        return train_job(r)
    if kind == "serve":
        assert r.serve is not None
        return ServeJob(r.serve, r.params)
    if kind == "hours":
        return HoursJob(float(np.asarray(r.hours).reshape(-1)[0]))
    return ContractJob(float(np.asarray(r.contract).reshape(-1)[0]))


def cluster_inputs(
    r: Request, kind: str, scaled: bool, notes: list[Assumption], device: Device | None
) -> tuple[np.ndarray | None, bool, np.ndarray | None, Basis, str]:
    """Devices (None: not known) and the scaling efficiency, where a per-device rate is scaled.

    A system rented whole (a system profile) is its device count, or whole multiples of it."""
    devices = r.devices
    whole = device.system_devices if device is not None else None
    if whole is not None:
        if devices is None:
            devices = np.array([float(whole)])
        elif np.any(devices % whole):
            raise UserError(
                f"{named('devices')}: {device.id} is rented whole: give a multiple of {whole}"
            )
    eff = r.scaling_efficiency
    basis, source = Basis.GIVEN, "an assumption, not measured"
    if r.scaling_from is not None:
        from subsidybench.results.record import load_run
        from subsidybench.results.scaling import efficiency_for

        if eff is not None:
            raise UserError(
                f"give {named('scaling_efficiency')} or {named('scaling_from')}, not both"
            )
        if devices is None or devices.size != 1:
            raise UserError(
                f"{named('scaling_from')} takes one {named('devices')} value: an efficiency is"
                " measured for one size"
            )
        path = r.scaling_from
        n = int(devices[0])
        m = efficiency_for(load_run(path), str(path), n, r.scaling_workload, r.force)
        if m.value > 1:
            raise UserError(
                f"{path}: measured scaling efficiency {m.value:.1%} is above 100% "
                f"({m.source}); a cost cannot rest on more than perfect scaling: "
                f"measure again, or give {named('scaling_efficiency')} 1"
            )
        eff, basis, source = np.array([m.value]), m.basis, m.source
    elif r.scaling_workload is not None:
        raise UserError(
            f"{named('scaling_workload')} picks a series of {named('scaling_from')}: give that too"
        )
    devices_given = devices is not None
    if eff is not None and not scaled:
        raise UserError(
            f"{named('scaling_efficiency')} scales a per-device rate to a cluster; this job"
            " has none to scale (device-hours or money, no throughput): drop it"
        )
    if scaled and eff is None:
        if devices is not None and devices.max() > 1:
            raise UserError(
                f"more than one device scales a per-device rate: give {named('scaling_efficiency')}"
                " (1.0 = perfect scaling; measured clusters reach less)"
            )
        eff = np.array([1.0])
    if devices is None and scaled and kind in ("train", "serve"):
        devices = np.array([1.0])  # Cluster says "not given: taken as 1"
    return devices, devices_given, eff, basis, source
