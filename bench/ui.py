"""The web page in a real browser (Debian's chromium, driven by Playwright): how fast the
first page of a 100,000-key namespace renders, and how soon a commit shows on an open page.

- **first page**: `/ui/ns/{ns}` of N keys (default 100,000), loaded again and again in
  one tab; the browser's Navigation Timing says when the HTML had arrived (`responseEnd`)
  and when the page was parsed and styled (`domContentLoadedEventEnd`), both from the
  start of the navigation. Two namespaces: flat keys, and the same count in 100 folders
  (the root page then folds them, seeking past each). The peer is the REST listing of
  the same first 100 keys (`GET /kv/{ns}?limit=100`, fetched by the same browser).
- **live update**: a key page is open; the script commits a new version over HTTP and
  the page's MutationObserver notes the moment the new version number is on the screen
  (wall clocks of one machine: `Date.now()` in the browser, `time.time()` here). The
  peer is a bare EventSource on `/watch/{ns}` in the same tab: when the event arrived,
  before the page fetched and swapped the fresh HTML.

Goals (issue 12): first page under 300 ms, live update under 200 ms (medians).

    .venv/bin/python bench/ui.py [--keys 100000] [--runs 20]
"""

from __future__ import annotations

import os
import sys

# bench/ holds `http.py`, and this folder comes first on sys.path when a script here runs:
# move it behind the standard library so that `import http.client` finds the real one.
sys.path.sort(
    key=lambda entry: os.path.realpath(entry or ".") == os.path.dirname(os.path.realpath(__file__))
)

import statistics
import time
from pathlib import Path

import httpx

import _common as c
import revkv
from revkv._model import Put

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.servers import RevkvServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
BATCH = 1000


def fill(data: Path, keys: int) -> None:
    """`flat`: key000000...; `tree`: dir00/key000000... (100 folders), in batches."""
    with revkv.open(data, sweep_interval=None) as store:
        for ns in ("flat", "tree"):
            store.create_namespace(ns, exist_ok=True)
        for start in range(0, keys, BATCH):
            writes = []
            for i in range(start, min(start + BATCH, keys)):
                payload = f'{{"n": {i}, "name": "item {i}"}}'
                writes.append(Put(namespace="flat", key=f"key{i:06}", payload=payload))
                writes.append(
                    Put(namespace="tree", key=f"dir{i % 100:02}/key{i:06}", payload=payload)
                )
            store.txn([], writes)
        store.snapshot()


NAVIGATION = """() => { const n = performance.getEntriesByType("navigation")[0];
  return [n.responseEnd - n.startTime, n.domContentLoadedEventEnd - n.startTime]; }"""

FETCH = """async (url) => { const t = performance.now(); const r = await fetch(url);
  await r.text(); return performance.now() - t; }"""

WATCH = """(url) => { window.arrived = {};
  const s = new EventSource(url);
  s.addEventListener("put", e => { arrived[JSON.parse(e.data).commit.version] = Date.now(); });
  return new Promise(ok => { s.onopen = () => ok(true); }); }"""

OBSERVE = """(version) => { window.shownAt = null;
  const seen = () => { const v = document.getElementById("version");
    if (v && v.textContent.trim().startsWith(String(version))) {
      window.shownAt = Date.now(); return true; } };
  const o = new MutationObserver(() => { if (seen()) o.disconnect(); });
  o.observe(document.body, {childList: true, subtree: true}); }"""


def first_pages(page: object, url: str, ns: str, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"html": [], "rendered": [], "rest": []}
    for _ in range(runs + 1):  # the first is a warm-up
        page.goto(f"{url}/ui/ns/{ns}")  # type: ignore[attr-defined]
        html, rendered = page.evaluate(NAVIGATION)  # type: ignore[attr-defined]
        rest = page.evaluate(FETCH, f"{url}/kv/{ns}?limit=100")  # type: ignore[attr-defined]
        figures["html"].append(html)
        figures["rendered"].append(rendered)
        figures["rest"].append(rest)
    return {name: values[1:] for name, values in figures.items()}


def live_updates(page: object, url: str, runs: int) -> tuple[list[float], list[float]]:
    page.goto(f"{url}/ui/key/flat?key=key000000")  # type: ignore[attr-defined]
    page.wait_for_function("document.getElementById('live').dataset.state === 'live'")  # type: ignore[attr-defined]
    page.evaluate(WATCH, f"{url}/watch/flat?prefix=key000000")  # type: ignore[attr-defined]
    shown, arrived = [], []
    with httpx.Client() as client:
        for n in range(runs + 1):
            version = int(client.get(f"{url}/kv/flat/key000000/meta").json()["version"]) + 1
            page.evaluate(OBSERVE, version)  # type: ignore[attr-defined]
            committed = time.time() * 1000
            client.put(f"{url}/kv/flat/key000000", content=f'{{"n": {n}}}'.encode())
            page.wait_for_function("window.shownAt !== null")  # type: ignore[attr-defined]
            on_screen = page.evaluate("window.shownAt")  # type: ignore[attr-defined]
            got = page.evaluate(f"window.arrived[{version}]")  # type: ignore[attr-defined]
            if n:  # the first is a warm-up
                shown.append(on_screen - committed)
                arrived.append(got - committed)
            time.sleep(0.05)
    return shown, arrived


def ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}"


def p90(values: list[float]) -> str:
    return f"{sorted(values)[int(len(values) * 0.9) - 1]:.1f}"


def main() -> None:
    parser = c.base_parser(__doc__ or "", seconds=1.0, runs=20, threads=False)
    parser.add_argument("--keys", type=int, default=100_000)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("chromium is not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with c.bench_dir(args.dir) as scratch:
        c.progress(f"writing {args.keys:,} keys into two namespaces…")
        fill(scratch / "data", args.keys)
        with RevkvServer(scratch / "data") as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            pages = {ns: first_pages(page, server.url, ns, args.runs) for ns in ("flat", "tree")}
            shown, arrived = live_updates(page, server.url, args.runs)
            browser.close()
    rows = [
        [f"/ui/ns/{ns} ({args.keys:,} keys)", ms(f["html"]), ms(f["rendered"]), p90(f["rendered"]),
         ms(f["rest"]), f"{statistics.median(f['rendered']) / statistics.median(f['rest']):.1f}x"]
        for ns, f in pages.items()
    ]  # fmt: skip
    c.print_table(
        f"First page in the browser, median of {args.runs} (ms)",
        ["page", "HTML in", "rendered", "p90", "REST limit=100", "rendered ÷ REST"],
        rows,
    )
    c.print_table(
        f"Commit → on the screen, median of {args.runs} (ms)",
        ["", "median", "p90"],
        [["key page shows the version", ms(shown), p90(shown)],
         ["bare EventSource on /watch", ms(arrived), p90(arrived)]],
        note=f"page ÷ bare stream: {statistics.median(shown) / statistics.median(arrived):.1f}x",
    )  # fmt: skip
    worst = max(statistics.median(f["rendered"]) for f in pages.values())
    c.print_goals(
        [
            c.Goal("first page < 300 ms", worst, 300.0, f"{worst:.1f} ms", at_most=True),
            c.Goal("live update < 200 ms", statistics.median(shown), 200.0, f"{ms(shown)} ms",
                   at_most=True),
        ]
    )  # fmt: skip


if __name__ == "__main__":
    main()
