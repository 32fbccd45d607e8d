"""`imagesearch serve` under production conditions: overload, shutdown, slow clients, readiness.

    python -m benchmarks.bench_production --index /tmp/million_index overload   # ~3 min + 2 server starts
    python -m benchmarks.bench_production --index data/index shutdown --trials 10
    python -m benchmarks.bench_production --index /tmp/million_index readiness

overload   One server with the production defaults and one with the admission gate opened wide
           (``--max-active 256 --max-waiting 0``: every request runs at once, as before the gate),
           each driven by closed-loop clients (allowed test queries only) at each ``--concurrency``
           for ``--seconds``; a prober asks /healthz every 100 ms throughout. Prints goodput (200s
           per second), p50/p95/p99 of the 200s, the 503s and their p99, /healthz p99 and max, and the
           goodput ratio to the lowest concurrency of the same server. ``--retry-after honour``
           (default) makes a refused client wait as told; ``ignore`` retries at once (a hostile client).
shutdown   ``--trials`` times: a fresh server, ``--in-flight`` clients firing back to back on
           keep-alive connections, SIGTERM after 1 s. A request sent before the signal and answered
           by nothing (a closed connection) is *dropped*; after the signal a refused connection
           is expected. Then: exit time with a client that pipelines requests without reading,
           an idle connection and a slow-header one; how long until an idle connection is closed.
abandon    64 clients send a search and hang up 50 ms later; the next search's time against an idle one.
readiness  Time to /healthz and to /readyz from the start; 8 concurrent Russian queries right after
           /readyz turns green, then 8 more (their ratio shows whether anything was still cold;
           the queue is widened to 16 so that none of them is shed).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import httpx

from benchmarks.bench_load import QUERIES, REPO, free_port, start_server

WIDE_OPEN = ("--max-active", "256", "--max-waiting", "0")


def allowed_queries(index: Path, language: str = "en") -> list[str]:
    """The test queries the legal policy allows (the built-in list's allowed ones without the data)."""
    from imagesearch.legal.policy import LegalPolicy

    policy = LegalPolicy.load(index)
    english, russian = REPO / "data/clean/test_queries.parquet", REPO / "data/translations/test_queries_ru.tsv"
    texts = list(QUERIES)
    if language == "en" and english.is_file():
        import pandas as pd

        texts = list(pd.read_parquet(english)["query_text"])
    elif language == "ru" and russian.is_file():
        import pandas as pd

        texts = list(pd.read_csv(russian, sep="\t", quoting=3)["query_ru"])
    return [text for text in texts if not policy.check_text(text).blocked]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


# ------------------------------------------------------------------ overload
@dataclass
class Tally:
    ok: list[float] = field(default_factory=list)      # latencies (s) of 200s
    shed: list[float] = field(default_factory=list)    # latencies of 503s
    errors: Counter = field(default_factory=Counter)
    health: list[float] = field(default_factory=list)


class Connection:
    """A lean HTTP/1.1 keep-alive client on asyncio streams: the load generator shares the 2 cores
    with the server, and httpx's pool at 64 connections spent more CPU than the server (its own
    /healthz probe then read 300 ms where a separate process read 27 ms)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        try:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
            body = await reader.readexactly(int(headers.get("content-length", 0)))
        except (OSError, asyncio.IncompleteReadError):
            self.close()
            raise
        if headers.get("connection") == "close":
            self.close()
        return int(lines[0].split()[1]), headers, body

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


def search_target(query: str, k: int = 10) -> str:
    return f"/api/search?{urlencode({'q': query, 'k': k})}"


async def drive(port: int, queries: list[str], concurrency: int, seconds: float, honour: bool) -> Tally:
    tally = Tally()
    stop = time.perf_counter() + seconds

    async def worker(i: int) -> None:
        conn, n = Connection(port), i
        while time.perf_counter() < stop:
            n += concurrency
            began = time.perf_counter()
            try:
                status, headers, _ = await conn.get(search_target(queries[n % len(queries)]))
            except (OSError, asyncio.IncompleteReadError) as err:
                tally.errors[type(err).__name__] += 1
                continue
            took = time.perf_counter() - began
            if status == 200:
                tally.ok.append(took)
            elif status == 503:
                tally.shed.append(took)
                if honour:
                    await asyncio.sleep(float(headers.get("retry-after", 1)))
            else:
                tally.errors[f"HTTP {status}"] += 1
        conn.close()

    async def probe() -> None:
        conn = Connection(port)
        while time.perf_counter() < stop:
            began = time.perf_counter()
            status, _, _ = await conn.get("/healthz")
            tally.health.append(time.perf_counter() - began)
            if status != 200:
                tally.errors[f"healthz {status}"] += 1
            await asyncio.sleep(0.1)
        conn.close()

    await asyncio.gather(probe(), *(worker(i) for i in range(concurrency)))
    return tally


def overload(args: argparse.Namespace) -> None:
    queries = allowed_queries(args.index)
    print(f"{len(queries)} allowed test queries; {args.seconds:.0f} s per level; 503s: {args.retry_after}")
    honour = args.retry_after == "honour"
    servers = [("production defaults" + (f" + {' '.join(args.extra)}" if args.extra else ""), tuple(args.extra))]
    if not args.no_baseline:
        servers.append(("gate wide open", WIDE_OPEN))
    for name, extra in servers:
        port = free_port()
        server = start_server(args.index, port, extra=extra, repo=args.repo)
        try:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(drive(port, queries, 4, 3, honour))  # warm
            print(f"\n{name}:")
            print(f"{'conc':>4} {'goodput/s':>9} {'vs low':>6} {'200 p50':>8} {'200 p95':>8} {'200 p99':>8} {'503s':>5} "
                  f"{'503 p99':>8} {'503 max':>8} {'healthz p99':>11} {'max':>7} errors")
            low = None
            for concurrency in args.concurrency:
                began = time.perf_counter()
                tally = asyncio.run(drive(port, queries, concurrency, args.seconds, honour))
                goodput = len(tally.ok) / (time.perf_counter() - began)
                low = low or goodput
                ms = lambda values, q: 1000 * pct(values, q)  # noqa: E731
                print(f"{concurrency:>4} {goodput:>9.1f} {goodput / low:>5.2f}x {ms(tally.ok, 50):>8.0f} "
                      f"{ms(tally.ok, 95):>8.0f} {ms(tally.ok, 99):>8.0f} {len(tally.shed):>5} {ms(tally.shed, 99):>8.1f} "
                      f"{1000 * max(tally.shed, default=float('nan')):>8.1f} {ms(tally.health, 99):>11.1f} "
                      f"{1000 * max(tally.health):>7.1f} {dict(tally.errors) or ''}", flush=True)
            print("server counts:", httpx.get(f"{base}/readyz").json().get("counts"))
        finally:
            server.terminate()
            server.wait(timeout=30)


# ------------------------------------------------------------------ shutdown
async def fire_through_sigterm(base: str, pid: int, queries: list[str], clients: int) -> tuple[Counter, float]:
    """Clients fire back to back; SIGTERM after 1 s. Outcomes by (request issued before/after the
    signal, result): "refused" (the connection was refused: nothing was sent), an HTTP status, or
    the error that ended it (a closed connection: the request was dropped)."""
    outcomes: Counter = Counter()
    signalled: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        async def worker(i: int) -> None:
            n = i
            while True:
                n += clients
                sent = time.perf_counter()
                when = "before" if not signalled else "after"
                try:
                    response = await client.get("/api/search", params={"q": queries[n % len(queries)], "k": 10})
                    outcomes[(when, f"HTTP {response.status_code}")] += 1
                except httpx.ConnectError:
                    outcomes[(when, "refused")] += 1
                    return
                except httpx.HTTPError as err:
                    outcomes[(when if not signalled or sent < signalled[0] else "after", type(err).__name__)] += 1
                    return

        async def terminate() -> None:
            await asyncio.sleep(1.0)
            signalled.append(time.perf_counter())
            os.kill(pid, signal.SIGTERM)

        await asyncio.gather(terminate(), *(worker(i) for i in range(clients)))
    return outcomes, signalled[0]


def stuck_clients(port: int) -> list[socket.socket]:
    """A client pipelining 2,000 requests for a catalog photo without reading (the server's
    buffers fill within a second), one that says nothing, one that sent half a request head
    (the caller keeps them open)."""
    photo = httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": "two dogs", "k": 1}).json()
    pipelining = socket.create_connection(("127.0.0.1", port))
    pipelining.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = f"GET {photo['results'][0]['url']} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    pipelining.setblocking(False)
    try:
        pipelining.send(request * 2000)
    except BlockingIOError:
        pass
    idle = socket.create_connection(("127.0.0.1", port))
    slow = socket.create_connection(("127.0.0.1", port))
    slow.send(b"GET /healthz HTTP/1.1\r\n")
    return [pipelining, idle, slow]


def closes_after(port: int, send_slowly: bool, limit: float = 60.0) -> float:
    """Seconds until the server closes a connection that sends nothing (or one byte a second)."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.settimeout(1.0)
    began = time.perf_counter()
    try:
        while time.perf_counter() - began < limit:
            if send_slowly:
                conn.send(b"G")
            try:
                if conn.recv(1024) == b"":
                    return time.perf_counter() - began
            except socket.timeout:
                continue
            except ConnectionResetError:
                return time.perf_counter() - began
    except (BrokenPipeError, ConnectionResetError):
        return time.perf_counter() - began
    finally:
        conn.close()
    return float("inf")


def shutdown(args: argparse.Namespace) -> None:
    queries = allowed_queries(args.index)
    print(f"SIGTERM with {args.in_flight} clients firing back to back, {args.trials} trials:")
    print(f"{'trial':>5} {'in flight, answered':>20} {'dropped':>8} {'after: answered / refused / closed':>36} "
          f"{'exit s':>7}")
    dropped_total = 0
    for trial in range(1, args.trials + 1):
        port = free_port()
        server = start_server(args.index, port, extra=tuple(args.extra), repo=args.repo)
        outcomes, signalled = asyncio.run(fire_through_sigterm(f"http://127.0.0.1:{port}", server.pid, queries,
                                                               args.in_flight))
        server.wait(timeout=60)
        exit_s = time.perf_counter() - signalled
        answered = sum(n for (when, what), n in outcomes.items() if when == "before" and what.startswith("HTTP"))
        # a refused connection sent nothing (safe to retry anywhere): only a closed one drops a request
        dropped = sum(n for (when, what), n in outcomes.items()
                      if when == "before" and not what.startswith("HTTP") and what != "refused")
        after = [sum(n for (when, what), n in outcomes.items() if when == "after" and pick(what))
                 for pick in (lambda w: w.startswith("HTTP"), lambda w: w == "refused",
                              lambda w: not w.startswith("HTTP") and w != "refused")]
        dropped_total += dropped
        print(f"{trial:>5} {answered:>20} {dropped:>8} {' / '.join(map(str, after)):>36} {exit_s:>7.2f}", flush=True)
        if dropped:
            print("      ", {f"{when} {what}": n for (when, what), n in outcomes.items() if not what.startswith("HTTP")})
    print(f"dropped in total: {dropped_total} over {args.trials} trials")

    port = free_port()
    server = start_server(args.index, port, extra=tuple(args.extra), repo=args.repo)
    try:
        print(f"idle connection closed after {closes_after(port, False):.1f} s; "
              f"one sending a byte a second after {closes_after(port, True):.1f} s")
        held = stuck_clients(port)
        time.sleep(2.0)
        began = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
            print(f"exit after SIGTERM with a pipelining non-reader, an idle and a slow client: "
                  f"{time.perf_counter() - began:.2f} s")
        except subprocess.TimeoutExpired:
            print("the server was still running 60 s after SIGTERM")
        for conn in held:
            conn.close()
    finally:
        if server.poll() is None:
            server.kill()


# ------------------------------------------------------------------ abandoned requests
def abandon(args: argparse.Namespace) -> None:
    """64 clients send a search and hang up 50 ms later; how long the next search then takes,
    against the same search on the idle server before."""
    queries = allowed_queries(args.index)
    port = free_port()
    server = start_server(args.index, port, extra=tuple(args.extra), repo=args.repo)
    base = f"http://127.0.0.1:{port}"
    try:
        def timed(query: str) -> float:
            began = time.perf_counter()
            httpx.get(f"{base}/api/search", params={"q": query, "k": 10}, timeout=120)
            return time.perf_counter() - began

        idle = [timed(queries[i]) for i in range(5)]
        conns = []
        for i in range(args.clients):
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(f"GET {search_target(queries[10 + i % 300])} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            conns.append(conn)
        time.sleep(0.05)
        for conn in conns:
            conn.close()
        after = timed(queries[5])
        print(f"{args.clients} searches abandoned after 50 ms; the next search took {1000 * after:.0f} ms against "
              f"{1000 * statistics.median(idle):.0f} ms on the idle server ({after / statistics.median(idle):.1f}x)")
        ready = httpx.get(f"{base}/readyz").json()
        print("server counts:", ready.get("counts", "(no /readyz)"))
    finally:
        server.terminate()
        server.wait(timeout=30)


# ------------------------------------------------------------------ readiness
async def burst(base: str, queries: list[str]) -> list[float]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        async def one(query: str) -> float:
            began = time.perf_counter()
            response = await client.get("/api/search", params={"q": query, "k": 10})
            response.raise_for_status()
            return time.perf_counter() - began
        return list(await asyncio.gather(*(one(q) for q in queries)))


def readiness(args: argparse.Namespace) -> None:
    russian = allowed_queries(args.index, "ru")
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    began = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "imagesearch.serving.cli", "serve", "--index", str(args.index),
                               "--port", str(port), "--max-waiting", "16", *args.extra], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base, live, ready = f"http://127.0.0.1:{port}", None, None
    try:
        while ready is None and time.perf_counter() - began < 300:
            try:
                if live is None and httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    live = time.perf_counter() - began
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    ready = time.perf_counter() - began
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        first = asyncio.run(burst(base, russian[:8]))
        second = asyncio.run(burst(base, russian[8:16]))
        print(f"/healthz green after {live:.1f} s, /readyz after {ready:.1f} s")
        print(f"8 concurrent Russian queries right after /readyz: {1000 * min(first):.0f}-{1000 * max(first):.0f} ms; "
              f"the next 8: {1000 * min(second):.0f}-{1000 * max(second):.0f} ms "
              f"(max ratio {max(first) / max(second):.2f})")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--index", type=Path, default=REPO / "data" / "index")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="the checkout whose server runs (an older commit's worktree: the baseline)")
    parser.add_argument("--serve-options", default="", help='more `imagesearch serve` options, e.g. "--max-active 2"')
    parts = parser.add_subparsers(dest="part", required=True)
    load = parts.add_parser("overload")
    load.add_argument("--concurrency", type=int, nargs="+", default=[4, 20, 64])
    load.add_argument("--seconds", type=float, default=20.0)
    load.add_argument("--retry-after", choices=["honour", "ignore"], default="honour")
    load.add_argument("--no-baseline", action="store_true", help="skip the server with the gate wide open")
    stop = parts.add_parser("shutdown")
    stop.add_argument("--trials", type=int, default=10)
    stop.add_argument("--in-flight", type=int, default=20)
    parts.add_parser("readiness")
    gone = parts.add_parser("abandon")
    gone.add_argument("--clients", type=int, default=64)
    args = parser.parse_args(argv)
    args.extra = shlex.split(args.serve_options)
    {"overload": overload, "shutdown": shutdown, "readiness": readiness, "abandon": abandon}[args.part](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
