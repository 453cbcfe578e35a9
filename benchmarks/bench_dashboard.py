"""Dashboard at scale: payload, server memory and (with Chromium) first paint at 10k trials.

    python benchmarks/bench_dashboard.py [--trials 10000] [--reloads 3] [--run DIR]
                                         [--screenshot PNG]

Generates a synthetic run folder in the real format (nas.dashboard.synthetic), starts
`python -m nas.cli dashboard` on a free port, downloads what the page downloads (gzip, as
a browser would), reads the server's resident memory, and when selenium + chromium +
chromedriver are present loads the page in headless Chromium (once fresh, then reloads)
and reports when the canvas Pareto front was painted (`window.__frontDrawnAt`, ms from
navigation) and the longest main-thread task (PerformanceObserver 'longtask'); then it
opens the canvas 3-D view (a third objective) and turns it by dragging across it with real
pointer events, timing each redraw and the longest task while opening and turning. Prints
one JSON object whose "targets" part compares the figures of this run with the targets:
page payload < 3 MB, server RSS < 200 MB, front drawn < 2 s, no task > 300 ms (page load,
and opening and turning the 3-D view).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
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

PAGE = ["/", "/static/style.css", "/static/canvas_axes.js", "/static/canvas_plot.js",
        "/static/canvas_3d.js", "/static/plots.js", "/static/app.js", "/api/meta",
        "/api/trials?since=0", "/api/front?metrics=params,accuracy", "/api/history"]
TARGETS = {"front_drawn_ms": 2000, "longest_task_ms": 300, "three_d_longest_task_ms": 300,
           "page_payload_mb": 3.0, "server_rss_mb": 200}
DRAG_STEPS, DRAG_STEP_PX, DRAG_STEP_MS = 30, (12, 3), 50  # a 1.5 s drag, 360 px right


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


def _chrome():
    """Headless Chromium through selenium, or the reason it is not available."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return "selenium is not installed"
    driver_path = next((p for p in ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
                        if Path(p).exists()), None)
    if driver_path is None or not Path("/usr/bin/chromium").exists():
        return "chromium / chromedriver not installed"
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1600,1200", "--enable-unsafe-swiftshader"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def browser_metrics(url: str, reloads: int, screenshot: Path | None) -> dict:
    """A fresh load, `reloads` reloads and the 3-D view in headless Chromium."""
    driver = _chrome()
    if isinstance(driver, str):
        return {"skipped": driver}
    try:
        result = {"fresh": _page_load(driver, url)}
        result["reloads"] = [_page_load(driver, url) for _ in range(reloads)]
        if screenshot:
            driver.save_screenshot(str(screenshot))
            result["screenshot"] = str(screenshot)
        result["three_d_view"] = _three_d(driver)
        return result
    finally:
        driver.quit()


def _wait(driver, script: str, what: str, timeout: float = 120):
    deadline = time.time() + timeout
    while not (value := driver.execute_script(script)):
        if time.time() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.05)
    return value


def _page_load(driver, url: str) -> dict:
    """Load the page once: front painted (ms from navigation), long tasks, drawn points."""
    driver.get(url)
    _wait(driver, "return window.__nas && window.__nas.ready && window.__frontDrawnAt",
          "the front drawing")
    time.sleep(0.5)  # long tasks are reported a little after they end
    nas = driver.execute_script(
        "const c = document.querySelector('#pareto2d canvas');"
        "return {t: window.__nas.t, drawn: window.__frontDrawnAt, tasks: window.__nas.longTasks,"
        " points: Object.assign({}, c.dataset), total: window.__nas.t.all}")
    return {"front_drawn_ms": round(nas["drawn"]), "all_charts_ms": nas["total"],
            "trials_loaded_ms": nas["t"]["trials_loaded"],
            "canvas_draw_ms": float(nas["points"].pop("drawMs")),
            "longest_task_ms": max(nas["tasks"] or [0]),
            "long_tasks_ms": sorted(nas["tasks"], reverse=True)[:6],
            "points": {k: int(v) for k, v in nas["points"].items()}}


def _three_d(driver) -> dict:
    """Pick a third objective, then drag across the canvas 3-D view to turn it."""
    from selenium.webdriver.common.action_chains import ActionChains

    plot = "const p = window.__nas.plots.pareto3d; "
    before = len(driver.execute_script("return window.__nas.longTasks"))
    start = driver.execute_script(
        "const z = document.getElementById('z'); z.value = 'latency_ms';"
        "z.dispatchEvent(new Event('change')); return performance.now()")
    _wait(driver, plot + "return !p.el.hidden && p.painted > 0", "the 3-D view")
    end = driver.execute_script("return performance.now()")
    shown = driver.execute_script(plot + "return {ms: +p.canvas.dataset.drawMs, n: p.painted}")
    driver.execute_script(  # time every redraw the drag causes
        plot + "const draw = p.render.bind(p); p.times = [];"
        "p.render = () => { const ms = draw(); p.times.push(ms); return ms; }")
    drag = ActionChains(driver, duration=DRAG_STEP_MS)
    drag.move_to_element(driver.execute_script(plot + "return p.overlay")).click_and_hold()
    for _ in range(DRAG_STEPS):
        drag.move_by_offset(*DRAG_STEP_PX)
    drag.release().perform()
    time.sleep(0.5)
    times = driver.execute_script(plot + "return p.times")
    tasks = driver.execute_script("return window.__nas.longTasks")[before:]
    return {"points": shown["n"], "drawn_after_ms": round(end - start),
            "first_draw_ms": shown["ms"], "turn_redraws": len(times),
            "turn_draw_ms": {"median": round(statistics.median(times), 1) if times else None,
                             "max": round(max(times), 1) if times else None},
            "longest_task_ms": max(tasks or [0]), "long_tasks_ms": sorted(tasks)[::-1][:6]}


def _summary(result: dict) -> dict:
    """Each target with this run's figure: fresh load, median over reloads, and verdicts."""
    browser = result.get("browser", {})
    out = {"page_payload_mb": result["page_payload_mb"],
           "server_rss_mb": result["server_rss_mb"].get("VmHWM")}
    if "three_d_view" in browser:
        out["three_d_longest_task_ms"] = browser["three_d_view"]["longest_task_ms"]
    if "fresh" in browser:
        for key in ("front_drawn_ms", "longest_task_ms"):
            out[key] = {"fresh": browser["fresh"][key],
                        "reload_median": statistics.median(r[key] for r in browser["reloads"])
                        if browser["reloads"] else None}
    verdict = {}
    for key, limit in TARGETS.items():
        value = out.get(key)
        values = [v for v in value.values() if v is not None] if isinstance(value, dict) \
            else [value]
        verdict[key] = {"target": f"< {limit}", "met": None if None in values or not values
                        else all(v < limit for v in values)}
    return {"measured": out, "verdict": verdict}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--run", help="run folder to create (default: a temporary one)")
    parser.add_argument("--reloads", type=int, default=3, help="page reloads to time")
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
        result["browser"] = browser_metrics(f"http://127.0.0.1:{port}/", args.reloads,
                                            Path(args.screenshot) if args.screenshot else None)
        result["server_rss_mb"] = rss_mb(server.pid)
        result["targets"] = _summary(result)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
