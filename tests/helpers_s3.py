"""A real S3-compatible server on loopback (moto's standalone server), started and stopped by a test."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class S3Server:
    endpoint: str

    def env(self) -> dict[str, str]:
        """The environment a client (s3fs, boto3, a worker process) needs to reach this server."""
        return {**S3_ENV, "AWS_ENDPOINT_URL": self.endpoint}

    def make_public_bucket(self, bucket: str) -> str:
        """A bucket anyone may GET from (the team's report site); returns its https-style base URL."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, **_boto_kwargs())
        client.create_bucket(Bucket=bucket)
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
        return f"{self.endpoint}/{bucket}"


def _boto_kwargs() -> dict[str, str]:
    return {"aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"], "region_name": S3_ENV["AWS_DEFAULT_REGION"]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server(tmp_dir: str) -> Iterator[S3Server]:
    """Start ``python -m moto.server`` on a free loopback port; stop it (and only it) afterwards."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed: pip install -e '.[dev]'")
    pytest.importorskip("s3fs", reason="s3fs is not installed: pip install -e '.[dev]'")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp_dir, "moto.log"), "wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start (see {log.name})") from None
                time.sleep(0.2)
        yield S3Server(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@contextlib.contextmanager
def s3_environment(server: S3Server) -> Iterator[None]:
    """Point this process's S3 clients at ``server`` (and forget cached s3fs instances after)."""
    import s3fs

    old = {key: os.environ.get(key) for key in server.env()}
    os.environ.update(server.env())
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        s3fs.S3FileSystem.clear_instance_cache()
