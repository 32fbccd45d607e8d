"""The dataset in object storage: ``data.source: s3://bucket/prefix`` read through s3fs.

Credentials and the endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for an S3-compatible service such as MinIO) or
the usual AWS config files, never from params: the params hold the location only, so no secret
reaches ``dvc.lock``, an output or a hash. Connections are bounded, so an unreachable endpoint is
one error naming it within seconds.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, BinaryIO

from imagesearch.errors import InputError

SCHEME = "s3://"
CONNECT_TIMEOUT_S = 5
ATTEMPTS = 2


class ObjectStoreError(InputError):
    """The bucket cannot be read: unreachable endpoint, access denied."""


def is_object_store(source: str) -> bool:
    return source.startswith(SCHEME)


def s3_filesystem() -> Any:
    """An s3fs filesystem on ``AWS_ENDPOINT_URL`` (AWS itself when unset), with bounded connects."""
    import s3fs

    return s3fs.S3FileSystem(endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None, skip_instance_cache=True,
                             config_kwargs={"connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": 60,
                                            "retries": {"max_attempts": ATTEMPTS, "mode": "standard"}})


def listing(source: str) -> tuple[set[str], Callable[[str], BinaryIO]]:
    """The dataset-relative names under ``source`` and a function opening one of them."""
    prefix = source[len(SCHEME):].rstrip("/")
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or "AWS S3"
    fs = s3_filesystem()
    try:
        found = fs.find(prefix)
    except FileNotFoundError:
        found = []
    except PermissionError as err:
        raise ObjectStoreError(f"{source}: access denied at {endpoint} (AWS_ACCESS_KEY_ID / "
                           f"AWS_SECRET_ACCESS_KEY): {err}") from None
    except Exception as err:  # noqa: BLE001 - botocore's connection errors share no base class with OSError
        raise ObjectStoreError(f"{source}: S3 endpoint {endpoint} unreachable: {type(err).__name__}: {err}") from None
    names = {path[len(prefix) + 1:] for path in found if path.startswith(prefix + "/")}
    return names, lambda name: fs.open(f"{prefix}/{name}", "rb")
