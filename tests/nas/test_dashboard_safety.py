"""The dashboard is safe to leave running: read-only routes, an export button whose
output path the request cannot choose, escaped trial strings, flat memory under load."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nas.cli import main
from nas.dashboard import create_app
from nas.dashboard.server import exposure_warning
from nas.dashboard.synthetic import make_synthetic_run

ROOT = Path(__file__).resolve().parents[2]
EVIL = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def hostile_run(run_dir: Path, n: int = 60) -> Path:
    """A synthetic run whose last trial carries markup in its genotype, arch and reason."""
    run = make_synthetic_run(run_dir, n=n, seed=3)
    lines = (run / "trials.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    record["genotype"]["decisions"]["1<-0"] = EVIL
    record["arch"] = EVIL
    record["metrics"].update(status="failed", reason=EVIL)
    lines[-1] = json.dumps(record)
    (run / "trials.jsonl").write_text("\n".join(lines) + "\n")
    return run


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def run(tmp_path):
    return hostile_run(tmp_path / "run")


def test_every_route_is_read_only_but_export(run):
    app = create_app(run)
    writing = {rule.rule for rule in app.url_map.iter_rules()
               if rule.methods - {"GET", "HEAD", "OPTIONS"}}
    assert writing == {"/api/export"}
    client, before = app.test_client(), _tree(run)
    for url in ("/", "/api/meta", "/api/token", "/api/trials?since=0", "/api/trials?since=5",
                "/api/front?metrics=accuracy,params", "/api/history", "/api/trial/0",
                "/static/app.js", "/favicon.ico"):
        assert client.get(url).status_code in (200, 204), url
    for url in ("/api/meta", "/api/trials", "/api/trial/0"):  # no writes by other methods
        assert client.post(url, json={}).status_code == 405
        assert client.delete(url).status_code == 405
    assert _tree(run) == before


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py",
                                  "/static/..%2fapp.py", "/static/..%2f..%2fconfig.yaml",
                                  "/static//etc/passwd", "/api/trial/..%2f..%2fconfig.yaml"])
def test_static_and_api_paths_do_not_traverse(run, path):
    response = create_app(run).test_client().get(path, follow_redirects=True)
    assert response.status_code == 404 and b"import" not in response.data


def test_the_export_request_cannot_choose_where_it_writes(run, tmp_path):
    client = create_app(run).test_client()
    outside = tmp_path / "evil"
    before = _tree(tmp_path)
    for body in ({"trial_id": "../../evil", "format": "json"},
                 {"trial_id": 0, "format": "../../evil"},
                 {"trial_id": 0, "format": "json", "fuse": "--out=/tmp"},
                 {"trial_id": 0, "format": "json --out /tmp"}):
        assert client.post("/api/export", json=body).status_code == 400, body
    assert _tree(tmp_path) == before
    tid = json.loads((run / "pareto.json").read_text())["front_trial_ids"][0]
    ok = client.post("/api/export", json={"trial_id": tid, "format": "json", "out": str(outside),
                                          "dir": "../../evil", "path": "/tmp/evil"})
    assert ok.status_code == 200, ok.get_json()
    changed = {name for name, stat in _tree(tmp_path).items() if before.get(name) != stat}
    assert changed and all(name.startswith("run/exports") for name in changed), changed
    assert not outside.exists()


def test_trial_strings_reach_the_page_escaped(run):
    client = create_app(run).test_client()
    tid = json.loads((run / "trials.jsonl").read_text().splitlines()[-1])["trial_id"]
    response = client.get(f"/api/trial/{tid}")
    assert response.mimetype == "application/json"  # data, never a page
    svg = response.get_json()["drawing"]["svg"] or ""
    assert "<script" not in svg and "<img" not in svg and "&lt;script&gt;" in svg
    assert response.get_json()["record"]["metrics"]["reason"] == EVIL  # the data unchanged
    static = (ROOT / "nas" / "dashboard" / "static" / "app.js").read_text()
    assert re.findall(r"innerHTML\s*=\s*([^;]+);", static) == ["d.svg"]  # the only one


def test_help_says_what_the_export_button_writes(capsys):
    with pytest.raises(SystemExit):
        main(["dashboard", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "RUN_DIR/exports/trial_<ID>/<FORMAT>[-fused]/" in text
    assert "cannot choose another path" in text and "127.0.0.1" in text


def test_serving_beyond_loopback_warns_of_no_authentication():
    assert exposure_warning("127.0.0.1") is None and exposure_warning("::1") is None
    assert "WITHOUT authentication" in exposure_warning("0.0.0.0")


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))


def test_2000_sequential_requests_keep_server_memory_flat(tmp_path):
    run = hostile_run(tmp_path / "run", n=2000)
    proc = subprocess.Popen([sys.executable, "-m", "nas", "dashboard", str(run), "--port", "0"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        port = re.search(r"127\.0\.0\.1:(\d+)/", proc.stderr.readline()).group(1)
        urls = [f"http://127.0.0.1:{port}{u}" for u in (
            "/api/meta", "/api/token", "/api/trials?since=0", "/api/trials?since=1990",
            "/api/front?metrics=accuracy,params", "/api/history", "/api/trial/7",
            "/api/front?metrics=accuracy,latency_ms")]

        def get(i):
            with urllib.request.urlopen(urls[i % len(urls)], timeout=30) as r:
                assert r.status == 200
                r.read()

        for i in range(200):  # warm up: caches, imports, allocator arenas
            get(i)
        start, t0 = _rss_kib(proc.pid), time.monotonic()
        for i in range(2000):
            get(i)
        grown = _rss_kib(proc.pid) - start
        print(f"2000 requests in {time.monotonic() - t0:.1f}s, RSS {start} KiB -> +{grown} KiB")
        assert grown < 4096, f"server memory grew by {grown} KiB over 2000 requests"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
