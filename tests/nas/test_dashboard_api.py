"""nas.dashboard endpoints through the Flask test client (fast; no browser)."""
from __future__ import annotations

import gzip
import json
import re
import socket
import subprocess
import sys

import numpy as np
import pytest

from nas.cli import main
from nas.dashboard import create_app
from nas.dashboard.drawing import draw_genotype
from nas.dashboard.synthetic import make_synthetic_run, synthetic_records
from nas.store.runinfo import front_trial_ids, read_run_info
from nas.store.trial_log import RunStore


@pytest.fixture()
def run(tmp_path):
    return make_synthetic_run(tmp_path / "run", n=120, seed=1)


@pytest.fixture()
def client(run):
    return create_app(run, poll_ms=500).test_client()


def _records(run):
    return RunStore(run).trials()


def test_meta_lists_objectives_and_constraints(client):
    meta = client.get("/api/meta").get_json()
    assert meta["objectives"] == [{"name": "accuracy", "direction": "maximize"},
                                  {"name": "params", "direction": "minimize"}]
    assert meta["constraints"] == [{"name": "params", "min": None, "max": 150000.0}]
    assert meta["poll_ms"] == 500 and "onnx" in meta["export_formats"]


def test_trials_are_compact_columns(client, run):
    data = client.get("/api/trials?since=0").get_json()
    records = _records(run)
    assert data["n"] == len(data["ids"]) == len(records) == 120
    assert data["ids"] == [r["trial_id"] for r in records]
    assert set(data["metrics"]) >= {"accuracy", "params", "macs", "latency_ms", "rung:synflow"}
    accuracy = [v for v in data["metrics"]["accuracy"] if v is not None]
    assert all(len(f"{v:.10g}".replace(".", "").lstrip("0")) <= 6 for v in accuracy)
    failed = [i for i, s in enumerate(data["status"]) if s == 1]
    assert failed and all(data["metrics"]["accuracy"][i] is None for i in failed)
    decoded = {name: data["choices"][name][codes[0]] for name, codes in data["geno"].items()}
    assert decoded == records[0]["genotype"]["decisions"]


def test_new_trials_arrive_incrementally(client, run):
    token = client.get("/api/token").get_json()["token"]
    first = client.get("/api/trials?since=0").get_json()
    store = RunStore(run)
    for record in synthetic_records(5, seed=9, start_id=1000):
        store.append_trial(record)
    with open(run / "trials.jsonl", "a") as f:
        f.write('{"trial_id": 2000, "key"')  # a record still being written
    assert client.get("/api/token").get_json()["token"] != token
    new = client.get(f"/api/trials?since={first['n']}").get_json()
    assert new["start"] == 120 and new["n"] == 125
    assert sorted(new["ids"]) == list(range(1000, 1005))  # the torn line waits


def test_front_matches_the_pareto_module(client, run):
    front = client.get("/api/front?metrics=accuracy,params").get_json()
    ids = client.get("/api/trials?since=0").get_json()["ids"]
    assert sorted(ids[r] for r in front["rows"]) == front_trial_ids(_records(run),
                                                                    read_run_info(run))
    assert front["directions"] == ["maximize", "minimize"]
    three = client.get("/api/front?metrics=accuracy,params,latency_ms").get_json()
    assert three["directions"][2] == "minimize" and len(three["rows"]) >= len(front["rows"])
    bad = client.get("/api/front?metrics=accuracy,nope")
    assert bad.status_code == 400 and "unknown metric 'nope'" in bad.get_json()["error"]


def test_front_and_history_keep_to_the_config_constraints(tmp_path):
    # complete trials over the bound (a log older than its config) stay off the front
    run = make_synthetic_run(tmp_path / "run", n=200, seed=6, constraints=False)
    (run / "config.yaml").write_text((run / "config.yaml").read_text() +
                                     "constraints: {params: {max: 150000}}\n")
    client = create_app(run).test_client()
    data = client.get("/api/trials?since=0").get_json()
    params, status = data["metrics"]["params"], data["status"]
    assert any(s == 0 and p > 150000 for s, p in zip(status, params))
    front = client.get("/api/front?metrics=accuracy,params").get_json()
    assert front["rows"] and all(params[r] <= 150000 for r in front["rows"])
    assert front["candidates"] == sum(s == 0 and p <= 150000 for s, p in zip(status, params))
    ids = sorted(data["ids"][r] for r in front["rows"])
    assert ids == front_trial_ids(_records(run), read_run_info(run))
    assert len(client.get("/api/history").get_json()["hypervolume"]["v"]) >= 2


def test_synthetic_trials_over_the_bound_are_infeasible(client, run):
    records = _records(run)
    over = [r for r in records if r["metrics"]["cost"]["params"] > 150000
            and r["metrics"]["status"] not in ("failed", "pruned")]  # never measured
    assert over and all(r["metrics"]["status"] == "infeasible" for r in over)
    assert all("violates params=" in r["metrics"]["reason"] for r in over)
    trials = client.get("/api/trials?since=0").get_json()
    assert trials["statuses"] == ["complete", "failed", "infeasible", "pruned"]
    assert trials["status"].count(2) == len(over)
    assert trials["status"].count(3) == sum(r["metrics"]["status"] == "pruned"
                                            for r in records) > 0
    pareto = json.loads((run / "pareto.json").read_text())
    assert pareto["n_infeasible"] == len(over)


def test_history_ends_at_the_run_hypervolume(client, run, capsys):
    hist = client.get("/api/history").get_json()
    done = [r for r in _records(run) if r["metrics"]["status"] == "complete"]
    values = np.array([[r["metrics"]["objectives"]["accuracy"], r["metrics"]["cost"]["params"]]
                       for r in done])
    assert main(["status", str(run), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert hist["hv"] == pytest.approx(status["hypervolume"], rel=1e-12)
    assert hist["reference"] == pytest.approx(status["reference"], rel=1e-12)
    assert hist["hypervolume"]["v"][-1] == pytest.approx(status["hypervolume"], rel=1e-5)
    assert hist["best"]["accuracy"]["v"][-1] == pytest.approx(values[:, 0].max(), rel=1e-5)
    assert np.all(np.diff(hist["hypervolume"]["v"]) >= 0)


def test_rung_correlation_is_spearman(client, run):
    stats = pytest.importorskip("scipy.stats")
    rungs = {r["rung"]: r for r in client.get("/api/history").get_json()["rungs"]}
    done = [r for r in _records(run) if r["metrics"]["status"] == "complete"]
    rho = stats.spearmanr([r["metrics"]["rungs"]["synflow"] for r in done],
                          [r["metrics"]["objectives"]["accuracy"] for r in done]).statistic
    assert rungs["synflow"]["spearman"] == pytest.approx(rho, abs=1e-4)
    assert rungs["synflow"]["n"] == len(done)


def test_trial_endpoint_draws_the_cell(client, run):
    record = _records(run)[7]
    data = client.get(f"/api/trial/{record['trial_id']}").get_json()
    assert data["record"]["arch"] == record["arch"]
    assert data["drawing"]["kind"] == "cell" and data["drawing"]["svg"].startswith("<svg")
    assert data["drawing"]["svg"].count('class="edge"') == 6
    assert client.get("/api/trial/99999").status_code == 404


def test_macro_genotypes_get_a_layer_table():
    drawing = draw_genotype({"space": "fbnet", "decisions": {"layer0": "ir_k3_e6",
                                                             "layer1": "skip"}})
    assert drawing["kind"] == "layers"
    assert drawing["rows"][0] == {"index": 0, "decision": "layer0", "choice": "ir_k3_e6",
                                  "op": "ir", "options": "k3 e6"}


def test_export_endpoint_validates_then_writes(client, run):
    tid = json.loads((run / "pareto.json").read_text())["front_trial_ids"][0]
    assert client.post("/api/export", data="trial_id=1").status_code == 415
    bad = client.post("/api/export", json={"trial_id": tid, "format": "tflite"})
    assert bad.status_code == 400 and "format" in bad.get_json()["error"]
    assert client.post("/api/export", json={"trial_id": 99999, "format": "json"}).status_code == 400
    ok = client.post("/api/export", json={"trial_id": tid, "format": "json", "fuse": False})
    assert ok.status_code == 200, ok.get_json()
    assert (run / "exports" / f"trial_{tid}" / "json" / "arch.json").is_file()


def test_large_payloads_are_gzipped_and_small_per_trial(tmp_path):
    run = make_synthetic_run(tmp_path / "big", n=2000)
    client = create_app(run).test_client()
    raw = client.get("/api/trials?since=0").data
    zipped = client.get("/api/trials?since=0", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(zipped.data)) == json.loads(raw)
    assert len(raw) / 2000 < 150  # bytes per trial: 10,000 trials stay under 1.5 MB raw


def test_dashboard_server_does_not_import_torch():
    code = "import sys, nas.dashboard, nas.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_port_in_use_exits_2(run, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["dashboard", str(run), "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


def test_the_dashboard_and_its_3d_view_need_no_plotly(run):
    code = ("import sys; sys.modules['plotly'] = None; from nas.dashboard import create_app;"
            f"c = create_app({str(run)!r}).test_client();"
            "print(c.get('/').status_code, c.get('/static/canvas_3d.js').status_code)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["200", "200"], out.stderr


def test_a_run_without_trials_yet_is_served(tmp_path):
    empty = make_synthetic_run(tmp_path / "fresh", n=0)
    client = create_app(empty).test_client()
    assert client.get("/api/trials?since=0").get_json()["n"] == 0
    assert client.get("/api/history").get_json() == {"rungs": []}
    assert client.get("/api/front?metrics=accuracy,params").status_code == 400  # no metrics yet


def test_not_a_run_folder_exits_2(tmp_path, capsys):
    assert main(["dashboard", str(tmp_path)]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_the_page_loads_our_canvas_plots_not_plotly(client):
    page = client.get("/").get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts == ["/static/canvas_axes.js", "/static/canvas_plot.js",
                       "/static/canvas_3d.js", "/static/plots.js", "/static/app.js"]
    for path in scripts:
        response = client.get(path)
        assert response.status_code == 200
        assert "plotly" not in response.get_data(as_text=True).lower()
    assert client.get("/vendor/plotly.min.js").status_code == 404  # the 3-D view is ours


def test_meta_carries_reference_points_for_the_latency_plot(run):
    from benchmarks.bench_convnet_latency import reference_points

    rows = [{"preset": "convnext_t", "batch": 1, "fused_macs": 4.46e9, "fused_ms": 90.0},
            {"preset": "convnext_t", "batch": 32, "fused_macs": 4.46e9, "fused_ms": 2000.0}]
    assert create_app(run).test_client().get("/api/meta").get_json()["reference_points"] == []
    (run / "reference_points.json").write_text(json.dumps({"points": reference_points(rows)}))
    meta = create_app(run).test_client().get("/api/meta").get_json()
    assert meta["reference_points"] == [{"label": "convnext_t", "macs": 4.46e9,
                                         "latency_ms": 90.0}]
    (run / "reference_points.json").write_text("{not json")
    assert create_app(run).test_client().get("/api/meta").get_json()["reference_points"] == []
