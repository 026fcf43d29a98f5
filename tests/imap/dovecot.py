"""A real Dovecot IMAP server for the tests: one per test session, on a free loopback
port, with its config, mail, passdb and runtime state all inside one temporary folder
that is removed afterwards (nothing is written to /etc, /var or /run)."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "support"
PASSWORD = "imap-test-password"


def available() -> bool:
    return os.path.exists(DOVECOT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _internal_users() -> tuple[str, str]:
    """Dovecot drops privileges to these when started as root; a plain user runs as itself."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid()).pw_name
        return me, me
    for internal, login in (("dovecot", "dovenull"),):
        try:
            pwd.getpwnam(internal), pwd.getpwnam(login)
            return internal, login
        except KeyError:
            pass
    return "nobody", "nobody"


@dataclass
class Dovecot:
    root: Path
    port: int
    process: subprocess.Popen | None = None
    user: str = USER
    password: str = PASSWORD
    # What the server announces, when not Dovecot's own list: a server without MOVE
    # (RFC 6851) or UIDPLUS, as older ones are, for the fallbacks' tests.
    capabilities: str | None = None

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / self.user

    def write_config(self) -> Path:
        internal, login = _internal_users()
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:  # mail files belong to the internal user, so nothing stays root-only
            uid, gid = pwd.getpwnam(internal).pw_uid, grp.getgrnam(internal).gr_gid
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for sub in ("mail", "home"):
            os.chown(self.root / sub, uid, gid)
        # Dovecot's runtime folder must be reachable by its unprivileged users.
        os.chmod(self.root, 0o755)  # noqa: S103 (a test server's own temporary folder)
        (self.root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}:::::\n")
        config = self.root / "dovecot.conf"
        config.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = support-test-{self.port}
log_path = {self.root}/dovecot.log
ssl = no
disable_plaintext_auth = no
{f"imap_capability = {self.capabilities}" if self.capabilities else ""}
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal if os.getuid() == 0 else grp.getgrgid(os.getgid()).gr_name}
default_login_user = {login}
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:{self.root}/mail/%u
passdb {{
  driver = passwd-file
  args = {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        return config

    def start(self) -> None:
        config = self.write_config()
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = (
                    self.process.stdout.read().decode(errors="replace")
                    if self.process.stdout
                    else ""
                )
                raise RuntimeError(f"dovecot exited: {out}{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not answer on port {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


def start(capabilities: str | None = None) -> Dovecot:
    root = Path(tempfile.mkdtemp(prefix="support-dovecot-"))
    server = Dovecot(root, _free_port(), capabilities=capabilities)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    return server
