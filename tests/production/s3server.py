"""A real S3-compatible server for tests: moto's standalone server on loopback, auth enforced.

:func:`start_s3_server` starts ``python -m moto.server`` in a subprocess on 127.0.0.1 **with
authentication on**: after the three unauthenticated calls that create an IAM user, its access
key and an ``s3:*`` policy, every request must be signed with that key, so code whose
credentials do not reach pyarrow's S3 client fails with ``ACCESS_DENIED`` instead of passing by
accident.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

REGION = "us-east-1"
_UNAUTHENTICATED_SETUP_CALLS = 3  # create_user, create_access_key, put_user_policy


@dataclass(frozen=True)
class S3Server:
    """A running S3-compatible server and the only credentials it accepts."""

    endpoint: str
    access_key_id: str
    secret_access_key: str
    region: str = REGION

    def client(self, *, secret: str | None = None) -> Any:
        """A boto3 S3 client signed with the server's key (or with ``secret`` instead)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
            region_name=self.region,
        )

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every object key in ``bucket`` under ``prefix``."""
        paginator = self.client().get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(endpoint: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}:\n{log.read_text()}")
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not answer on {endpoint} within 60 s:\n{log.read_text()}")


def _create_credentials(endpoint: str) -> tuple[str, str]:
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
        region_name=REGION,
    )
    iam.create_user(UserName="floe-lake")
    key = iam.create_access_key(UserName="floe-lake")["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="floe-lake", PolicyName="lake", PolicyDocument=json.dumps(policy))
    return key["AccessKeyId"], key["SecretAccessKey"]


@contextmanager
def start_s3_server(workdir: Path) -> Iterator[S3Server]:
    """Run moto's S3 server on a free loopback port until the block ends (log in ``workdir``)."""
    # The AWS SDK inside pyarrow must not look for instance credentials (no network here).
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = workdir / "moto.log"
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(_UNAUTHENTICATED_SETUP_CALLS))
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_until_up(endpoint, process, log)
        access_key, secret_key = _create_credentials(endpoint)
        yield S3Server(endpoint, access_key, secret_key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
