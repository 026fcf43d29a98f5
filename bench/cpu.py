"""Where a bench's CPU time goes: seconds per kind of process, and a sampled profile.

`CpuMeter` samples every process of the run (psutil) every 2 seconds: the ones the
bench started, grouped by kind with all their descendants (gunicorn's master and
workers, RQ workers and any work horse they fork), and PostgreSQL and Redis by
name. On a machine other sessions share, give it the run's database
(`postgres_database`): PostgreSQL's backends serving other databases are then left
out (its shared processes, the WAL writer and the like, stay in), and a Redis the
bench started itself is better tracked by pid than found by name. CPU already spent
before `start()` is not counted; a process that ends between two samples loses at
most its last 2 seconds (none of a load test's do: its web and RQ workers and their
database connections last the run). A sample reads /proc for every process on the
machine, 5-10 ms of the bench's own CPU: twice a second was a tenth of the load
generator's share.

`profile_process` runs py-spy against one process for a while and returns the
functions it was seen in most: by their own time and including what they call.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

SAMPLE_EVERY = 2.0  # seconds

# Processes found by name rather than by ancestry (started outside the bench).
BY_NAME = {"postgres": "postgresql", "redis-server": "redis"}
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def cpu_seconds_of(pids: Iterable[int]) -> float:
    """User and system CPU seconds of these processes (those that have ended: none)."""
    total = 0.0
    for pid in pids:
        try:
            total += _cpu_seconds(psutil.Process(pid)) or 0.0
        except psutil.Error:
            continue
    return total


def _cpu_seconds(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return times.user + times.system


@dataclass
class CpuMeter:
    """CPU seconds per kind over the time between `start()` and `stop()`."""

    roots: dict[int, str] = field(default_factory=dict)  # pid → kind, descendants included
    postgres_database: str | None = None  # count only this database's backends
    by_name: dict[str, str] = field(default_factory=lambda: dict(BY_NAME))
    _baseline: dict[int, float] = field(default_factory=dict)
    _last: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _admin: psycopg.Connection | None = None

    def track(self, pid: int, kind: str) -> None:
        self.roots[pid] = kind

    def again(self) -> CpuMeter:
        """A new meter for the same processes (one meter measures one stretch of time)."""
        return CpuMeter(dict(self.roots), self.postgres_database, dict(self.by_name))

    def start(self) -> None:
        for pid, (_, seconds) in self._sample().items():
            self._baseline[pid] = seconds
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._record(self._sample())
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        totals: Counter[str] = Counter()
        for pid, (kind, seconds) in self._last.items():
            totals[kind] += seconds - self._baseline.get(pid, 0.0)
        return dict(totals)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY):
            self._record(self._sample())

    def _record(self, sample: dict[int, tuple[str, float]]) -> None:
        self._last.update(sample)

    def _sample(self) -> dict[int, tuple[str, float]]:
        # The bench itself (its threads: the simulated users, the SMTP sink), without
        # its children: they are the tracked roots, or found by name below.
        me = psutil.Process()
        seen: dict[int, tuple[str, float]] = {}
        if (seconds := _cpu_seconds(me)) is not None:
            seen[me.pid] = ("load generator (and SMTP sink)", seconds)
        for pid, kind in list(self.roots.items()):
            try:
                root = psutil.Process(pid)
                family = [root, *root.children(recursive=True)]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            for process in family:
                if process.pid in seen or (process.pid != pid and process.pid in self.roots):
                    continue
                if (seconds := _cpu_seconds(process)) is not None:
                    seen[process.pid] = (kind, seconds)
        others = self._other_databases_backends()
        for process in psutil.process_iter(["name"]):
            kind = self.by_name.get(process.info["name"] or "")
            if not kind or process.pid in seen or process.pid in others:
                continue
            if seconds := _cpu_seconds(process):
                seen[process.pid] = (kind, seconds)
        return seen

    def _other_databases_backends(self) -> set[int]:
        if self.postgres_database is None:
            return set()
        try:
            if self._admin is None:  # one connection for the run: not a new backend a sample
                self._admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=2)
            rows = self._admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname IS NOT NULL AND datname <> %s",
                (self.postgres_database,),
            ).fetchall()
        except psycopg.Error:
            self._admin = None
            return set()
        return {pid for (pid,) in rows}


def print_breakdown(totals: dict[str, float], elapsed: float, prefix: str = "cpu") -> None:
    """One line per kind, busiest first: CPU seconds and the share of all of them."""
    spent = sum(totals.values()) or 1.0
    for kind, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        slug = "_".join(kind.split("(")[0].split())
        print(f"{prefix}_{slug}: {seconds:.1f} s ({100 * seconds / spent:.0f} %)")
    print(f"{prefix}_total: {sum(totals.values()):.1f} s over {elapsed:.1f} s of wall time")


@dataclass(frozen=True)
class Profile:
    samples: int
    own: list[tuple[str, float]]  # (function, share of samples with it on top)
    inclusive: list[tuple[str, float]]  # (function, share of samples with it anywhere)


def profile_process(
    pid: int, seconds: float, out: Path, keep: Callable[[str], bool] = lambda frame: True
) -> Profile | None:
    """py-spy for `seconds` against `pid`; None when py-spy is missing or may not attach.

    `keep` picks the frames listed as "inclusive" (e.g. only the project's own code).
    """
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    result = subprocess.run(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not out.exists():
        return None
    return summarise(out.read_text(), keep)


def is_ours(frame: str) -> bool:
    """A frame in the project's code (py-spy names frames "function (path:line)")."""
    return "support/" in frame and "site-packages" not in frame


def summarise(collapsed: str, keep: Callable[[str], bool], top: int = 15) -> Profile:
    """Top functions of py-spy's collapsed stacks ("frame;frame;frame count" lines)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            if keep(frame):
                inclusive[frame] += n
    share = 100 / (samples or 1)
    return Profile(
        samples=samples,
        own=[(frame, n * share) for frame, n in own.most_common(top)],
        inclusive=[(frame, n * share) for frame, n in inclusive.most_common(top)],
    )
