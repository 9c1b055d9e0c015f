"""`subsidybench run` and `subsidybench suites`: measure a suite on a device."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from subsidybench import bounds
from subsidybench.cli import EXIT_INTERRUPTED
from subsidybench.cli.options import ProfilesDir
from subsidybench.dtypes import DType
from subsidybench.errors import UserError
from subsidybench.report.terminal import console as render_console
from subsidybench.results.record import RunResult, WorkloadResult

EXIT_TERMINATED = 143  # 128 + SIGTERM, as shells report it

_DTYPES = ", ".join(d.value for d in DType)


def _split(values: list[str] | None) -> list[str]:
    """Flags given as repeats or comma lists: --only a,b --only c -> [a, b, c]."""
    return [part.strip() for v in values or [] for part in v.split(",") if part.strip()]


def _parse_dtypes(values: list[str] | None) -> list[DType]:
    known = {d.value: d for d in DType}
    out = []
    for v in _split(values):
        if v not in known:
            raise UserError(f"--dtype: {v!r} is not one of: {_DTYPES}")
        out.append(known[v])
    return out


class _ProgressObserver:
    """Shows a progress bar on stderr while the runner works."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None)

    def planned(self, ids: list[str]) -> None:
        self.progress.update(self.task, total=len(ids))

    def started(self, id: str) -> None:
        self.progress.update(self.task, description=id)

    def finished(self, result: WorkloadResult) -> None:
        self.progress.advance(self.task)


def run(
    suite: Annotated[
        str, typer.Option(help="Suite name (see `subsidybench suites`) or a suite TOML file.")
    ] = "ci",
    device: Annotated[
        str,
        typer.Option(help="auto (best accelerator present, else cpu), cpu, cuda, cuda:1, npu, ..."),
    ] = "auto",
    dtype: Annotated[
        list[str] | None,
        typer.Option(help=f"Only these dtypes ({_DTYPES}); repeat or comma-separate."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Only these workloads of the suite; repeat or comma-separate."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Result file (JSON). Default: runs/<time>-<suite>-<device>.json."),
    ] = None,
    include_emulated: Annotated[
        bool,
        typer.Option(
            help="Also time dtypes the device only emulates (bounded by each workload's budget)."
        ),
    ] = False,
    compile: Annotated[
        bool,
        typer.Option(
            "--compile",
            help="Also run the model workloads under torch.compile, as separate results.",
        ),
    ] = False,
    budget: Annotated[
        float | None,
        typer.Option(
            callback=bounds.option("--budget", bounds.BUDGET_S),
            help="Seconds of timed blocks per workload, up to 3600 (default: the suite's).",
        ),
    ] = None,
    rounds: Annotated[
        int | None,
        typer.Option(
            callback=bounds.option("--rounds", bounds.ROUNDS),
            help="Interleaved rounds (1 to 100): every workload is timed this many times over the"
            " run, each for budget/rounds, so its samples span the run's conditions (default:"
            " the suite's, 3 for the built-in suites).",
        ),
    ] = None,
    one_process: Annotated[
        bool,
        typer.Option(
            "--one-process",
            help="Measure every round in this process, as before method 3. By default each"
            " round runs in a worker process of its own, so that a result's spread holds what"
            " changes between processes (allocator, thread placement, kernel choice).",
        ),
    ] = False,
    profiles_dir: ProfilesDir = None,
    threads: Annotated[
        int | None,
        typer.Option(
            callback=bounds.option("--threads", bounds.threads),
            help="CPU threads for torch, 1 to 4 per core (default: torch's choice).",
        ),
    ] = None,
    distributed: Annotated[
        bool,
        typer.Option(
            "--distributed",
            help="Run under torchrun: collectives (all_reduce, all_gather, reduce_scatter,"
            " broadcast) and the suite's gpt_train under DDP at world sizes 1..N; rank 0 writes"
            " the result. Launch: torchrun --nproc-per-node N -m subsidybench run --distributed.",
        ),
    ] = False,
    sizes: Annotated[
        list[str] | None,
        typer.Option(
            help="--distributed: collective message sizes (4096, 64KiB, 256MiB, 1GiB); repeat"
            " or comma-separate. Default: 1KiB..256MiB on the cpu, 1KiB..4GiB on accelerators.",
        ),
    ] = None,
    world_sizes: Annotated[
        list[str] | None,
        typer.Option(
            help="--distributed: world sizes for data-parallel scaling (default: 1, 2, 4, ...,"
            " and the ranks launched).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            callback=bounds.option("--timeout", bounds.TIMEOUT_S),
            help="--distributed: seconds a rank waits for the others in one collective (and"
            " between tasks) before the run stops, keeping what finished. Default 300.",
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            help="--distributed: torch.distributed backend (default by device: gloo on cpu,"
            " nccl on cuda, hccl on npu, ...).",
        ),
    ] = None,
) -> None:
    """Run a benchmark suite and save the result; the file is written as the run goes."""
    import torch

    if distributed:
        if rounds is not None:
            raise UserError("--rounds: a --distributed run measures each task in one round")
        _run_distributed(
            suite,
            device,
            _parse_dtypes(dtype),
            _split(only),
            out,
            include_emulated,
            budget,
            profiles_dir or [],
            threads,
            _split(sizes),
            _split(world_sizes),
            300.0 if timeout is None else timeout,
            backend,
        )
        return
    given = {
        "--sizes": sizes,
        "--world-sizes": world_sizes,
        "--timeout": timeout,
        "--backend": backend,
    }
    if stray := [flag for flag, value in given.items() if value is not None]:
        raise UserError(f"{', '.join(stray)} only apply with --distributed")

    from subsidybench.catalogue.profiles import match_profile
    from subsidybench.devices import resolve_device
    from subsidybench.measure.runner import run_suite
    from subsidybench.report.terminal import run_header, run_table
    from subsidybench.suites import load_suite, select

    chosen_suite = select(load_suite(suite), _split(only))
    dtypes = _parse_dtypes(dtype)
    dev = resolve_device(device)
    profile = match_profile(dev.name, dev.type, profiles_dir or [])
    if threads is not None:
        torch.set_num_threads(threads)
    out = _result_path(out, f"{chosen_suite.name}-{dev.type}")
    if one_process or (rounds or chosen_suite.rounds) == 1:
        measure = functools.partial(run_suite, rounds=rounds)
    else:
        from subsidybench.measure.worker import run_suite_in_workers

        measure = functools.partial(
            run_suite_in_workers, rounds=rounds, threads=torch.get_num_threads()
        )
    result = _measure(
        lambda observer: measure(
            chosen_suite,
            dev,
            out,
            dtypes=dtypes,
            include_emulated=include_emulated,
            compiled=compile,
            budget_s=budget,
            profile=profile,
            observer=observer,
        ),
        out,
    )
    console = render_console()
    console.print(run_header(result, str(out)))
    table, notes = run_table(result, width=console.width)
    console.print(table)
    for line in notes:
        console.print(line, highlight=False)
    invalid = [r.id for r in result.results if r.verdict is not None and not r.verdict.valid]
    if invalid:
        console.print(
            f"[yellow]{len(invalid)} result(s) are not valid figures: see the verdict column.[/]"
        )
    console.print(next_steps(result, out), highlight=False, markup=False)


def next_steps(result: RunResult, out: Path) -> str:
    """One line after a run: where the result is, and the commands that read it."""
    valid = [r for r in result.results if r.verdict is not None and r.verdict.valid]
    cost = f"subsidybench cost --run {out} --workload '{valid[0].id}' ..." if valid else ""
    return (
        f"saved {out}; next: subsidybench show {out} | subsidybench report {out}"
        + (f" | {cost}" if cost else "")
        + f" | subsidybench compare OLD.json {out}"
    )


def _measure(
    start: Callable[[_ProgressObserver], RunResult], out: Path, rank: int | None = None
) -> RunResult:
    """Run with a progress bar (on rank 0 alone); Ctrl-C or SIGTERM: one line, the file kept."""
    from subsidybench.measure.runner import SaveFailed, Terminated

    leader = not rank
    who = "" if rank is None else f"rank {rank}: "
    with _progress(disable=not leader) as progress:
        try:
            return start(_ProgressObserver(progress))
        except (KeyboardInterrupt, Terminated) as e:
            progress.stop()
            kept = f": finished workloads are saved in {out}" if leader else ""
            why = f" ({e})" if str(e) else ""
            typer.echo(f"{who}interrupted{why}{kept}", err=True)
            code = EXIT_TERMINATED if isinstance(e, Terminated) else EXIT_INTERRUPTED
            raise typer.Exit(code) from None
        except SaveFailed as e:
            # The results in memory are shown (stdout); the one error line follows (stderr).
            progress.stop()
            if leader and e.run.results:
                from subsidybench.report.terminal import run_table

                table, _ = run_table(e.run)
                render_console().print(table)
            raise


def _progress(disable: bool = False) -> Progress:
    """The progress bar a run draws on stderr while it measures."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        # The time left at the pace so far: tasks differ, so it firms up as the run goes.
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=disable,
    )


def _result_path(out: Path | None, name: str, check: bool = True) -> Path:
    """--out, or runs/<time>-NAME.json; never a file that exists (when `check`).

    Checked here to fail before measuring; the runner's first save claims the path atomically,
    so two runs that both pass this check cannot both write it."""
    if out is None:
        out = Path("runs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{name}.json"
        if check and out.exists():
            raise UserError(
                f"{out} exists: another run started in the same second; start again, or give --out"
            )
        try:  # the default folder is the tool's to make; a folder --out names is the user's
            out.parent.mkdir(exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create {out.parent}: {e.strerror or e}") from None
        return out
    if check and out.exists():
        raise UserError(f"--out: {out} exists; choose another path or move it away")
    return out


def _run_distributed(
    suite_name: str,
    device: str,
    dtypes: list[DType],
    only: list[str],
    out: Path | None,
    include_emulated: bool,
    budget: float | None,
    profiles_dir: list[Path],
    threads: int | None,
    sizes: list[str],
    world_sizes: list[str],
    timeout_s: float,
    backend: str | None,
) -> None:
    """`run --distributed` on one rank of a torchrun launch; rank 0 saves and prints."""
    import torch

    from subsidybench.catalogue.profiles import match_profile
    from subsidybench.measure.distributed import Group, backend_for, launch_from_env, rank_device
    from subsidybench.measure.distributed_plan import parse_size, plan_distributed, run_distributed
    from subsidybench.report.terminal import (
        collective_table,
        distributed_header,
        run_header,
        scaling_table,
    )
    from subsidybench.suites import load_suite

    launch = launch_from_env()
    leader = launch.rank == 0
    dev = rank_device(device, launch)
    if threads is not None:
        torch.set_num_threads(threads)
    counts = []
    for text in world_sizes:
        if not text.isdigit():
            raise UserError(f"--world-sizes: {text!r} is not a whole number")
        counts.append(int(text))
    chosen_suite = load_suite(suite_name)
    tasks = plan_distributed(
        chosen_suite,
        launch.world_size,
        dev.type,
        only=only,
        sizes=[parse_size(s) for s in sizes],
        world_sizes=counts,
        dtypes=dtypes,
        budget_s=budget,
    )
    profile = match_profile(dev.name, dev.type, profiles_dir)
    out = _result_path(out, f"{chosen_suite.name}-{dev.type}-x{launch.world_size}", check=leader)

    group = Group(launch, dev, backend or backend_for(dev.type), timeout_s)
    group.start()
    result = _measure(
        lambda observer: run_distributed(
            tasks,
            group,
            out,
            suite=chosen_suite,
            include_emulated=include_emulated,
            profile=profile,
            observer=observer,
        ),
        out,
        rank=launch.rank,
    )
    group.stop()
    if not leader:
        return
    console = render_console()
    console.print(run_header(result, str(out)))
    console.print(distributed_header(result), highlight=False)
    for table in (collective_table(result), scaling_table(result)):
        if table is not None:
            console.print(table)
    for r in result.results:
        if not r.ok:
            console.print(f"{r.id}: {r.status.value}: {r.reason}", highlight=False, markup=False)


def suites() -> None:
    """List the built-in suites."""
    from subsidybench.suites import load_suite, suite_names

    table = Table("suite", "version", "workloads", "description")
    for name in suite_names():
        s = load_suite(name)
        table.add_row(
            s.name,
            str(s.version),
            ", ".join(dict.fromkeys(e.workload for e in s.entries)),
            s.description,
        )
    render_console().print(table)
