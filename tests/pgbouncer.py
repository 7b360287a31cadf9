"""A real PgBouncer (the Debian package) in transaction mode, in front of the embedded PostgreSQL.

This is what Neon's pooled connection string (a ``-pooler`` host) puts between the service and
PostgreSQL: server connections are shared between clients per transaction, and startup parameters
other than a few (application_name, client_encoding, ...) are refused.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if Path("/usr/sbin/pgbouncer").exists() else None
)
# PgBouncer refuses to run as root; the embedded PostgreSQL already runs as this user then.
UNPRIVILEGED_USER = "pgserver"


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def url_for(self, direct: URL) -> URL:
        """``direct`` with PgBouncer's address instead of the server's."""
        return direct.set(host="127.0.0.1", port=self.port, query={})

    def refusals(self) -> list[str]:
        """Log lines where PgBouncer refused a client's startup or statement: none is expected."""
        markers = ("unsupported", "refus")
        return [line for line in self.log.read_text().splitlines() if any(m in line for m in markers)]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_pgbouncer(direct: URL, *, log: Path | None = None) -> PgBouncer:
    """Start PgBouncer on a free loopback port in front of the server ``direct`` points at.

    Its files live in a fresh folder of its own under the system's temporary folder, which the
    unprivileged user can reach (pytest's per-test folders are private to root).
    """
    if PGBOUNCER is None:
        raise RuntimeError("pgbouncer is not installed (Debian: apt-get install -y pgbouncer)")
    folder = Path(tempfile.mkdtemp(prefix="tasks-api-pgbouncer-"))
    log = log or folder / "pgbouncer.log"
    port = _free_port()
    socket_dir = direct.query.get("host") or direct.host or "127.0.0.1"
    server_port = direct.port or 5432
    user = direct.username or "postgres"
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={socket_dir} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "userlist.txt"}
pool_mode = transaction
max_client_conn = 500
default_pool_size = 20
logfile = {log}
pidfile = {folder / "pgbouncer.pid"}
log_connections = 1
log_disconnections = 1
"""
    )
    command = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:
        account = pwd.getpwnam(UNPRIVILEGED_USER)
        for path in (folder, *folder.iterdir()):
            os.chown(path, account.pw_uid, account.pw_gid)
        log.touch()
        os.chown(log, account.pw_uid, account.pw_gid)
        command[1:1] = ["-u", UNPRIVILEGED_USER]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120  # generous: a loaded machine
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"pgbouncer did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.05)
    return PgBouncer(process, port, log)
