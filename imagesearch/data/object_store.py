"""The dataset in object storage: ``data.source: s3://bucket/prefix`` read through s3fs.

Credentials and the endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_ENDPOINT_URL`` for an S3-compatible service
such as MinIO) or the usual AWS config files, never from params: the params hold the location only,
so no secret reaches ``dvc.lock``, an output or a hash. The objects are downloaded in chunks, in
this process or as cluster tasks (``IMAGESEARCH_SCHEDULER``); a worker gets the endpoint and the
stage's credentials with its task (:func:`storage_options`), so it needs no AWS setup of its own.
Connections are bounded: an unreachable endpoint is one error naming it within seconds.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from imagesearch.errors import InputError
from imagesearch.hashing import hash_file

SCHEME = "s3://"
CONNECT_TIMEOUT_S = 5
ATTEMPTS = 2
FILES_PER_TASK = 200
#: AWS variables a worker's task carries, as s3fs arguments
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token"}


class ObjectStoreError(InputError):
    """The bucket cannot be read: unreachable endpoint, access denied."""


def is_object_store(source: str) -> bool:
    return source.startswith(SCHEME)


def storage_options() -> dict[str, Any]:
    """The endpoint and credentials of this process's environment, as s3fs arguments (only those
    set: otherwise s3fs's own chain, e.g. the AWS config files or an instance role, applies)."""
    options: dict[str, Any] = {argument: os.environ[name] for name, argument in CREDENTIALS.items()
                               if os.environ.get(name)}
    if os.environ.get("AWS_ENDPOINT_URL"):
        options["endpoint_url"] = os.environ["AWS_ENDPOINT_URL"]
    return options


def s3_filesystem(options: dict[str, Any]) -> Any:
    """An s3fs filesystem with ``options`` and bounded connects."""
    import s3fs

    return s3fs.S3FileSystem(**options, skip_instance_cache=True,
                             config_kwargs={"connect_timeout": CONNECT_TIMEOUT_S, "read_timeout": 60,
                                            "retries": {"max_attempts": ATTEMPTS, "mode": "standard"}})


def list_objects(source: str, options: dict[str, Any]) -> set[str]:
    """The dataset-relative names of every object under ``source``."""
    prefix = source[len(SCHEME):].rstrip("/")
    endpoint = options.get("endpoint_url", "AWS S3")
    try:
        found = s3_filesystem(options).find(prefix)
    except FileNotFoundError:
        found = []
    except PermissionError as err:
        raise ObjectStoreError(f"{source}: access denied at {endpoint} (AWS_ACCESS_KEY_ID / "
                               f"AWS_SECRET_ACCESS_KEY): {err}") from None
    except Exception as err:  # noqa: BLE001 - botocore's connection errors share no base class with OSError
        raise ObjectStoreError(f"{source}: S3 endpoint {endpoint} unreachable: {type(err).__name__}: {err}") from None
    return {path[len(prefix) + 1:] for path in found if path.startswith(prefix + "/")}


def download(names: list[str], source: str, destination: str, options: dict[str, Any]) -> list[str]:
    """Copy ``names`` from ``source`` into the folder ``destination``; their sha256s, in order.
    A cluster task: it runs where the worker is, so ``destination`` must be a folder it sees."""
    prefix = source[len(SCHEME):].rstrip("/")
    fs = s3_filesystem(options)
    digests = []
    for name in names:
        target = Path(destination) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fs.get_file(f"{prefix}/{name}", str(target))
        digests.append(hash_file(target))
    return digests
