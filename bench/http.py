"""revkv's HTTP server against etcd's JSON gateway and a bare Starlette app, all driven by wrk.

Each server in turn is started on a fresh data directory, pinned to CPU 0 with `taskset`, while
wrk (`-t1`, pinned to CPU 1) drives it with one Lua script per case:

- **GET**: the latest value of one pre-loaded key (100 bytes). revkv: `GET /kv/bench/latest`;
  etcd: `POST /v3/kv/range` with the base64 key (a linearizable read, etcd's default); the bare
  app: `GET` answered with a constant.
- **PUT**: a durable write of 100 bytes to 1,000 rotating keys. revkv: `PUT /kv/bench/k{i}`,
  answered once the journal is fsynced; etcd: `POST /v3/kv/put`, answered once the raft entry is
  in its fsynced WAL; the bare app reads the body and answers a constant (nothing is stored).

at 1, 16 and 64 connections. It prints requests/s, p50 and p99 per server, revkv ÷ etcd, and
revkv ÷ bare Starlette: revkv's share of the ceiling of Python HTTP on this machine. The bare app
and revkv run under the same uvicorn with the same options (one worker, no access log, uvloop
and httptools when the venv has them), so the ceiling is a fair one.

wrk, etcd and taskset are Debian packages (`wrk`, `etcd-server`, `util-linux`); the script only
checks for them. Run it with the project's venv, which holds Starlette and uvicorn.
"""

from __future__ import annotations

import os
import sys

# This file is named `http.py`, and its folder comes first on sys.path when it runs as a script:
# move the folder behind the standard library so that `import http.client` finds the real one.
sys.path.sort(
    key=lambda entry: os.path.realpath(entry or ".") == os.path.dirname(os.path.realpath(__file__))
)

import argparse
import base64
import contextlib
import dataclasses
import importlib.util
import json
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import _common as c

HOST = "127.0.0.1"
SERVER_CPU = "0"
WRK_CPU = "1"
VALUE = b"v" * 100
NAMESPACE = "bench"
READ_KEY = "latest"
ROTATING_KEYS = 1_000
WARMUP_SECONDS = 1.0
GOAL_CONNECTIONS = 64
SYSTEMS = ("bare", "etcd", "revkv")
OPERATIONS = ("get", "put")
BENCH_DIR = Path(__file__).resolve().parent
APT_PACKAGES = {"wrk": "wrk", "etcd": "etcd-server", "taskset": "util-linux"}

TITLES = {
    "get": "GET the latest value (100 bytes)",
    "put": f"Durable PUT of 100 bytes to {ROTATING_KEYS:,} rotating keys",
}
ETCD_NOTE = (
    "single node, data dir under the scratch dir, JSON gateway on 127.0.0.1; every put is "
    "answered after its raft entry is fsynced to the WAL (etcd has no switch to turn that off "
    "before 3.5's --unsafe-no-fsync, which is not passed); ranges are linearizable (its default)."
)
COLUMNS_NOTE = (
    "bare = bare Starlette; vs etcd = revkv's req/s ÷ etcd's; of bare = revkv's req/s ÷ bare "
    "Starlette's, its share of the ceiling; cpu = the server's CPU time per second of the run, "
    f"all threads, on its one core (CPU {SERVER_CPU}): near 100% it was CPU-bound, well below "
    "it waited (for the disk, or for the core when other processes use it); µs/req = its CPU "
    "time per request, which a busy machine disturbs far less than requests/s."
)
BARE_PUT_NOTE = "bare Starlette reads the body and answers a constant: nothing is stored."

EPILOG = """\
examples:
  .venv/bin/python bench/http.py                          # all three, 10 s per case
  .venv/bin/python bench/http.py --seconds 3              # a quick run
  .venv/bin/python bench/http.py --only bare,etcd         # the yardsticks alone
  .venv/bin/python bench/http.py --json | jq .goals
"""


# --------------------------------------------------------------------------- requests and wrk


@dataclasses.dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as wrk sends it."""

    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """What one wrk run reported; `errors` counts non-2xx/3xx responses and socket errors.

    `cpu` is the server's CPU time (all its threads) per second of the run: near 1.0 on its
    one pinned core means the server was CPU-bound, well below means it waited (on the disk).
    """

    rate: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu: float = 0.0

    @property
    def cpu_us(self) -> float:
        """Server CPU time per request, in µs: unlike requests/s, not lowered by a busy core."""
        return self.cpu / self.rate * 1e6 if self.rate else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests_per_s": self.rate,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "requests": self.requests,
            "errors": self.errors,
            "server_cpu": self.cpu,
            "server_cpu_us_per_request": self.cpu_us,
        }


_LUA_ESCAPES = {ord('"'): '\\"', ord("\\"): "\\\\"}


def lua_string(data: bytes | str) -> str:
    """A Lua string literal holding `data` exactly (decimal escapes for unprintable bytes)."""
    raw = data.encode() if isinstance(data, str) else data
    escaped = (_LUA_ESCAPES.get(b) or (chr(b) if 32 <= b < 127 else f"\\{b:03d}") for b in raw)
    return '"' + "".join(escaped) + '"'


def lua_script(requests: Sequence[Request]) -> str:
    """A wrk script: one static request, or a table of pre-formatted ones sent in rotation."""
    first = requests[0]
    headers = (
        f'{{["Content-Type"] = {lua_string(first.content_type)}}}' if first.content_type else "{}"
    )
    if len(requests) == 1:
        body = lua_string(first.body) if first.body else "nil"
        return (
            f"wrk.method = {lua_string(first.method)}\nwrk.path = {lua_string(first.path)}\n"
            f"wrk.body = {body}\nwrk.headers = {headers}\n"
        )
    rows = ",\n".join(f"  {{{lua_string(r.path)}, {lua_string(r.body)}}}" for r in requests)
    return f"""local rows = {{
{rows}
}}
local formatted = {{}}
local n = 0
function init(args)
  for i, row in ipairs(rows) do
    formatted[i] = wrk.format({lua_string(first.method)}, row[1], {headers}, row[2])
  end
end
function request()
  n = n % #formatted + 1
  return formatted[n]
end
"""


_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_TO_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def parse_wrk(output: str) -> Sample:
    """requests/s, p50, p99 (ms), the request count and the errors from `wrk --latency`."""
    rate, total = _RATE.search(output), _TOTAL.search(output)
    percentiles = {p: float(v) * _TO_MS[unit] for p, v, unit in _PERCENTILE.findall(output)}
    if rate is None or total is None or set(percentiles) != {"50", "99"}:
        raise ValueError(f"cannot read wrk's output:\n{output}")
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    for match in _SOCKET_ERRORS.finditer(output):
        errors += sum(int(n) for n in match.groups())
    return Sample(float(rate[1]), percentiles["50"], percentiles["99"], int(total[1]), errors)


def run_wrk(tools: dict[str, str], url: str, script: Path, connections: int, seconds: float) -> str:
    """wrk's output for one run, wrk pinned to its own core."""
    command = [
        *(tools["taskset"], "-c", WRK_CPU, tools["wrk"], "-t1", f"-c{connections}"),
        *(f"-d{max(1, round(seconds))}s", "--timeout", "10s", "--latency", "-s", str(script), url),
    ]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=seconds + 60
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return done.stdout


# --------------------------------------------------------------------------- the servers


@dataclasses.dataclass(frozen=True)
class System:
    """A server under test: how to start it, when it is ready, what GET and PUT look like."""

    key: str
    label: str
    command: Callable[[int, Path], list[str]]
    health: str
    read: Request
    write: Callable[[str], Request]


def uvicorn_choices() -> dict[str, str]:
    """uvloop and httptools when the venv has them, else asyncio and h11 (revkv's "auto")."""
    has = {name: importlib.util.find_spec(name) is not None for name in ("uvloop", "httptools")}
    return {
        "loop": "uvloop" if has["uvloop"] else "asyncio",
        "http": "httptools" if has["httptools"] else "h11",
    }


def bare_system() -> System:
    def command(port: int, workdir: Path) -> list[str]:
        # A copy, because bench/ on uvicorn's sys.path would let this file shadow `http`.
        shutil.copy(BENCH_DIR / "bare_starlette.py", workdir)
        choices = uvicorn_choices()
        return [
            *(sys.executable, "-m", "uvicorn", "bare_starlette:app", "--app-dir", str(workdir)),
            *("--host", HOST, "--port", str(port), "--workers", "1", "--no-access-log"),
            *("--log-level", "warning", "--loop", choices["loop"], "--http", choices["http"]),
        ]

    return System(
        key="bare",
        label="bare Starlette",
        command=command,
        health="/health",
        read=Request("GET", f"/kv/{NAMESPACE}/{READ_KEY}"),
        write=lambda key: Request("PUT", f"/kv/{NAMESPACE}/{key}", VALUE),
    )


def etcd_system(etcd: str, gateway: str) -> System:
    """etcd with its defaults (WAL fsynced before a put is answered), peers on loopback too."""

    def command(port: int, workdir: Path) -> list[str]:
        peer, client = f"http://{HOST}:{free_port()}", f"http://{HOST}:{port}"
        return [
            *(etcd, "--name", "bench", "--data-dir", str(workdir / "etcd")),
            *("--listen-client-urls", client, "--advertise-client-urls", client),
            *("--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer),
            *("--initial-cluster", f"bench={peer}", "--logger", "zap", "--log-level", "error"),
        ]

    def encoded(**fields: bytes) -> bytes:
        return json.dumps({k: base64.b64encode(v).decode() for k, v in fields.items()}).encode()

    def etcd_key(key: str) -> bytes:
        return f"{NAMESPACE}/{key}".encode()

    return System(
        key="etcd",
        label="etcd",
        command=command,
        health="/health",
        read=Request(
            "POST", f"{gateway}/kv/range", encoded(key=etcd_key(READ_KEY)), "application/json"
        ),
        write=lambda key: Request(
            "POST", f"{gateway}/kv/put", encoded(key=etcd_key(key), value=VALUE), "application/json"
        ),
    )


def revkv_system(revkv: str) -> System:
    def command(port: int, workdir: Path) -> list[str]:
        data = workdir / "data"
        return [revkv, "serve", "--data", str(data), "--host", HOST, "--port", str(port)]

    return System(
        key="revkv",
        label="revkv",
        command=command,
        health="/health",
        read=Request("GET", f"/kv/{NAMESPACE}/{READ_KEY}"),
        write=lambda key: Request("PUT", f"/kv/{NAMESPACE}/{key}", VALUE),
    )


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def send(url: str, request: Request, timeout: float = 5.0) -> tuple[int, bytes]:
    """The status and body of one request (urllib, no connection reuse)."""
    headers = {"Content-Type": request.content_type} if request.content_type else {}
    data = request.body if request.method != "GET" else None
    prepared = urllib.request.Request(url + request.path, data, headers, method=request.method)
    try:
        with urllib.request.urlopen(prepared, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclasses.dataclass(frozen=True, slots=True)
class Running:
    """A started server: where it listens, and its process (for its CPU time)."""

    url: str
    pid: int


@contextlib.contextmanager
def serving(system: System, root: Path, taskset: str) -> Iterator[Running]:
    """`system` running on a free port, pinned to CPU 0, until the block ends; then stopped."""
    workdir = c.fresh_subdir(root, system.key)
    port = free_port()
    log = workdir / "server.log"
    with log.open("wb") as out:
        command = [taskset, "-c", SERVER_CPU, *system.command(port, workdir)]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        url = f"http://{HOST}:{port}"
        wait_ready(process, url + system.health, log)
        yield Running(url, process.pid)  # taskset exec()s the server: same pid
    except Exception:
        c.progress(f"{system.label}'s log ends:\n{_tail(log)}")
        raise
    finally:
        stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def wait_ready(process: subprocess.Popen[bytes], health: str, log: Path, limit: float = 30) -> None:
    """Return once `health` answers 200; fail if the server exits or never gets there."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}) before it was ready")
        with contextlib.suppress(OSError), urllib.request.urlopen(health, timeout=1) as response:
            if response.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server was not ready after {limit:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful shutdown), then SIGKILL if it has not exited within 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# --------------------------------------------------------------------------- measuring

Case = tuple[str, str, int]  # (system, operation, connections)


def write_scripts(system: System, root: Path) -> dict[str, Path]:
    """The Lua script of each operation for `system`, written under `root`."""
    requests = {
        "get": [system.read],
        "put": [system.write(f"k{i}") for i in range(ROTATING_KEYS)],
    }
    paths = {}
    for operation, batch in requests.items():
        paths[operation] = root / f"{system.key}-{operation}.lua"
        paths[operation].write_text(lua_script(batch))
    return paths


def preload(system: System, url: str) -> None:
    """Write the key the GET case reads, and check that reading it returns the value."""
    status, body = send(url, system.write(READ_KEY))
    if not 200 <= status < 300:
        raise RuntimeError(f"{system.label}: preloading {READ_KEY!r} answered {status}: {body!r}")
    status, body = send(url, system.read)
    if status != 200 or (VALUE not in body and base64.b64encode(VALUE) not in body):
        raise RuntimeError(
            f"{system.label}: reading {READ_KEY!r} answered {status}: {body[:200]!r}"
        )


def measure_system(
    args: argparse.Namespace, tools: dict[str, str], system: System, root: Path
) -> dict[Case, Sample]:
    """Every operation at every connection count against one fresh instance of `system`."""
    scripts = write_scripts(system, root)
    samples: dict[Case, Sample] = {}
    with serving(system, root, tools["taskset"]) as server:
        preload(system, server.url)
        for operation in OPERATIONS:
            warm = max(args.connections)
            run_wrk(tools, server.url, scripts[operation], warm, WARMUP_SECONDS)
            for n in args.connections:
                sample = measure_once(tools, server, scripts[operation], n, args.seconds)
                samples[(system.key, operation, n)] = sample
                report(system, operation, n, sample)
    return samples


def measure_once(
    tools: dict[str, str], server: Running, script: Path, connections: int, seconds: float
) -> Sample:
    """One wrk run, with the server's CPU time per second of it."""
    cpu, started = cpu_seconds(server.pid), time.monotonic()
    output = run_wrk(tools, server.url, script, connections, seconds)
    used = (cpu_seconds(server.pid) - cpu) / (time.monotonic() - started)
    return dataclasses.replace(parse_wrk(output), cpu=used)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process `pid`, all threads (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(system: System, operation: str, connections: int, sample: Sample) -> None:
    errors = f", [red]{sample.errors:,} errors[/red]" if sample.errors else ""
    c.progress(
        f"{system.label} {operation.upper()} c={connections}: {sample.rate:,.0f} req/s, "
        f"p50 {sample.p50_ms:.2f} ms, p99 {sample.p99_ms:.2f} ms, "
        f"server CPU {sample.cpu:.0%} ({sample.cpu_us:,.0f} µs/req){errors}"
    )


def measure(
    args: argparse.Namespace, tools: dict[str, str], systems: Sequence[System], root: Path
) -> dict[Case, list[Sample]]:
    """`--runs` rounds; each round starts every system in turn and runs all its cases."""
    results: dict[Case, list[Sample]] = {}
    for run in range(args.runs):
        for system in systems:
            c.progress(f"run {run + 1}/{args.runs}: {system.label}")
            for case, sample in measure_system(args, tools, system, root).items():
                results.setdefault(case, []).append(sample)
    return results


# --------------------------------------------------------------------------- figures


@dataclasses.dataclass(frozen=True, slots=True)
class Figure:
    """The medians of one case over its runs; None when any run saw an error."""

    rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    cpu: float | None
    cpu_us: float | None
    errors: int


def figure(results: dict[Case, list[Sample]], case: Case) -> Figure | None:
    samples = results.get(case)
    if not samples:
        return None
    errors = sum(s.errors for s in samples)
    if errors:
        return Figure(None, None, None, None, None, errors)

    def median(values: Iterator[float]) -> float:
        return statistics.median(values)

    return Figure(
        rate=median(s.rate for s in samples),
        p50_ms=median(s.p50_ms for s in samples),
        p99_ms=median(s.p99_ms for s in samples),
        cpu=median(s.cpu for s in samples),
        cpu_us=median(s.cpu_us for s in samples),
        errors=0,
    )


def rate(results: dict[Case, list[Sample]], case: Case) -> float | None:
    found = figure(results, case)
    return None if found is None else found.rate


def build_goals(args: argparse.Namespace, results: dict[Case, list[Sample]]) -> list[c.Goal]:
    """The issue's targets, for the systems this run measured."""
    keys = {key for key, _, _ in results}
    if "revkv" not in keys:
        return []
    goals = []
    for n in args.connections:
        get = rate(results, ("revkv", "get", n))
        if "etcd" in keys:
            versus = c.ratio(get, rate(results, ("etcd", "get", n)))
            goals.append(c.Goal(f"GET, {n} conn: ≥ 2x etcd", versus, 2.0, c.fmt_ratio(versus)))
        if "bare" in keys:
            share = c.ratio(get, rate(results, ("bare", "get", n)))
            name = f"GET, {n} conn: ≥ 70% of bare Starlette"
            goals.append(c.Goal(name, share, 0.7, _percent(share)))
    if "etcd" in keys and GOAL_CONNECTIONS in args.connections:
        put = rate(results, ("revkv", "put", GOAL_CONNECTIONS))
        versus = c.ratio(put, rate(results, ("etcd", "put", GOAL_CONNECTIONS)))
        name = f"durable PUT, {GOAL_CONNECTIONS} conn: ≥ 1.5x etcd"
        goals.append(c.Goal(name, versus, 1.5, c.fmt_ratio(versus)))
    return goals


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


# --------------------------------------------------------------------------- report


def table_rows(
    results: dict[Case, list[Sample]], keys: Sequence[str], operation: str, n: int
) -> list[list[str]]:
    """One line per system at `n` connections; revkv's line also holds its two ratios."""
    figures = {key: figure(results, (key, operation, n)) for key in keys}
    rates = {key: found.rate if found else None for key, found in figures.items()}
    rows = []
    for index, (key, found) in enumerate(figures.items()):
        row = [str(n) if index == 0 else "", key, c.fmt_rate(rates[key])]
        row += [_ms(found.p50_ms if found else None), _ms(found.p99_ms if found else None)]
        row.append(_percent(found.cpu if found else None))
        row.append("-" if not found or found.cpu_us is None else f"{found.cpu_us:,.0f}")
        if key == "revkv":
            row.append(c.fmt_ratio(c.ratio(rates["revkv"], rates.get("etcd"))))
            row.append(_percent(c.ratio(rates["revkv"], rates.get("bare"))))
        rows.append(row + [""] * (9 - len(row)))
    return rows


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_case(args: argparse.Namespace, results: dict[Case, list[Sample]], operation: str) -> None:
    keys = [key for key in SYSTEMS if any(k == key for k, _, _ in results)]
    headers = ["conns", "server", "req/s", "p50 ms", "p99 ms", "cpu", "µs/req"]
    headers += ["vs etcd", "of bare"]
    rows = [row for n in args.connections for row in table_rows(results, keys, operation, n)]
    runs = f"median of {args.runs} x " if args.runs > 1 else ""
    title = f"{TITLES[operation]} ({runs}{args.seconds:g} s, wrk -t1 on CPU {WRK_CPU})"
    c.print_table(title, headers, rows, note=case_note(results, operation))


def case_note(results: dict[Case, list[Sample]], operation: str) -> str:
    """What the columns mean, which runs saw errors (left out), and what bare PUT does."""
    lines = [COLUMNS_NOTE]
    lines += [
        f"{key} c={n}: {sum(s.errors for s in samples):,} errors (non-2xx or socket), not shown"
        for (key, op, n), samples in results.items()
        if op == operation and any(s.errors for s in samples)
    ]
    if operation == "put" and any(key == "bare" for key, _, _ in results):
        lines.append(BARE_PUT_NOTE)
    return "\n".join(lines)


def server_notes(systems: Sequence[System], tools: dict[str, str]) -> dict[str, str]:
    """How the servers ran, in words, for the report and the JSON."""
    choices = uvicorn_choices()
    notes = {"pinning": f"servers on CPU {SERVER_CPU}, wrk -t1 on CPU {WRK_CPU} (taskset)"}
    if any(system.key in ("bare", "revkv") for system in systems):
        notes["uvicorn"] = (
            f"one worker, no access log, --loop {choices['loop']}, --http {choices['http']} "
            f"(revkv: uvicorn's auto, the same choice); Python {sys.version.split()[0]}"
        )
    if any(system.key == "etcd" for system in systems):
        notes["etcd"] = f"{etcd_version(tools['etcd'])}, {ETCD_NOTE}"
    return notes


def print_report(
    args: argparse.Namespace,
    results: dict[Case, list[Sample]],
    notes: dict[str, str],
    goals: list[c.Goal],
) -> None:
    for operation in OPERATIONS:
        print_case(args, results, operation)
    c.console.print()
    for name, note in notes.items():
        c.console.print(f"{name}: {note}", style="dim", highlight=False)
    if goals:
        c.print_goals(goals)


def to_json(
    args: argparse.Namespace,
    results: dict[Case, list[Sample]],
    notes: dict[str, str],
    goals: list[c.Goal],
) -> dict[str, Any]:
    """Every sample, keyed operation → connections → system, with the notes and the goals."""
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    for (key, operation, n), samples in results.items():
        found = figure(results, (key, operation, n))
        entry = {"median": _figure_json(found), "samples": [s.to_json() for s in samples]}
        figures.setdefault(operation, {}).setdefault(str(n), {})[key] = entry
    config = {"seconds": args.seconds, "runs": args.runs, "connections": args.connections}
    config |= {"value_bytes": len(VALUE), "rotating_keys": ROTATING_KEYS}
    return {
        "config": config,
        "servers": notes,
        "figures": figures,
        "goals": [g.to_json() for g in goals],
    }


def _figure_json(found: Figure | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "requests_per_s": found.rate,
        "p50_ms": found.p50_ms,
        "p99_ms": found.p99_ms,
        "server_cpu": found.cpu,
        "server_cpu_us_per_request": found.cpu_us,
    }


# --------------------------------------------------------------------------- setup


def find_tools(needed: Sequence[str]) -> dict[str, str]:
    """The path of each tool in `needed`, or exit naming the Debian package to install."""
    found: dict[str, str] = {}
    for name in needed:
        path = shutil.which(name) or next(
            (p for p in (f"/usr/bin/{name}", f"/usr/sbin/{name}") if os.access(p, os.X_OK)), None
        )
        if path is None:
            sys.exit(f"{name} not found: install it with `apt-get install -y {APT_PACKAGES[name]}`")
        found[name] = path
    return found


def etcd_version(etcd: str) -> str:
    """`etcd 3.4.23`, from `etcd --version`."""
    output = subprocess.run([etcd, "--version"], check=False, capture_output=True, text=True).stdout
    match = re.search(r"etcd Version: (\S+)", output)
    return f"etcd {match[1] if match else 'unknown version'}"


def etcd_gateway(etcd: str) -> str:
    """The gateway's prefix: `/v3` from etcd 3.4 on, `/v3beta` in 3.3, `/v3alpha` before."""
    match = re.search(r"(\d+)\.(\d+)", etcd_version(etcd))
    major_minor = (int(match[1]), int(match[2])) if match else (3, 4)
    if major_minor >= (3, 4):
        return "/v3"
    return "/v3beta" if major_minor == (3, 3) else "/v3alpha"


def revkv_command() -> str:
    """The `revkv` script of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "revkv"
    found = str(beside) if beside.exists() else shutil.which("revkv")
    if found:
        probe = subprocess.run([found, "serve", "--help"], check=False, capture_output=True)
        if probe.returncode == 0:
            return found
    sys.exit(
        "revkv serve is not available here: run with the project's venv "
        "(.venv/bin/python bench/http.py), or leave it out with --only bare,etcd"
    )


def check_python(keys: Sequence[str]) -> None:
    """Starlette and uvicorn must be importable by this interpreter (they serve bare and revkv)."""
    if not {"bare", "revkv"} & set(keys):
        return
    missing = [m for m in ("starlette", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(
            f"{', '.join(missing)} not importable: run with the project's venv (.venv/bin/python)"
        )


def check_cpus() -> None:
    """Both pinned CPUs must be ours; warn when something else is already keeping them busy."""
    cpus = os.sched_getaffinity(0)
    if not {int(SERVER_CPU), int(WRK_CPU)} <= cpus:
        sys.exit(f"needs CPUs {SERVER_CPU} and {WRK_CPU} (this process may use {sorted(cpus)})")
    load = os.getloadavg()[0]
    if load > 0.5:
        c.progress(f"warning: load average {load:.2f} before starting; the figures will be noisy")


def build_systems(keys: Sequence[str], tools: dict[str, str]) -> list[System]:
    makers: dict[str, Callable[[], System]] = {
        "bare": bare_system,
        "etcd": lambda: etcd_system(tools["etcd"], etcd_gateway(tools["etcd"])),
        "revkv": lambda: revkv_system(revkv_command()),
    }
    return [makers[key]() for key in keys]


def parse_only(text: str) -> list[str]:
    """`--only etcd,revkv` → the systems in the order they run."""
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = chosen - set(SYSTEMS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose from {','.join(SYSTEMS)}: {text!r}")
    return [key for key in SYSTEMS if key in chosen]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = c.base_parser(__doc__ or "", EPILOG, seconds=10.0, runs=1, threads=False)
    parser.add_argument(
        "--connections",
        type=c.parse_ints,
        default=[1, 16, 64],
        help="wrk connection counts (default 1,16,64)",
    )
    parser.add_argument(
        "--only",
        type=parse_only,
        default=list(SYSTEMS),
        help="servers to run, comma-separated (default bare,etcd,revkv)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop servers, remove dirs
    check_cpus()
    check_python(args.only)
    tools = find_tools(["wrk", "taskset", *(["etcd"] if "etcd" in args.only else [])])
    systems = build_systems(args.only, tools)
    try:
        with c.bench_dir(args.dir) as root:
            results = measure(args, tools, systems, root)
    except RuntimeError as error:
        sys.exit(f"error: {error}")
    except KeyboardInterrupt:
        sys.exit("interrupted: the servers are stopped and the scratch directory removed")
    notes = server_notes(systems, tools)
    goals = build_goals(args, results)
    if args.json:
        c.emit_json(to_json(args, results, notes, goals))
    else:
        print_report(args, results, notes, goals)


if __name__ == "__main__":
    main()
