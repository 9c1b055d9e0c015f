"""The results store: every run kept in one database, for history, trends and the CI gate.

A run result file is the unit: `add` validates it with the record's own loader, then writes the
run, its machine and one row per workload result (raw samples kept) in one transaction, so a
file is stored whole or not at all. Runs are identified by what was measured (machine, suite,
start time, every result's raw samples), not by file name or by fields later versions recompute
(statistics, verdicts): adding the same run again does nothing and says so.

SQLite is the embedded default (one file, no server). Several processes may add at once: the
database runs in WAL mode (readers never block the writer), every write transaction takes the
write lock when it begins (BEGIN IMMEDIATE, so two writers cannot deadlock upgrading a read
lock), waits up to 30 s for it (busy timeout) and is retried a few times beyond that. Any other
SQLAlchemy URL selects another database; PostgreSQL is the one meant for a fleet writing from
many machines, where row locks and the unique run identity do the same job.

Torch-free. Needs the `store` extra (SQLAlchemy); imports it on first use.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from subsidybench.errors import UserError
from subsidybench.results.record import RunResult
from subsidybench.results.store_keys import (
    Added,
    Machine,
    parse_time,
    run_identity,
    store_url,
)

if TYPE_CHECKING:
    import pandas as pd

# The database layout's version, kept in the `meta` table. Bump it when a table or column
# changes meaning, and migrate. History:
#   1: machines, runs (with the whole run document), results (one row per workload result,
#      raw samples as a JSON array).
STORE_VERSION = 1

# How long a SQLite writer waits for the lock before the driver gives up (then we retry).
_BUSY_TIMEOUT_MS = 30_000
_RETRIES = 5
# PostgreSQL: one advisory lock key for creating the tables, so two first writers do not race.
_PG_SCHEMA_LOCK = 0x5B_5709


def _sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise UserError(
            "the results store needs SQLAlchemy: pip install 'subsidybench[store]'"
        ) from None
    return sqlalchemy


def _tables(sa: Any) -> tuple[Any, ...]:
    md = sa.MetaData()
    meta = sa.Table(
        "meta",
        md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    machines = sa.Table(
        "machines",
        md,
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("cpu_model", sa.Text, nullable=False),
        sa.Column("cpu_count", sa.Integer, nullable=False),
        sa.Column("device_names", sa.Text, nullable=False),  # JSON array
        sa.Column("device_count", sa.Integer, nullable=False),
        sa.Column("driver", sa.Text),
    )
    runs = sa.Table(
        "runs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("identity", sa.String(64), nullable=False, unique=True),
        sa.Column("machine", sa.String(16), sa.ForeignKey("machines.fingerprint"), nullable=False),
        sa.Column("suite", sa.String(128), nullable=False),
        sa.Column("suite_version", sa.Integer, nullable=False),
        sa.Column("method_version", sa.Integer, nullable=False),
        sa.Column("commit", sa.String(64)),
        # --time if given, else when the run started (UTC): the order of a history.
        sa.Column("time", sa.DateTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("toolkit_version", sa.String(64), nullable=False),
        sa.Column("torch_version", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("added", sa.DateTime, nullable=False),
        sa.Column("document", sa.Text, nullable=False),  # the run as its file holds it
        sa.Index("ix_runs_machine_time", "machine", "time"),
    )
    results = sa.Table(
        "results",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("workload_id", sa.Text, nullable=False),
        sa.Column("workload", sa.String(128), nullable=False),
        sa.Column("family", sa.String(64), nullable=False),
        sa.Column("dtype", sa.String(16), nullable=False),
        sa.Column("compiled", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("valid", sa.Boolean),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("n", sa.Integer),
        sa.Column("median_s", sa.Float),
        sa.Column("q1_s", sa.Float),
        sa.Column("q3_s", sa.Float),
        sa.Column("samples_s", sa.Text),  # JSON array: the raw samples, one per timed block
        sa.UniqueConstraint("run_id", "workload_id"),
        sa.Index("ix_results_workload", "workload_id"),
    )
    return md, meta, machines, runs, results


class Store:
    """A results database. Open with `Store.open(--store value)`; close when done."""

    def __init__(self, url: str) -> None:
        sa = _sqlalchemy()
        self._sa = sa
        self.url = url
        try:
            self._engine = sa.create_engine(url)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
            raise UserError(f"--store: cannot open {url}: {e}") from None
        self.dialect = self._engine.dialect.name
        if self.dialect == "sqlite":
            self._sqlite_setup()
        self._md, self._meta, self._machines, self._runs, self._results = _tables(sa)
        self._create()

    @classmethod
    def open(cls, location: str | Path | None) -> Store:
        return cls(store_url(location))

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def where(self) -> str:
        """The store as a user wrote it, password hidden."""
        return self._engine.url.render_as_string(hide_password=True)

    def _sqlite_setup(self) -> None:
        event = self._sa.event

        @event.listens_for(self._engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            # The driver's own transaction handling off: transactions begin in _begin below.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode = WAL")
            # NORMAL is durable in WAL mode except for the last commits at a power cut.
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.close()

        @event.listens_for(self._engine, "begin")
        def _begin(conn: Any) -> None:
            write = conn.get_execution_options().get("subsidybench_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction: committed on success, rolled back on any error."""
        with (
            self._engine.connect().execution_options(subsidybench_write=True) as conn,
            conn.begin(),
        ):
            yield conn

    def _retrying(self, work: Any) -> Any:
        """Run `work()` again when SQLite stayed locked past the busy timeout."""
        sa = self._sa
        for attempt in range(_RETRIES):
            try:
                return work()
            except sa.exc.OperationalError as e:
                locked = "locked" in str(e.orig) or "busy" in str(e.orig)
                if not locked or attempt == _RETRIES - 1:
                    raise self._user_error(e) from None
                time.sleep(0.05 * 2**attempt * (1 + random.random()))
        raise AssertionError("unreachable")

    def _user_error(self, e: Exception) -> UserError:
        orig = " ".join(str(getattr(e, "orig", e)).split())  # drivers' messages span lines
        return UserError(f"store {self.where}: {orig}")

    def _create(self) -> None:
        sa = self._sa

        def create() -> None:
            with self._write() as conn:
                if self.dialect == "postgresql":
                    conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({_PG_SCHEMA_LOCK})"))
                self._md.create_all(conn, checkfirst=True)
                row = conn.execute(
                    sa.select(self._meta.c.value).where(self._meta.c.key == "store_version")
                ).first()
                if row is None:
                    conn.execute(
                        self._meta.insert().values(key="store_version", value=str(STORE_VERSION))
                    )
                elif not str(row.value).isdigit():
                    raise UserError(
                        f"store {self.where}: meta.store_version is {row.value!r}, not a layout"
                        " version: not a subsidybench store"
                    )
                elif int(row.value) > STORE_VERSION:
                    raise UserError(
                        f"store {self.where}: layout version {row.value} is newer than this"
                        f" subsidybench reads ({STORE_VERSION}); upgrade it"
                    )
                self._check_tables(conn)

        try:
            self._retrying(create)
        except sa.exc.DBAPIError as e:  # no server, wrong password, not a database file
            raise self._user_error(e) from None

    def _check_tables(self, conn: Any) -> None:
        """Refuse a database whose tables of our names are someone else's (create_all leaves an
        existing table as it is, and every query on it would then fail)."""
        inspector = self._sa.inspect(conn)
        for table in (self._meta, self._machines, self._runs, self._results):
            have = {c["name"] for c in inspector.get_columns(table.name)}
            if missing := [c.name for c in table.columns if c.name not in have]:
                raise UserError(
                    f"store {self.where}: table {table.name} is not a subsidybench table (no"
                    f" column {', '.join(missing[:3])}): give another --store"
                )

    # Writing

    def add(
        self,
        run: RunResult,
        *,
        source: str,
        commit: str | None = None,
        when: datetime | None = None,
    ) -> Added:
        """Store `run` (already validated by its loader) in one transaction; a run already
        stored is left as it is."""
        machine = Machine.of(run.environment)
        identity = run_identity(run)
        run_time = when if when is not None else parse_time(run.started, f"{source}: started")
        return self._retrying(
            lambda: self._add_once(run, machine, identity, source, commit, run_time)
        )

    def _add_once(
        self,
        run: RunResult,
        machine: Machine,
        identity: str,
        source: str,
        commit: str | None,
        run_time: datetime,
    ) -> Added:
        sa = self._sa
        fp = machine.fingerprint
        runs = self._runs
        try:
            with self._write() as conn:
                existing = conn.execute(
                    sa.select(runs.c.id).where(runs.c.identity == identity)
                ).first()
                if existing is not None:
                    return Added(source, identity, fp, existing.id, new=False)
                self._ensure_machine(conn, machine)
                run_id = conn.execute(
                    runs.insert().values(
                        identity=identity,
                        machine=fp,
                        suite=run.suite,
                        suite_version=run.suite_version,
                        method_version=run.method_version,
                        commit=commit,
                        time=run_time,
                        state=run.state.value,
                        toolkit_version=run.environment.toolkit_version,
                        torch_version=run.environment.torch_version,
                        source=source,
                        added=datetime.now(UTC).replace(tzinfo=None),
                        document=json.dumps(run.to_dict(), allow_nan=False),
                    )
                ).inserted_primary_key[0]
                rows = [_result_row(run_id, r) for r in run.results]
                if rows:
                    conn.execute(self._results.insert(), rows)
                return Added(source, identity, fp, int(run_id), new=True)
        except sa.exc.IntegrityError as e:
            # Another writer stored the same run between our check and our insert.
            with self._engine.connect() as conn:
                row = conn.execute(sa.select(runs.c.id).where(runs.c.identity == identity)).first()
            if row is None:  # not a race: the run itself breaks a constraint
                why = " ".join(str(e.orig).split())
                raise UserError(f"{source}: cannot be stored: {why}") from None
            return Added(source, identity, fp, row.id, new=False)

    def _ensure_machine(self, conn: Any, machine: Machine) -> None:
        sa = self._sa
        m = self._machines
        values = {
            "fingerprint": machine.fingerprint,
            "label": machine.label,
            "backend": machine.backend,
            "cpu_model": machine.cpu_model,
            "cpu_count": machine.cpu_count,
            "device_names": json.dumps(list(machine.device_names)),
            "device_count": machine.device_count,
            "driver": machine.driver,
        }
        if self.dialect in ("sqlite", "postgresql"):
            module = __import__(f"sqlalchemy.dialects.{self.dialect}", fromlist=["insert"])
            conn.execute(module.insert(m).values(**values).on_conflict_do_nothing())
            return
        exists = conn.execute(
            sa.select(m.c.fingerprint).where(m.c.fingerprint == machine.fingerprint)
        ).first()
        if exists is None:
            conn.execute(m.insert().values(**values))

    # Reading

    def machines(self) -> pd.DataFrame:
        """Every machine with its run count and the time span of its runs."""
        import pandas as pd

        sa = self._sa
        m, r = self._machines, self._runs
        query = (
            sa.select(
                m.c.fingerprint.label("machine"),
                m.c.label,
                sa.func.count(r.c.id).label("runs"),
                sa.func.min(r.c.time).label("first"),
                sa.func.max(r.c.time).label("last"),
            )
            .select_from(m.outerjoin(r, r.c.machine == m.c.fingerprint))
            .group_by(m.c.fingerprint, m.c.label)
            .order_by(m.c.label)
        )
        with self._engine.connect() as conn:
            return pd.DataFrame(conn.execute(query).mappings().all())

    def history(
        self,
        *,
        workload: str | None = None,
        machine: str | None = None,
        samples: bool = False,
    ) -> pd.DataFrame:
        """One row per stored workload result, oldest first within each machine: the runs'
        context (time, commit, suite, method version) beside the result's statistics."""
        import pandas as pd

        sa = self._sa
        r, res, m = self._runs, self._results, self._machines
        cols = [
            r.c.machine,
            m.c.label.label("machine_label"),
            res.c.workload_id.label("workload"),
            res.c.dtype,
            r.c.id.label("run"),
            r.c.time,
            r.c.commit,
            r.c.suite,
            r.c.suite_version,
            r.c.method_version,
            r.c.torch_version,
            res.c.status,
            res.c.valid,
            res.c.reasons,
            res.c.n,
            res.c.median_s,
            res.c.q1_s,
            res.c.q3_s,
        ]
        if samples:
            cols.append(res.c.samples_s)
        query = (
            sa.select(*cols)
            .select_from(
                res.join(r, res.c.run_id == r.c.id).join(m, r.c.machine == m.c.fingerprint)
            )
            .order_by(r.c.machine, res.c.workload_id, r.c.time, r.c.id)
        )
        if workload is not None:
            query = query.where(res.c.workload_id == workload)
        if machine is not None:
            query = query.where(r.c.machine.startswith(machine, autoescape=True))
        with self._engine.connect() as conn:
            frame = pd.DataFrame(
                conn.execute(query).mappings().all(), columns=[c.name for c in cols]
            )
        if samples and not frame.empty:
            frame["samples_s"] = [json.loads(s) if s else None for s in frame["samples_s"]]
        return frame

    def workload_ids(self) -> list[str]:
        sa = self._sa
        with self._engine.connect() as conn:
            rows = conn.execute(sa.select(self._results.c.workload_id).distinct()).all()
        return sorted(row[0] for row in rows)

    def run(self, run_id: int) -> RunResult:
        """A stored run, loaded back through the record's own validation."""
        sa = self._sa
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(self._runs.c.document).where(self._runs.c.id == int(run_id))
            ).first()
        if row is None:
            raise UserError(f"store {self.where}: no run {run_id}")
        return RunResult.from_dict(json.loads(row.document), f"{self.where} run {run_id}")

    def count_runs(self) -> int:
        sa = self._sa
        with self._engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self._runs)).scalar())


def _result_row(run_id: int, r: Any) -> dict[str, Any]:
    m, v = r.measurement, r.verdict
    stats: dict[str, Any] = {}
    if m is not None:
        # The record's own median; the quartiles in one call (Measurement.statistics computes
        # ten figures one numpy call each, the larger part of an add's time).
        q1, q3 = np.percentile(np.asarray(m.samples_s), [25, 75])
        stats = {"n": m.n, "median_s": m.median, "q1_s": float(q1), "q3_s": float(q3)}
    return {
        "run_id": run_id,
        "workload_id": r.id,
        "workload": r.workload,
        "family": r.family,
        "dtype": r.dtype.value,
        "compiled": r.compiled,
        "status": r.status.value,
        "valid": v.valid if v is not None else None,
        "reasons": "; ".join(v.reasons) if v is not None else r.reason,
        "n": stats.get("n"),
        "median_s": stats.get("median_s"),
        "q1_s": stats.get("q1_s"),
        "q3_s": stats.get("q3_s"),
        "samples_s": json.dumps(list(m.samples_s)) if m is not None else None,
    }


def add_files(
    store: Store,
    paths: Sequence[Path],
    *,
    commit: str | None = None,
    when: str | None = None,
) -> list[Added]:
    """Validate every file first, then add each run in its own transaction: a file that fails
    validation stops the command before anything is written."""
    from subsidybench.results.record import load_run

    moment = parse_time(when, "--time") if when is not None else None
    runs = [(str(p), load_run(p)) for p in paths]
    return [store.add(run, source=src, commit=commit, when=moment) for src, run in runs]
