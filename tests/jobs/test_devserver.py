"""`flask devserver` (what `make run` starts) stops everything it started, Redis
included, on SIGTERM or SIGHUP as on Ctrl+C: one real run (embedded Redis, worker,
rq cron, web server), and the signal handling itself for each signal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support import devserver
from tests.jobs.conftest import ROOT, in_session, kill_session, wait_gone
from tests.smtp import free_port


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.load(response)["status"] == "ok"
    except (OSError, urllib.error.URLError, ValueError):
        return False


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_devserver_stops_redis_worker_and_cron(tmp_path: Path, how: str):
    """SIGTERM to the devserver, or Ctrl+C in its terminal (SIGINT to the foreground
    process group): everything stops, quietly."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DATABASE_URL", "MAIL_SERVER", "RQ_QUEUE", "BASE_URL")
    }
    env.update(SUPPORT_ENV="development", INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port))
    log = (tmp_path / "devserver.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "devserver"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so everything it starts can be found, and cleaned up
    )
    try:
        deadline = time.monotonic() + 45  # migrations, demo data, the KB index: ~10 s
        while not _healthy(port):
            assert server.poll() is None, (tmp_path / "devserver.log").read_text()
            assert time.monotonic() < deadline, "no healthy /healthz within 45 s"
            time.sleep(0.2)
        started = in_session(server.pid)
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in started}
        assert any(b"redis-server" in c for c in commands.values())  # the embedded Redis
        assert any(b"worker" in c for c in commands.values())
        assert any(b"cron" in c for c in commands.values())

        if how == "ctrl-c":
            os.killpg(server.pid, signal.SIGINT)  # what the terminal does
        else:
            server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
        log.flush()
        assert "Traceback" not in (tmp_path / "devserver.log").read_text()
        left = wait_gone(started, timeout=10)
        assert left == [], {pid: commands[pid] for pid in left}
    finally:
        kill_session(server)  # nothing left behind, whatever failed above
        log.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_the_devserver_as_ctrl_c_does(stop: signal.Signals):
    """The same path as the run above, for both signals, without a second 10 s start."""
    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = [signal.getsignal(number) for number in handled]
    with pytest.raises(KeyboardInterrupt), devserver._stop_on_signals():
        os.kill(os.getpid(), stop)
        time.sleep(5)  # the handler raises before this ends
    assert [signal.getsignal(number) for number in handled] == before
