"""One switch, outside the outputs: IMAGESEARCH_SCHEDULER runs heavy stages on Dask, same bytes."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml

from imagesearch.cluster import (ENV, MALLOC_TRIM, MIN_TASKS, ClusterTaskError, chunk_slices, cluster_client,
                                 connect, scheduler_spec)
from tests.loopback_cluster import held_worker_pid, hold_first_task, start_scheduler, start_worker, stop
from tests.pipeline_repo import dvc, environment, make_pipeline_repo, set_param

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("value, expected", [("", None), ("local:2", ("local", 2)),
                                             ("tcp://10.0.0.5:8786", ("tcp", "tcp://10.0.0.5:8786"))])
def test_the_variable_names_the_scheduler(monkeypatch, value, expected) -> None:
    monkeypatch.setenv(ENV, value)
    assert scheduler_spec() == expected


@pytest.mark.parametrize("value", ["local:0", "local:two", "dask", "http://host:8786"])
def test_a_bad_value_is_a_clear_error(monkeypatch, value) -> None:
    monkeypatch.setenv(ENV, value)
    with pytest.raises(ValueError, match=f"{ENV}=.*(local:N|N >= 1)"):
        scheduler_spec()


# -- a real scheduler and workers on 127.0.0.1 ---------------------------------------------------
@pytest.fixture(scope="module")
def loopback_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``dask scheduler`` and two ``dask worker`` processes (one thread each) on 127.0.0.1."""
    from dask.distributed import Client

    folder = tmp_path_factory.mktemp("cluster")
    address, scheduler = start_scheduler(folder)
    workers = [start_worker(address, folder) for _ in range(2)]
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        stop([*workers, scheduler])


@pytest.fixture(scope="module")
def built_repo(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path) -> Path:
    """The tiny pipeline run in this process once (the reference bytes); copy it to change it."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("built") / "repo", tiny_dataset)
    set_param(repo, ("embed_images", "batch_size"), 2)  # 24 images: 2 tasks of 8 batches of 2
    set_param(repo, ("embed_texts", "batch_size"), 4)  # texts: several tasks of 4 batches
    # the tiny expert scores reach 3.0 on no held-out pair, and a None cv ROC-AUC stops train's
    # headline (metrics/cv.json); 2.0 gives both classes
    set_param(repo, ("train", "match_threshold"), 2.0)
    dvc(repo, "repro")
    return repo


def output_bytes(repo: Path) -> dict[str, bytes]:
    """Every file the pipeline wrote (data/**, metrics/**, dvc.lock), the cache excepted."""
    files = [p for top in ("data", "metrics") for p in (repo / top).rglob("*")
             if p.is_file() and "cache" not in p.relative_to(repo).parts[:2]]
    return {str(p.relative_to(repo)): p.read_bytes() for p in files + [repo / "dvc.lock"]}


DISTRIBUTED_STAGES = ["validate", "embed_images", "embed_texts", "align_queries", "train", "evaluate", "index"]
#: The progress bar each distributed stage's cluster tasks show (a stage that quietly fell back to
#: running in its own process would not).
CLUSTER_BARS = ("check images (cluster): 100%", "embed images (efficientnet-lite1, cluster): 100%",
                "embed texts (minilm, cluster): 100%", "align queries (multilingual USE) (cluster): 100%",
                "cross-validation (cluster): 100%", "final fits (cluster): 100%",
                "score test queries (joint model) (cluster): 100%",
                "score test queries (raw model) (cluster): 100%", "index: image side (cluster): 100%")


def rerun_on(repo: Path, scheduler: str) -> str:
    """The distributed stages forced to run again with ``IMAGESEARCH_SCHEDULER=scheduler``, the
    embedding cache removed first so that the workers compute every vector; returns the log."""
    shutil.rmtree(repo / "data" / "cache", ignore_errors=True)
    env = dict(environment(repo), **{ENV: scheduler})
    run = subprocess.run([sys.executable, "-m", "dvc", "repro", "-f", "-s", *DISTRIBUTED_STAGES], cwd=repo,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    return run.stdout + run.stderr


@pytest.mark.parametrize("where", ["local:2", "loopback scheduler"])
def test_every_distributed_stage_on_a_cluster_writes_the_same_bytes(where: str, tmp_path: Path, built_repo: Path,
                                                                    request: pytest.FixtureRequest) -> None:
    scheduler = where if where.startswith("local:") else request.getfixturevalue("loopback_scheduler")
    repo = tmp_path / "repo"
    shutil.copytree(built_repo, repo, symlinks=True)
    reference = output_bytes(repo)
    log = rerun_on(repo, scheduler)
    assert f"Dask cluster {scheduler}: 2 workers, dashboard http" in log, log[-3000:]
    for stage_bar in CLUSTER_BARS:
        assert stage_bar in log, (stage_bar, log[-3000:])
    after = output_bytes(repo)
    assert sorted(after) == sorted(reference)
    changed = [name for name in reference if after[name] != reference[name]]
    assert changed == [], changed


def test_a_silent_listener_is_not_a_scheduler_and_the_error_says_so_in_seconds(monkeypatch) -> None:
    """Something accepts the connection but never speaks Dask: the client alone would wait forever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv(ENV, address)
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"{ENV}={address}: something accepted the connection but "
                                              "did not complete Dask's handshake"):
        with cluster_client():
            pass
    assert time.monotonic() - started < 15  # CONNECT_TIMEOUT_S (10 s) and the 2 s grace
    listener.close()


def test_an_unreachable_scheduler_is_named_within_the_timeout() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    probe.close()  # nothing listens there now
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"{ENV}={address}: no Dask scheduler reachable within 2 s"):
        connect(address, timeout_s=2)
    assert time.monotonic() - started < 5


def test_workers_without_the_package_are_told_so_by_the_cluster_check(tmp_path: Path, monkeypatch) -> None:
    """A worker whose Python has Dask but not this project (its site-packages without the .pth
    files that make the editable install importable)."""
    import distributed

    address, scheduler = start_scheduler(tmp_path)
    site_packages = str(Path(distributed.__file__).parents[1])
    bare = dict(os.environ, PYTHONPATH=site_packages)
    worker = start_worker(address, tmp_path, python=[sys.executable, "-S"], env=bare, nanny=False)
    try:
        monkeypatch.setenv(ENV, address)
        with pytest.raises(RuntimeError, match=r"workers tcp://127\.0\.0\.1:\d+ cannot import the "
                                               r"project's package `imagesearch`: install it"):
            with cluster_client(tmp_path):
                pass
    finally:
        stop([worker, scheduler])


def test_a_scheduler_without_workers_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    address, scheduler = start_scheduler(tmp_path)
    try:
        monkeypatch.setenv(ENV, address)
        with pytest.raises(ConnectionError, match="the scheduler has no workers .*start some with `dask worker"):
            with cluster_client(tmp_path):
                pass
    finally:
        stop([scheduler])


def test_workers_run_with_glibcs_malloc_defaults_or_are_named_in_a_warning(tmp_path: Path, monkeypatch,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Dask's nanny sets MALLOC_TRIM_THRESHOLD_, which makes every large array fault its pages in
    again: local:N workers and workers started as docs/cluster.md says run without it; a worker
    started with Dask's defaults is named in a warning that gives the fix."""
    monkeypatch.setenv(ENV, "local:1")
    with cluster_client(tmp_path) as client:
        assert list(client.run(os.getenv, MALLOC_TRIM).values()) == [None]
    address, scheduler = start_scheduler(tmp_path)
    workers = [start_worker(address, tmp_path), start_worker(address, tmp_path, as_documented=False)]
    try:
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
            trims = sorted(str(v) for v in client.run(os.getenv, MALLOC_TRIM).values())
        assert trims == ["65536", "None"]
        monkeypatch.setenv(ENV, address)
        with caplog.at_level("WARNING", logger="imagesearch.cluster"), cluster_client(tmp_path):
            pass
    finally:
        stop([*workers, scheduler])
    warned = [r.getMessage() for r in caplog.records if MALLOC_TRIM in r.getMessage()]
    assert len(warned) == 1 and warned[0].count("tcp://127.0.0.1:") == 1, warned
    assert "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON" in warned[0]


def kill_a_worker_running(address: str, task_name: str, killed: list[str], wait_s: float = 120) -> None:
    """SIGKILL (by its PID) the first worker seen running a task named ``task_name``; its name
    goes into ``killed``."""
    from dask.distributed import Client

    with Client(address, timeout="30s") as watcher:
        pids = watcher.run(os.getpid)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and not killed:
            busy = [worker for worker, tasks in watcher.processing().items()
                    if any(task_name in str(task) for task in tasks)]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.02)


def _stage_inputs(repo: Path) -> dict:
    return yaml.safe_load((repo / "params.yaml").read_text())["embed_images"]


def test_a_dask_worker_killed_mid_task_leaves_the_same_vectors(tmp_path: Path, built_repo: Path,
                                                                loopback_scheduler: str, monkeypatch) -> None:
    """SIGKILL the worker that is running an embedding task (by its PID): the scheduler reruns the
    task elsewhere and the stage's vectors are the in-process ones."""
    from dask.distributed import Client

    from imagesearch.embedding.images import embed_image_table
    from imagesearch.embedding.vectors import load_vectors

    repo = tmp_path / "repo"
    shutil.copytree(built_repo, repo, symlinks=True)
    reference = load_vectors(repo / "data" / "features" / "images.npz")
    killed: list[str] = []
    killer = threading.Thread(target=kill_a_worker_running, args=(loopback_scheduler, "encode_on_worker", killed))
    killer.start()
    monkeypatch.setenv(ENV, loopback_scheduler)
    result = embed_image_table(_stage_inputs(repo), root=repo, cache_root=tmp_path / "empty-cache", progress=False)
    killer.join()
    assert killed, "no worker was seen running an embedding task"
    assert result.ids == reference.ids
    assert np.array_equal(result.vectors, reference.vectors)
    assert (repo / "data" / "features" / "images.npz").read_bytes() == \
        (built_repo / "data" / "features" / "images.npz").read_bytes()
    with Client(loopback_scheduler, timeout="30s") as client:  # the nanny restarts the killed one
        client.wait_for_workers(2, timeout=120)


def test_a_failing_cluster_task_names_the_file_and_writes_nothing(tmp_path: Path, built_repo: Path,
                                                                   loopback_scheduler: str, monkeypatch) -> None:
    """An image that stopped decoding after validate: the error names it; the old vectors stay."""
    from imagesearch.embedding.images import embed_image_table

    repo = tmp_path / "repo"
    shutil.copytree(built_repo, repo, symlinks=True)
    vectors = repo / "data" / "features" / "images.npz"
    before = vectors.read_bytes()
    broken = sorted((repo / "data" / "raw" / "train_images").iterdir())[3]
    broken.unlink()  # a DVC-linked file: replace it, never write through the link into the cache
    broken.write_bytes(b"\xff\xd8\xff\xe0 not a JPEG any more")
    monkeypatch.setenv(ENV, loopback_scheduler)
    with pytest.raises(ClusterTaskError, match=rf"embed images \(efficientnet-lite1, cluster\): the task for "
                                               rf"\d+ images from .* failed on the cluster: ValueError: "
                                               rf".*{broken.name}: cannot decode the image"):
        embed_image_table(_stage_inputs(repo), root=repo, cache_root=tmp_path / "empty-cache", progress=False)
    assert vectors.read_bytes() == before


def test_a_worker_killed_mid_align_queries_leaves_the_same_query_map(tmp_path: Path, built_repo: Path,
                                                                      monkeypatch) -> None:
    """SIGKILL a worker while it loads USE for its first text task (fresh workers, so the load is
    inside a task): the task is rerun on the other worker and align_queries writes the in-process
    bytes: the query map, the Russian vectors, the metrics."""
    from imagesearch import paths
    from imagesearch.embedding.multilingual import align_queries

    repo = tmp_path / "repo"
    shutil.copytree(built_repo, repo, symlinks=True)
    written = [paths.RUSSIAN_QUERY_VECTORS, *sorted(p.relative_to(repo) for p in (repo / paths.QUERY_ALIGNER).rglob("*"))]
    reference = {str(p): (built_repo / p).read_bytes() for p in written}
    cluster_folder = tmp_path / "cluster"
    cluster_folder.mkdir()
    address, scheduler = start_scheduler(cluster_folder)
    workers = [start_worker(address, cluster_folder) for _ in range(2)]
    try:
        from dask.distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        killed: list[str] = []
        killer = threading.Thread(target=kill_a_worker_running, args=(address, "encode_on_worker", killed))
        killer.start()
        monkeypatch.setenv(ENV, address)
        params = yaml.safe_load((repo / "params.yaml").read_text())["align_queries"]
        metrics = align_queries(params["folds"], root=repo, cache_root=tmp_path / "empty-cache")
        killer.join()
    finally:
        stop([*workers, scheduler])
    assert killed, "no worker was seen running a text task"
    after = {str(p): (repo / p).read_bytes() for p in written}
    assert [name for name in reference if after[name] != reference[name]] == []
    assert json.dumps(metrics, sort_keys=True) == json.dumps(
        json.loads((built_repo / paths.ALIGNMENT_METRICS).read_text()), sort_keys=True)


def test_the_two_stage_index_built_on_a_cluster_is_the_same_bytes(search_index, tmp_path: Path, monkeypatch,
                                                                    capsys: pytest.CaptureFixture) -> None:
    """Past index.two_stage_from (forced down to 1 here) the chunks' image sides are cluster tasks:
    the two-stage folder is the in-process one byte for byte, and the sides come back in catalog
    order however many rounds of tasks they take."""
    import pandas as pd

    from imagesearch.cluster import tasks
    from imagesearch.embedding.vectors import load_vectors
    from imagesearch.modeling.relevance import RelevanceModel
    from imagesearch.params import SearchParams
    from imagesearch.serving.index import IndexParts, build_index, image_sides

    work = search_index.work
    image_set = load_vectors(work / "images.npz")
    images = pd.DataFrame({"image": list(image_set.ids), "path": [f"/catalog/{name}" for name in image_set.ids]})
    parts = IndexParts(work / "model", work / "text_encoder")
    search = SearchParams(two_stage_from=1, candidates=len(images))
    build_index(tmp_path / "here", parts, images, image_set, set(), search)
    model = RelevanceModel.load(parts.model)
    here = list(image_sides(model, image_set.vectors, chunk=2))
    assert len(here) > 8  # more than one round of tasks
    monkeypatch.setenv(ENV, "local:2")
    with tasks(tmp_path) as runner:
        manifest = build_index(tmp_path / "cluster", parts, images, image_set, set(), search, runner=runner)
        there = list(image_sides(model, image_set.vectors, runner, chunk=2))
    assert "index: two-stage image side (cluster): 100%" in capsys.readouterr().err
    assert manifest["search"] == "two_stage"
    written = sorted(p.relative_to(tmp_path / "here") for p in (tmp_path / "here").rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(tmp_path / "cluster") for p in (tmp_path / "cluster").rglob("*") if p.is_file())
    assert [str(name) for name in written
            if (tmp_path / "here" / name).read_bytes() != (tmp_path / "cluster" / name).read_bytes()] == []
    assert len(there) == len(here)
    for a, b in zip(here, there):
        assert all(getattr(a, field).tobytes() == getattr(b, field).tobytes() for field in a.__dataclass_fields__)


@pytest.mark.parametrize("stage, task", [("evaluate", "score_on_worker"), ("index", "image_side_on_worker")])
def test_a_worker_killed_mid_evaluate_or_index_leaves_the_same_outputs(stage: str, task: str, tmp_path: Path,
                                                                        built_repo: Path, loopback_scheduler: str) -> None:
    """The stage's tasks take milliseconds, so the first one is held on its worker before it starts
    (a worker plugin) until the test SIGKILLs that worker by its PID: the scheduler reruns the task
    on the other worker, and the stage, run by `dvc repro`, writes the in-process bytes."""
    from dask.distributed import Client

    repo = tmp_path / "repo"
    shutil.copytree(built_repo, repo, symlinks=True)
    reference = output_bytes(repo)
    claim = tmp_path / "held"
    with Client(loopback_scheduler, timeout="30s") as client:
        plugin = hold_first_task(client, task, claim)
        try:
            env = dict(environment(repo), **{ENV: loopback_scheduler})
            with open(tmp_path / "repro.log", "w") as log:
                run = subprocess.Popen([sys.executable, "-m", "dvc", "repro", "-f", "-s", stage], cwd=repo,
                                       env=env, stdout=log, stderr=subprocess.STDOUT)
                try:
                    os.kill(held_worker_pid(claim), signal.SIGKILL)
                    returncode = run.wait(timeout=600)
                finally:
                    run.kill()  # a no-op once it has ended
        finally:
            client.unregister_worker_plugin(plugin)
        client.wait_for_workers(2, timeout=120)  # the nanny restarts the killed one
    assert returncode == 0, (tmp_path / "repro.log").read_text()[-3000:]
    after = output_bytes(repo)
    assert [name for name in reference if after.get(name) != reference[name]] == []


@pytest.mark.parametrize("count, most", [(0, 4), (1, 4), (7, 64), (24, 2), (500, 64), (100_000, 4096)])
def test_chunks_are_a_function_of_the_count_alone(count: int, most: int) -> None:
    parts = chunk_slices(count, most)
    assert [i for part in parts for i in range(count)[part]] == list(range(count))
    assert all(0 < part.stop - part.start <= most for part in parts)
    assert len(parts) >= min(count, MIN_TASKS)


def test_unset_the_stages_run_in_their_own_process_without_importing_dask(tmp_path: Path) -> None:
    """The default costs nothing new: no cluster, no Dask import, the chunks in input order."""
    code = ("import sys; from imagesearch.cluster import map_chunks; "
            "out = map_chunks(sum, [[1, 2], [3], [4, 5, 6]], 'sums', progress=False); "
            "assert out == [3, 3, 15], out; "
            "assert not any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules), 'dask imported'")
    env = {k: v for k, v in os.environ.items() if k != ENV}
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
