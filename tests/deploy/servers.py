"""Real servers for the deployment tests and the object-store benchmark, started on free local ports.

- PostgreSQL: Debian's `postgresql` binaries (initdb, pg_ctl), a cluster in a temporary folder,
  listening on 127.0.0.1 only, with trust authentication (nothing else can reach it). initdb refuses
  to run as root, so under root the cluster belongs to the `postgres` user the package creates.
- S3: moto's server (a real S3 HTTP API, `moto[server]`), with every request counted as it arrives,
  so a benchmark reports what the object store was asked, not what the client meant to ask.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder of initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    db: str
    password: str = "workbench"  # trust authentication: any password is accepted

    @property
    def env(self) -> dict[str, str]:
        """What deploy/dagster.yaml reads."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.db,
        }


def _as_owner(argv: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *argv] if user else argv


@contextlib.contextmanager
def postgres_server(folder: Path, db: str = "dagster") -> Iterator[Postgres]:
    """A PostgreSQL cluster in `folder`, started, with database `db`; stopped and left for tmp cleanup."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise FileNotFoundError("initdb not found (Debian: apt-get install postgresql)")
    owner = "postgres" if os.geteuid() == 0 else None
    user = owner or pwd.getpwuid(os.geteuid()).pw_name
    if owner:  # pytest's temporary folders are private to root: the cluster gets one of its own
        folder = Path(tempfile.mkdtemp(prefix="workbench-pg-"))
        os.chmod(folder, 0o700)
        entry = pwd.getpwnam(owner)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.mkdir(parents=True, exist_ok=True)
    data, sockets = folder / "pgdata", folder / "sockets"

    def run(argv: list[str]) -> None:
        done = subprocess.run(_as_owner(argv, owner), capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr or done.stdout}")

    run(["mkdir", "-p", str(sockets)])
    run([str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", user, "--encoding=UTF8", "--no-sync"])
    port = free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=200"
    run(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(folder / "postgres.log"),
            "-w",
            "start",
        ]
    )
    try:
        import psycopg2

        with contextlib.closing(
            psycopg2.connect(host="127.0.0.1", port=port, user=user, dbname="postgres")
        ) as conn:
            conn.autocommit = True
            conn.cursor().execute(f'CREATE DATABASE "{db}"')
        yield Postgres("127.0.0.1", port, user, db)
    finally:
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], owner),
            capture_output=True,
        )
        if owner:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class RequestLog:
    """Requests the S3 server received: (method, bucket-relative path kind) counts."""

    counts: Counter = field(default_factory=Counter)
    by_folder: Counter = field(default_factory=Counter)  # (method, first two folders under the bucket's prefix)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str = "") -> None:
        folder = "/".join(path.strip("/").split("/")[2:4])  # bucket/prefix/<images|tables/x|cache/calls>
        with self.lock:
            self.counts[method] += 1
            self.by_folder[(method, folder)] += 1

    def folders(self) -> Counter:
        with self.lock:
            return Counter(self.by_folder)

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def snapshot(self) -> Counter:
        with self.lock:
            return Counter(self.counts)


class CountingMotoServer:
    """moto's ThreadedMotoServer with a WSGI layer in front that counts every request."""

    def __init__(self, port: int):
        from moto.server import ThreadedMotoServer

        self.requests = RequestLog()
        requests = self.requests

        class _Counting(ThreadedMotoServer):
            def _server_entry(self) -> None:
                from moto.moto_server.threaded_moto_server import MotoRequestHandler
                from moto.server import DomainDispatcherApplication, create_backend_app
                from werkzeug.serving import make_server

                app = DomainDispatcherApplication(create_backend_app)

                def counted(environ, start_response):
                    if not environ.get("PATH_INFO", "").startswith("/moto-api"):
                        requests.add(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
                    return app(environ, start_response)

                self._server = make_server(
                    self._ip_address, self._port, counted, True, request_handler=MotoRequestHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = _Counting(ip_address="127.0.0.1", port=port, verbose=False)
        self.port = port

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


S3_ENV_KEYS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")


@contextlib.contextmanager
def s3_server(bucket: str = "workbench") -> Iterator[tuple[CountingMotoServer, str]]:
    """A moto S3 server with `bucket` created; the environment points boto3 and s3fs at it (children
    inherit it) and is restored after."""
    import logging

    import boto3
    import s3fs

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = CountingMotoServer(free_port())
    server.start()
    saved = {k: os.environ.get(k) for k in S3_ENV_KEYS}
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    s3fs.S3FileSystem.clear_instance_cache()  # one cached for another endpoint would be reused
    try:
        boto3.client("s3").create_bucket(Bucket=bucket)
        yield server, bucket
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()
