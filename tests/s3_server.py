"""A real S3-protocol server (moto's) on 127.0.0.1, with AWS settings that keep any real account out."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def moto_s3(scratch: Path, *buckets: str) -> Iterator[str]:
    """Start the server, point the AWS variables at it (test credentials, empty config files; the
    subprocesses a test starts inherit them), create ``buckets``; yields the endpoint URL."""
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    empty = scratch / "aws-empty"
    empty.write_text("")
    try:
        with pytest.MonkeyPatch.context() as env:
            for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                                "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(empty),
                                "AWS_SHARED_CREDENTIALS_FILE": str(empty)}.items():
                env.setenv(name, value)
            env.delenv("AWS_PROFILE", raising=False)
            client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
            for bucket in buckets:
                client.create_bucket(Bucket=bucket)
            yield endpoint
    finally:
        server.stop()
