"""Dashboard at scale: payload, server memory and (with Chromium) first paint at 10k trials.

    python benchmarks/bench_dashboard.py [--trials 10000] [--run DIR] [--screenshot PNG]

Generates a synthetic run folder in the real format (nas.dashboard.synthetic), starts
`python -m nas.cli dashboard` on a free port, downloads what the page downloads (gzip, as
a browser would), reads the server's resident memory, and when selenium + chromium +
chromedriver are present loads the page in headless Chromium and reports when the Pareto
plot was painted and the longest main-thread task. Prints one JSON object.
Targets: page payload < 3 MB, server RSS < 200 MB, Pareto drawn < 2 s, no task > 300 ms.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nas.dashboard.synthetic import make_synthetic_run  # noqa: E402

PAGE = ["/", "/static/style.css", "/static/plots.js", "/static/app.js",
        "/vendor/plotly.min.js", "/api/meta", "/api/trials?since=0",
        "/api/front?metrics=params,accuracy", "/api/history"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(run: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "nas.cli", "dashboard", str(run), "--port",
                             str(port)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/token", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"dashboard exited: {proc.stderr.read()}")
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("dashboard did not start within 120 s")


def fetch(url: str) -> tuple[int, float]:
    """Bytes on the wire (gzip accepted) and seconds for one GET."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        size = len(response.read())
    return size, time.perf_counter() - start


def rss_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def browser_metrics(url: str, screenshot: Path | None) -> dict:
    """First paint of the Pareto plot and the longest main-thread task in headless Chromium."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return {"skipped": "selenium is not installed"}
    driver_path = next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
                        if Path(p).exists()), None)
    if driver_path is None or not Path("/usr/bin/chromium").exists():
        return {"skipped": "chromium / chromedriver not installed"}
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1600,1200", "--enable-unsafe-swiftshader"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        result = {"cold": _page_load(driver, url), "warm_reload": _page_load(driver, url)}
        result["pareto_trace_points"] = driver.execute_script(
            "return document.getElementById('pareto').data.map(t => t.x.length)")
        if screenshot:
            driver.save_screenshot(str(screenshot))
            result["screenshot"] = str(screenshot)
        return result
    finally:
        driver.quit()


def _page_load(driver, url: str) -> dict:
    """Load the page once; paint times from navigation start and the longest tasks."""
    driver.get(url)
    deadline = time.time() + 120
    while not driver.execute_script("return window.__nas && window.__nas.ready"):
        if time.time() > deadline:
            raise RuntimeError("page did not become ready in 120 s")
        time.sleep(0.1)
    nas = driver.execute_script("return window.__nas")
    plotly_ready = nas["t"]["script"]  # app.js starts once plotly.js has been evaluated
    return {"pareto_painted_ms": nas["t"]["pareto"], "visible_plots_ms": round(nas["t"]["all"]),
            "plotly_js_evaluated_ms": plotly_ready,
            "pareto_after_plotly_ms": nas["t"]["pareto"] - plotly_ready,
            "longest_task_ms": max(nas["longTasks"] or [0]),
            "long_tasks_ms": sorted(nas["longTasks"], reverse=True)[:6]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--run", help="run folder to create (default: a temporary one)")
    parser.add_argument("--screenshot", help="PNG path for a screenshot of the page")
    args = parser.parse_args()
    run = Path(args.run or tempfile.mkdtemp(prefix="nas-bench-dash-")) / "bench"
    start = time.perf_counter()
    make_synthetic_run(run, args.trials)
    result = {"trials": args.trials, "run": str(run), "cpus": os.cpu_count(),
              "load_average_1m": round(os.getloadavg()[0], 2),
              "generate_s": round(time.perf_counter() - start, 2),
              "trials_jsonl_mb": round((run / "trials.jsonl").stat().st_size / 2**20, 2)}
    port = free_port()
    start = time.perf_counter()
    server = start_server(run, port)
    result["server_start_s"] = round(time.perf_counter() - start, 2)
    try:
        sizes = {}
        for path in PAGE:
            size, seconds = fetch(f"http://127.0.0.1:{port}{path}")
            sizes[path] = {"bytes": size, "ms": round(seconds * 1e3)}
        result["payload"] = sizes
        result["page_payload_mb"] = round(sum(s["bytes"] for s in sizes.values()) / 2**20, 3)
        result["data_payload_mb"] = round(sum(s["bytes"] for p, s in sizes.items()
                                              if p.startswith("/api")) / 2**20, 3)
        result["browser"] = browser_metrics(f"http://127.0.0.1:{port}/",
                                            Path(args.screenshot) if args.screenshot else None)
        result["server_rss_mb"] = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
