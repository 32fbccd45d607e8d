"""`imagesearch serve` as it runs in production: a real uvicorn subprocess on 127.0.0.1, real
sockets and real signals, on the tiny real index. Behaviour only; the timings are in
benchmarks/bench_production.py."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
#: uvicorn exits cleanly, then re-raises the signal it caught: exit status 0 or "killed by SIGTERM"
EXITED = (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(index: Path, *options: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "imagesearch.serving.cli", "serve", "--index", str(index),
                                "--port", str(port), *options], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return process, f"http://127.0.0.1:{port}"


def wait_until(base: str, path: str, process: subprocess.Popen, timeout: float = 120) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}: {process.stderr.read().decode()[-2000:]}")
        try:
            response = httpx.get(base + path, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    pytest.fail(f"{path} was not green within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def server(search_index) -> Iterator[tuple[subprocess.Popen, str]]:
    """A server with one search slot and no queue, so that two concurrent searches already shed."""
    process, base = start(search_index.folder, "--max-active", "1", "--max-waiting", "0", "--header-timeout", "1")
    try:
        wait_until(base, "/readyz", process)
        yield process, base
    finally:
        stop(process)


@pytest.mark.slow
def test_liveness_comes_first_and_readiness_only_after_every_query_path_is_warm(search_index) -> None:
    process, base = start(search_index.folder)
    try:
        wait_until(base, "/healthz", process)
        early = httpx.get(base + "/readyz")
        if early.status_code == 503:  # still loading: searches are refused, not queued
            assert early.json()["status"] == "starting"
            assert httpx.get(base + "/api/search", params={"q": "a red circle"}).status_code in (200, 503)
        ready = wait_until(base, "/readyz", process).json()
        assert ready["status"] == "ready" and {"english", "legal"} <= set(ready["warmed"])
        assert httpx.get(base + "/healthz").json()["images"] == len(search_index.allowed_images)
    finally:
        stop(process)


def test_the_excess_gets_503_with_retry_after_and_healthz_stays_green(server) -> None:
    _, base = server

    async def burst() -> tuple[Counter, list[int]]:
        statuses, retry, health = Counter(), [], []
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            async def one(i: int) -> None:
                response = await client.get("/api/search", params={"q": f"a red circle {i}", "k": 5})
                statuses[response.status_code] += 1
                if response.status_code == 503:
                    retry.append(int(response.headers["retry-after"]))

            async def probe() -> None:
                for _ in range(5):
                    health.append((await client.get("/healthz")).status_code)

            for _ in range(5):  # bursts until one sheds (each has 16 searches for one slot)
                await asyncio.gather(probe(), *(one(i) for i in range(16)))
                if statuses[503]:
                    break
        return statuses, retry + health

    statuses, codes = asyncio.run(burst())
    assert set(statuses) <= {200, 503} and statuses[503] > 0 and statuses[200] > 0
    assert all(code == 200 or code >= 1 for code in codes)
    page = httpx.get(base + "/", params={"q": "a blue square"})
    assert page.status_code in (200, 503)


def fire_through_sigterm(base: str, process: subprocess.Popen, clients: int = 12) -> Counter:
    """Clients on keep-alive connections fire back to back; SIGTERM after 1 s. Outcomes by
    (sent before/after the signal, HTTP status or error)."""
    outcomes: Counter = Counter()
    signalled: list[float] = []

    async def scenario() -> None:
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
            async def worker(i: int) -> None:
                while True:
                    when = "after" if signalled else "before"
                    try:
                        response = await client.get("/api/search", params={"q": f"a green field {i}", "k": 3})
                        outcomes[(when, response.status_code)] += 1
                    except httpx.HTTPError as err:
                        outcomes[(when, type(err).__name__)] += 1
                        return

            async def terminate() -> None:
                await asyncio.sleep(1.0)
                signalled.append(time.monotonic())
                process.send_signal(signal.SIGTERM)

            await asyncio.gather(terminate(), *(worker(i) for i in range(clients)))

    asyncio.run(scenario())
    return outcomes


@pytest.mark.slow
def test_sigterm_answers_every_request_already_sent_then_exits(search_index) -> None:
    process, base = start(search_index.folder, "--max-active", "2", "--graceful-timeout", "5")
    try:
        wait_until(base, "/readyz", process)
        outcomes = fire_through_sigterm(base, process)
        assert process.wait(timeout=30) in EXITED
    finally:
        stop(process)
    before = {what: n for (when, what), n in outcomes.items() if when == "before"}
    assert before.get(200, 0) > 0
    # answered, or refused at connect (a request issued just before the signal may need a new
    # connection, and a refused connection sent nothing); never a closed connection without answer
    assert set(before) <= {200, 503, "ConnectError"}, f"requests sent before SIGTERM were dropped: {outcomes}"
    after = {what for (when, what) in outcomes if when == "after"}
    assert after <= {200, 503, "ConnectError"}, outcomes


@pytest.mark.slow
def test_a_client_that_never_reads_cannot_hold_the_server_after_sigterm(search_index) -> None:
    process, base = start(search_index.folder, "--graceful-timeout", "2")
    try:
        wait_until(base, "/readyz", process)
        port = int(base.rsplit(":", 1)[1])
        pipelining = socket.create_connection(("127.0.0.1", port))
        pipelining.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        pipelining.setblocking(False)
        photo = httpx.get(base + "/api/search", params={"q": "a red circle", "k": 1}).json()["results"][0]["url"]
        request = f"GET {photo} HTTP/1.1\r\nHost: x\r\n\r\n".encode()  # the photo fills the buffers fast
        try:
            pipelining.send(request * 2000)
        except BlockingIOError:
            pass
        idle = socket.create_connection(("127.0.0.1", port))
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) in EXITED  # the graceful timeout (2 s) ends the wait
        pipelining.close()
        idle.close()
    finally:
        stop(process)


def test_a_connection_that_sends_no_request_is_closed(server) -> None:
    _, base = server
    port = int(base.rsplit(":", 1)[1])
    for first_bytes in (b"", b"GET /healthz HTTP/1.1\r\n"):  # silent, and a head that never ends
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(first_bytes)
            conn.settimeout(20)
            assert conn.recv(1024) == b""  # closed by the server (--header-timeout 1)
    assert httpx.get(base + "/healthz").status_code == 200


def test_readyz_reports_the_gate(server) -> None:
    _, base = server
    ready = httpx.get(base + "/readyz").json()
    assert ready["status"] == "ready" and ready["active"] >= 0 and ready["waiting"] == 0
    assert ready["counts"].get("admitted", 0) >= 0
