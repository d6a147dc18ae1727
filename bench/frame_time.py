"""Frame time of the timeline while scrolling and zooming a 10,000-message run, in Chromium.

Method: the simulator runs 10,000 messages with the default settings (seed 7); its events are
written as a JSON-lines trace and opened in the page through its "Open a trace" input (the same
timeline code that draws a live run). Then, one step per animation frame, the script scrolls the
timeline with wheel events over the canvas, zooms out step by step to the whole run (the
decimated overview) and back in, and scrolls again while zoomed out. For every frame it records
the time the timeline spent drawing (performance.now() around draw()) and the interval between
requestAnimationFrame timestamps. Reports p50 / p95 / max per scenario.

    python bench/frame_time.py                # starts the server on a free loopback port
    python bench/frame_time.py --url http://127.0.0.1:5000
    python bench/frame_time.py --markdown     # a results row for bench/README.md
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simulator import Config, Simulation  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

# Runs in the page: one scripted input per animation frame, timings collected per frame.
SCRIPT = """
async ({steps, kind, dy, factor}) => {
  const canvas = document.getElementById("timeline");
  const rect = canvas.getBoundingClientRect();
  const at = {clientX: rect.left + rect.width / 2, clientY: rect.top + rect.height / 2};
  const draws = [], intervals = [];
  let last = null;
  await new Promise((done) => {
    let i = 0;
    const frame = (ts) => {
      if (last !== null) {
        intervals.push(ts - last);
        draws.push(window.__lab.lastDrawMs);
      }
      last = ts;
      if (i++ >= steps) { done(); return; }
      const zoom = kind === "zoom-out" || kind === "zoom-in";
      const delta = kind === "zoom-out" ? factor : kind === "zoom-in" ? -factor : dy;
      canvas.dispatchEvent(new WheelEvent("wheel", {...at, deltaY: delta, ctrlKey: zoom,
                                                    bubbles: true, cancelable: true}));
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
  return {draws, intervals, lod: canvas.dataset.lod};
}
"""


ON_SCREEN = "() => window.__lab.onScreen()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
            return json.load(r).get("status") == "ok"
    except OSError:
        return False


@contextlib.contextmanager
def server(url: str | None):
    if url:
        yield url
        return
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            if healthy(base):
                break
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def write_trace(path: Path, messages: int) -> int:
    events = Simulation(Config(messages=messages, seed=7)).run()
    with path.open("w") as out:
        for ev in events:
            out.write(json.dumps(ev) + "\n")
    return len(events)


def quantiles(xs: list[float]) -> dict:
    s = sorted(xs)

    def q(f: float) -> float:
        return s[min(len(s) - 1, int(f * len(s)))]

    return {"n": len(s), "p50": q(0.5), "p95": q(0.95), "max": s[-1],
            "mean": statistics.fmean(s)}


BASELINE_MESSAGES = 100
SCROLL = {"steps": 600, "kind": "scroll", "dy": 120, "factor": 0}
BASELINE = [(f"baseline: a {BASELINE_MESSAGES}-message run, scroll, default zoom", SCROLL)]
SCENARIOS = [
    ("scroll, default zoom (about 5 s of the run on screen)", SCROLL),
    ("zoom out to about 100 s on screen",
     {"steps": 23, "kind": "zoom-out", "dy": 0, "factor": 60}),
    ("scroll, about 100 s on screen (the densest detailed view)",
     {"steps": 300, "kind": "scroll", "dy": 40, "factor": 0}),
    ("zoom out to the whole run (overview)",
     {"steps": 100, "kind": "zoom-out", "dy": 0, "factor": 60}),
    ("scroll, whole run on screen",
     {"steps": 300, "kind": "scroll", "dy": 40, "factor": 0}),
    ("zoom back in",
     {"steps": 123, "kind": "zoom-in", "dy": 0, "factor": 60}),
]


def open_trace(page, path: Path, messages: int) -> int:
    """Write a run of ``messages`` as a trace, open it in the page, scroll to its start."""
    n_events = write_trace(path, messages)
    page.set_input_files("#trace-file", str(path))
    deadline = time.monotonic() + 60
    while page.evaluate("() => window.__lab.mode") != "trace" or \
            page.evaluate("() => window.__lab.eventCount") != n_events:
        if time.monotonic() > deadline:
            raise RuntimeError("the trace did not load")
        time.sleep(0.2)
    page.locator("#timeline").focus()
    page.keyboard.press("Home")
    return n_events


def run_scenario(page, name: str, args: dict) -> dict:
    r = page.evaluate(SCRIPT, args)
    return {"scenario": name, "draw": quantiles(r["draws"]),
            "interval": quantiles(r["intervals"]), "overview": r["lod"] == "1",
            "on_screen": page.evaluate(ON_SCREEN)}


def measure(url: str, messages: int, width: int, height: int) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url + "/")
        deadline = time.monotonic() + 20
        while not page.evaluate("() => Boolean(window.__lab && window.__lab.epoch !== null)"):
            if time.monotonic() > deadline:
                raise RuntimeError("the page did not load a run")
            time.sleep(0.1)
        results = []
        # Baseline in the same run: the same renderer and inputs over a small run, so the
        # rows below can be read against the fixed cost of a frame on this machine.
        open_trace(page, Path(tmp) / "baseline.jsonl", BASELINE_MESSAGES)
        for name, args in BASELINE:
            results.append(run_scenario(page, name, args))
        n_events = open_trace(page, Path(tmp) / "run.jsonl", messages)
        for name, args in SCENARIOS:
            results.append(run_scenario(page, name, args))
        version = browser.version
        browser.close()
    return {"events": n_events, "messages": messages, "viewport": f"{width}x{height}",
            "chromium": version, "results": results,
            "date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, "
            f"{os.cpu_count()} CPUs"}


def markdown(report: dict) -> str:
    lines = [
        f"Run: {report['messages']} messages ({report['events']} events), viewport "
        f"{report['viewport']}, Chromium {report['chromium']} headless with --disable-gpu, "
        f"{report['machine']}, {report['date']}.",
        "",
        "| scenario | events on screen | frames | draw p50 | draw p95 | draw max "
        "| frame interval p50 | p95 | max |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in report["results"]:
        d, i = r["draw"], r["interval"]
        lines.append(f"| {r['scenario']} | {r['on_screen']} | {d['n']} | {d['p50']:.2f} ms | "
                     f"{d['p95']:.2f} ms | {d['max']:.2f} ms | {i['p50']:.1f} ms | "
                     f"{i['p95']:.1f} ms | {i['max']:.1f} ms |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running server (default: start one on a free port)")
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args(argv)
    if args.url and not args.url.startswith("http://127.0.0.1"):
        ap.error("--url must be a loopback address (http://127.0.0.1:PORT)")
    with server(args.url) as url:
        report = measure(url, args.messages, args.width, args.height)
    print(markdown(report) if args.markdown else json.dumps(report, indent=2))
    worst = max(r["draw"]["p95"] for r in report["results"])
    return 0 if worst <= 16 else 1


if __name__ == "__main__":
    sys.exit(main())
