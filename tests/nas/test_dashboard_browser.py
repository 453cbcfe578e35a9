"""The dashboard page in headless Chromium: loads, draws the front, selects, exports.

Slow (a browser start and a subprocess export): run with `pytest -m browser tests/nas`.
Skipped when selenium, chromium or chromedriver is missing. The screenshot goes to
$TMPDIR, never into the repository.
"""
from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from nas.dashboard import make_dashboard_server
from nas.dashboard.synthetic import make_synthetic_run, synthetic_records
from nas.store.trial_log import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium / chromedriver not installed (apt-get install chromium "
                    "chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--window-size=1600,1200", "--enable-unsafe-swiftshader"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@contextlib.contextmanager
def _serve(run: Path):
    server = make_dashboard_server(run, "127.0.0.1", 0, poll_ms=500)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    run = make_synthetic_run(tmp_path_factory.mktemp("browser") / "run", n=300, seed=2)
    with _serve(run) as url:
        yield run, url


def _wait(driver, script: str, *args, timeout: float = 90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


_COUNTS = "return Object.assign({}, document.querySelector('#pareto2d canvas').dataset)"


def _point_on_canvas(driver, layer: int, index: int, click: bool = False,
                     plot: str = "pareto") -> None:
    """Move the mouse onto point `index` of canvas layer `layer` of a Pareto plot (and
    click), in viewport coordinates, as a user would."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    at = driver.execute_script(
        "const p = window.__nas.plots[arguments[2]], r = p.overlay.getBoundingClientRect(),"
        " q = p.pixelOf(arguments[0], arguments[1]); return [r.left + q.x, r.top + q.y]",
        layer, index, plot)
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(round(at[0]), round(at[1]))
    if click:
        actions.pointer_action.click()
    actions.perform()


def test_page_draws_front_selects_and_exports(browser, served):
    run, url = served
    browser.get(url)
    _wait(browser, "return window.__nas && window.__nas.ready && window.__frontDrawnAt")
    assert browser.execute_script("return window.Plotly") is None  # our canvas plots only
    front = browser.execute_script(
        "return fetch('/api/front?metrics=accuracy,params').then(r => r.json())")
    trials = browser.execute_script("return fetch('/api/trials').then(r => r.json())")
    counts = {k: int(v) for k, v in browser.execute_script(_COUNTS).items() if k != "drawMs"}
    assert counts["frontPoints"] == len(front["rows"]) >= 2  # one marker per front arch
    assert counts["frontPoints"] + counts["dominatedPoints"] == front["candidates"]
    assert counts["infeasiblePoints"] == trials["status"].count(2) > 0  # shaded, not hidden
    rows = browser.execute_script("return window.__nas.plots.pareto.spec.layers[2].rows")
    assert sorted(rows) == sorted(front["rows"])
    accuracy = trials["metrics"]["accuracy"]
    best = max(front["rows"], key=lambda r: accuracy[r])  # shown before any click
    assert browser.execute_script("return window.__nas.selected") == trials["ids"][best]
    assert browser.find_element("id", "trial-note").text.startswith("best accuracy")
    other = next(i for i in range(len(rows) - 1, -1, -1) if rows[i] != best)
    _point_on_canvas(browser, 2, other)
    tip = _wait(browser, "const t = document.querySelector('#pareto2d .plot-tip');"
                         "return !t.hidden && t.textContent")
    clicked = trials["ids"][rows[other]]
    assert tip.startswith(f"trial {clicked} (Pareto front)") and "1<-0 " in tip  # genotype
    _point_on_canvas(browser, 2, other, click=True)
    _wait(browser, f"return window.__nas.selected === {clicked}")  # a click selects
    assert len(browser.find_elements("css selector", "#drawing svg g.edge")) == 6
    tid = trials["ids"][rows[0]]
    browser.find_element("id", "trial-id").clear()
    browser.find_element("id", "trial-id").send_keys(str(tid))
    browser.find_element("id", "show").click()
    _wait(browser, f"return window.__nas.selected === {tid}")
    browser.find_element("id", "export").click()
    _wait(browser, "return window.__nas.exported")
    result = browser.find_element("id", "export-result").text
    assert result.startswith("wrote ")
    assert (run / "exports" / f"trial_{tid}" / "json" / "arch.json").is_file()
    shot = Path(tempfile.gettempdir()) / "nas-dashboard-browser-test.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


_PLOT3D = "const p = window.__nas.plots.pareto3d; "
_COUNTS3D = ("return Object.assign({painted: window.__nas.plots.pareto3d.painted},"
             " document.querySelector('#pareto3d canvas').dataset)")


def _counts_3d(driver) -> dict[str, int]:
    counts = driver.execute_script(_COUNTS3D)
    return {k: int(v) for k, v in counts.items() if k != "drawMs"}


def test_three_objectives_draw_a_canvas_3d_view(browser, served):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import Select

    run, url = served
    browser.get(url)
    _wait(browser, "return window.__nas && window.__nas.ready")
    Select(browser.find_element("id", "z")).select_by_value("latency_ms")
    _wait(browser, _PLOT3D + "return !p.el.hidden && p.painted > 0")
    assert browser.execute_script("return document.getElementById('pareto2d').hidden")
    front = browser.execute_script(
        "return fetch('/api/front?metrics=params,accuracy,latency_ms').then(r => r.json())")
    counts = _counts_3d(browser)
    assert counts["frontPoints"] == len(front["rows"]) >= 2
    assert counts["frontPoints"] + counts["dominatedPoints"] == front["candidates"]
    assert counts["infeasiblePoints"] > 0
    assert counts["painted"] == 1 + sum(counts[k] for k in (  # + the best trial's ring
        "frontPoints", "dominatedPoints", "infeasiblePoints"))
    best = browser.execute_script("return S.selected.row")
    # a front point that a hover or click there resolves to (not hidden by another)
    index = browser.execute_script(_PLOT3D + "const n = p.spec.layers[2].rows.length;"
                                   "for (let i = 0; i < n; i++) { const q = p.pixelOf(2, i),"
                                   " h = p.nearest(q.x, q.y); if (h && h.layer === 2 &&"
                                   " h.index === i && p.spec.layers[2].rows[i] !== arguments[0])"
                                   " return i; } return -1", best)
    assert index >= 0
    row = browser.execute_script(_PLOT3D + "return p.spec.layers[2].rows[arguments[0]]", index)
    clicked = browser.execute_script("return S.ids[arguments[0]]", row)
    _point_on_canvas(browser, 2, index, plot="pareto3d")
    tip = _wait(browser, "const t = document.querySelector('#pareto3d .plot-tip');"
                         "return !t.hidden && t.textContent")
    assert tip.startswith(f"trial {clicked} (Pareto front)") and "latency_ms = " in tip
    _point_on_canvas(browser, 2, index, click=True, plot="pareto3d")
    _wait(browser, f"return window.__nas.selected === {clicked}")
    _wait(browser, _PLOT3D + f"return p.spec.layers[3].rows[0] === {row} &&"
                   f" p.painted === {counts['painted']}")  # the ring moved
    assert browser.execute_script(_PLOT3D + "return p.spec.layers[3].rows") == [row]

    before = browser.execute_script(_PLOT3D + "return [p.angles, p.pixelOf(2, 0)]")
    overlay = browser.execute_script(_PLOT3D + "return p.overlay")
    ActionChains(browser).move_to_element(overlay).click_and_hold() \
        .move_by_offset(60, 20).move_by_offset(60, 20).release().perform()
    after = _wait(browser, _PLOT3D + "return p.angles.yaw !== arguments[0] &&"
                  " [p.angles, p.pixelOf(2, 0)]", before[0]["yaw"])
    assert after[0]["yaw"] == pytest.approx(before[0]["yaw"] - 1.2)  # 120 px right
    assert after[0]["pitch"] == pytest.approx(before[0]["pitch"] + 0.4)  # 40 px down
    assert after[1] != before[1]
    assert browser.execute_script("return window.__nas.selected") == clicked  # no pick

    store = RunStore(run)  # new trials redraw the 3-D view at the turned angles
    n = browser.execute_script("return S.n")
    for record in synthetic_records(5, seed=12, start_id=7000):
        store.append_trial(record)
    _wait(browser, f"return S.n === {n + 5}", timeout=30)
    _wait(browser, _PLOT3D + "const d = p.canvas.dataset; return p.painted > arguments[0] &&"
          " p.painted === 1 + +d.frontPoints + +d.dominatedPoints + +d.infeasiblePoints",
          counts["painted"] + 1, timeout=30)
    assert browser.execute_script(_PLOT3D + "return p.angles") == after[0]
    assert browser.execute_script(
        "return window.Plotly === undefined && !performance.getEntriesByType('resource')"
        ".some(e => e.name.includes('plotly'))")
    Select(browser.find_element("id", "z")).select_by_value("")
    _wait(browser, "return document.getElementById('pareto3d').hidden")


def test_page_picks_up_new_trials_live(browser, served):
    run, url = served
    browser.get(url)
    _wait(browser, "return window.__nas && window.__nas.ready")
    before = browser.execute_script("return S.n")
    store = RunStore(run)
    for record in synthetic_records(4, seed=11, start_id=5000):
        store.append_trial(record)
    _wait(browser, f"return S.n === {before + 4}", timeout=30)
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/api/trials')).map(n => n.split('since=')[1])")
    assert fetched[0] == "0" and str(before) in fetched[1:]  # polls ask only for new rows
    assert "0" not in fetched[1:]


def test_a_fresh_run_fills_in_as_trials_finish(browser, tmp_path):
    run = make_synthetic_run(tmp_path / "fresh", n=0)
    with _serve(run) as url:
        browser.get(url)
        _wait(browser, "return window.__nas && window.__nas.ready")
        store = RunStore(run)
        for record in synthetic_records(20, seed=3):
            store.append_trial(record)
        _wait(browser, "return S.n === 20 && +document.querySelector('#pareto2d canvas')"
                       ".dataset.frontPoints > 0", timeout=30)


def test_markup_in_trial_strings_is_shown_as_text(browser, tmp_path):
    from test_dashboard_safety import EVIL, hostile_run

    run = hostile_run(tmp_path / "run")
    tid = RunStore(run).trials()[-1]["trial_id"]  # the hostile record
    with _serve(run) as url:
        browser.get(url)
        _wait(browser, "return window.__nas && window.__nas.ready")
        browser.find_element("id", "trial-id").clear()
        browser.find_element("id", "trial-id").send_keys(str(tid))
        browser.find_element("id", "show").click()
        _wait(browser, f"return window.__nas.selected === {tid}")
        card = _wait(browser, "return document.getElementById('trial-card').textContent")
        assert EVIL in card  # shown literally ...
        assert browser.execute_script("return window.__pwned") is None  # ... never run
        assert not browser.find_elements("css selector", "#trial-card script, #trial-card img")


def test_header_counts_and_hypervolume_match_nas_status(browser, tmp_path, capsys):
    from nas.cli import main

    run = make_synthetic_run(tmp_path / "counted", n=150, seed=5)
    assert main(["status", str(run), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    with _serve(run) as url:
        browser.get(url)
        _wait(browser, "return window.__nas && window.__nas.ready")
        shown = browser.execute_script(
            "return Object.assign({}, document.getElementById('summary').dataset)")
        text = browser.find_element("id", "summary").text
    measured = status["done"] - status["infeasible"] - status["pruned"]
    assert int(shown["complete"]) == measured and int(shown["failed"]) == status["failed"]
    assert int(shown["infeasible"]) == status["infeasible"] > 0
    assert int(shown["pruned"]) == status["pruned"] > 0
    assert int(shown["trials"]) == status["done"] + status["failed"]
    assert float(shown["hv"]) == pytest.approx(status["hypervolume"], rel=1e-12)
    for name in ("complete", "failed", "infeasible", "pruned"):
        assert f"{shown[name]} {name}" in text
    assert f"HV {_human(status['hypervolume'])}" in text


def _human(value: float) -> str:
    """The page's k/M/G format (3 significant digits), for the check above."""
    for unit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= unit:
            return f"{float(f'{value / unit:.3g}'):g}{suffix}"
    return f"{float(f'{value:.4g}'):g}"
