"""The dataset from object storage: data.source s3://bucket/prefix, against moto's S3 server."""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from imagesearch.data.fetch import DatasetError, DatasetMismatch, fetch_dataset, freeze_checksums
from imagesearch.data.object_store import ObjectStoreError
from imagesearch.hashing import hash_file
from tests.s3_server import moto_s3

pytestmark = pytest.mark.slow  # a real S3 server and uploads (~10 s)
BUCKET = "photos"


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with moto_s3(tmp_path_factory.mktemp("aws"), BUCKET) as url:
        yield url


@pytest.fixture
def bucket_dataset(endpoint: str, tiny_dataset: Path, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The tiny dataset uploaded under a fresh prefix, and its frozen checksum list."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    prefix = f"datasets/{tmp_path.name}"
    for path in sorted(p for p in tiny_dataset.rglob("*") if p.is_file()):
        s3.upload_file(str(path), BUCKET, f"{prefix}/{path.relative_to(tiny_dataset).as_posix()}")
    checksums = tmp_path / "dataset.sha256"
    freeze_checksums(tiny_dataset, checksums)
    return f"s3://{BUCKET}/{prefix}", checksums


def files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hash_file(p) for p in folder.rglob("*") if p.is_file()}


def test_the_bucket_route_gives_the_folder_route_bytes(bucket_dataset, tiny_dataset: Path, tmp_path: Path) -> None:
    source, checksums = bucket_dataset
    assert fetch_dataset(tmp_path / "from_s3", source, "", checksums) == source
    fetch_dataset(tmp_path / "from_folder", str(tiny_dataset), "", checksums)
    assert files(tmp_path / "from_s3") == files(tmp_path / "from_folder") and files(tmp_path / "from_s3")


def test_a_changed_object_is_named_and_nothing_is_left_behind(bucket_dataset, endpoint: str, tmp_path: Path) -> None:
    source, checksums = bucket_dataset
    bucket, prefix = source[len("s3://"):].split("/", 1)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").put_object(
        Bucket=bucket, Key=f"{prefix}/train_dataset.csv", Body=b"image,query_id,query_text\n")
    with pytest.raises(DatasetMismatch, match=r"1 files differ from data/dataset.sha256 \(train_dataset.csv\)"):
        fetch_dataset(tmp_path / "raw", source, "", checksums)
    assert not (tmp_path / "raw").exists()


def test_an_empty_prefix_is_no_dataset(bucket_dataset, tmp_path: Path) -> None:
    _, checksums = bucket_dataset
    with pytest.raises(DatasetError, match=r"s3://photos/nothing-here holds none of the dataset's files"):
        fetch_dataset(tmp_path / "raw", f"s3://{BUCKET}/nothing-here", "", checksums)


def test_an_unreachable_endpoint_is_named_within_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    checksums = tmp_path / "dataset.sha256"
    checksums.write_text("0" * 64 + "  train_dataset.csv\n")
    start = time.monotonic()
    with pytest.raises(ObjectStoreError, match=rf"S3 endpoint http://127.0.0.1:{port} unreachable"):
        fetch_dataset(tmp_path / "raw", f"s3://{BUCKET}/x", "", checksums)
    assert time.monotonic() - start < 15


def test_dvc_repro_from_the_bucket_locks_the_folder_route_hashes(bucket_dataset, tiny_dataset: Path,
                                                                 tmp_path: Path) -> None:
    """fetch_data with data.source s3://...: the same data/raw hash in dvc.lock as from a folder;
    the lock names the location only (no endpoint, no credentials)."""
    import yaml

    from tests.pipeline_repo import dvc, make_pipeline_repo, set_param

    source, _ = bucket_dataset
    locks = {}
    for route in ("folder", "s3"):
        repo = make_pipeline_repo(tmp_path / route / "repo", tiny_dataset)
        if route == "s3":
            set_param(repo, ("data", "source"), source)
        dvc(repo, "repro", "-s", "fetch_data")
        locks[route] = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["fetch_data"]
    assert locks["s3"]["outs"] == locks["folder"]["outs"]
    text = yaml.safe_dump(locks["s3"])
    assert source in text and "testing" not in text and "127.0.0.1" not in text


def test_workers_download_the_bucket_with_the_credentials_their_tasks_carry(
        bucket_dataset, tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dask scheduler and two workers whose environment has no AWS settings at all: the
    endpoint and credentials reach them with the tasks, and the bytes are the folder route's."""
    import os

    from dask.distributed import Client

    from imagesearch.cluster import ENV
    from tests.loopback_cluster import start_scheduler, start_worker, stop

    source, checksums = bucket_dataset
    bare = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    address, scheduler = start_scheduler(tmp_path)
    workers = [start_worker(address, tmp_path, env=bare) for _ in range(2)]
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        monkeypatch.setenv(ENV, address)
        fetch_dataset(tmp_path / "from_s3", source, "", checksums)
    finally:
        stop([*workers, scheduler])
    fetch_dataset(tmp_path / "from_folder", str(tiny_dataset), "", checksums)
    assert files(tmp_path / "from_s3") == files(tmp_path / "from_folder")
