"""The Experiments panel in real Chromium against the real server (docs/protocol.md, "Sweeps"):
a small sweep streams its progress and every row onto a uPlot chart (markers, 95% bars, the
closed forms), and its CSV is what ``python -m simulator sweep --csv`` writes for the same
arguments; a big sweep is cancelled part way and the panel runs another; a refused sweep names
its field and starts nothing; on a phone the open panel fits the screen's width."""

from __future__ import annotations

import csv
import io

import pytest
import test_browser_timeline as shared
from test_browser_timeline import Lab

from simulator import sweep as S
from simulator.config import SEMANTICS

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
lab = shared.lab

HEADER = ["loss", "semantics", "lost_mean", "duplicated_mean", "transmissions_mean",
          "out_of_order_mean", "lost_ci95", "duplicated_ci95", "transmissions_ci95",
          "out_of_order_ci95", "expected_lost", "expected_duplicated", "expected_transmissions",
          "no_closed_form"]
MODULE = "(await import('/static/js/experiments.js')).experiments"


def panel(lab: Lab, what: str):
    """A value of the panel's read-only view (static/js/experiments.js `experiments`)."""
    return lab.page.evaluate(f"async () => {{ const x = {MODULE}; return {what}; }}")


def open_panel(lab: Lab) -> None:
    page = lab.page
    if not page.locator("#experiments").evaluate("d => d.open"):
        page.locator("#experiments > summary").click()
    lab.wait("document.getElementById('experiments').open", what="the Experiments fold")
    lab.wait("document.querySelectorAll('#sweep-setting option').length === 9",
             what="the sweepable settings, from the schema")


def fill(lab: Lab, *, setting="loss", start="0", stop="0.4", points="3", seeds="2",
         messages="2000") -> None:
    page = lab.page
    page.select_option("#sweep-setting", setting)
    page.get_by_label("From").fill(start)
    page.get_by_label("to", exact=True).fill(stop)
    page.get_by_label("points", exact=True).fill(points)
    page.get_by_label("Seeds", exact=True).fill(seeds)
    page.get_by_label("Messages per run").fill(messages)


def state(lab: Lab) -> str:
    return lab.lab("document.getElementById('experiments').dataset.state || 'idle'")


def run_and_wait(lab: Lab, rows: int, timeout: float = 60) -> None:
    lab.page.get_by_role("button", name="Run sweep").click()
    lab.wait("document.getElementById('experiments').dataset.state === 'done'", timeout=timeout,
             what="the sweep's end")
    assert lab.lab("document.getElementById('experiments').dataset.rows") == str(rows)


def test_a_small_sweep_draws_every_row_and_saves_the_command_lines_csv(lab, artifacts, tmp_path):
    page = lab.page
    lab.setting("Network duplication", "0", "duplicate", 0)  # so the closed forms hold
    open_panel(lab)
    assert page.get_by_role("button", name="Cancel").is_disabled()
    assert page.get_by_role("button", name="Download CSV").is_disabled()
    fill(lab)
    assert "3 values × 3 semantics × 2 seeds = 18 runs" in page.inner_text("#sweep-runs")
    run_and_wait(lab, 9)

    # the progress bar at its end, the status says so; Cancel off, CSV on
    bar = page.locator("#sweep-progress")
    assert bar.evaluate("p => [p.value, p.max]") == [18, 18]
    assert page.inner_text("#sweep-status").startswith("Done: 18 runs, 9 rows")
    assert page.get_by_role("button", name="Cancel").is_disabled()
    assert page.get_by_role("button", name="Download CSV").is_enabled()

    # the chart: uPlot's canvas drawn at a real size, a measured series and a closed-form
    # series per semantics, three values each, a marker per row
    canvas = page.locator("#sweep-chart canvas").first
    box = canvas.bounding_box()
    assert box and box["width"] > 150 and box["height"] > 150
    info = panel(lab, "x.info()")
    assert info["canvas"]["width"] > 0 and info["canvas"]["height"] > 0
    assert info["series"] == 6 and info["points"] == 3 and info["marks"] == 9
    assert [m["semantics"] for m in info["measured"]] == list(SEMANTICS)
    assert all(m["points"] == 3 for m in info["measured"])
    assert [(c["semantics"], c["points"]) for c in info["closed"]] == [(s, 3) for s in SEMANTICS]
    assert panel(lab, "x.chart.data[0]") == [0, 0.2, 0.4]
    assert page.locator("#sweep-legend li").count() == 5  # three semantics, the bar, the line
    assert "No closed form" not in page.inner_text("#sweep-caption")
    lab.shot(artifacts, "sweep-done")

    # the rows are exactly what the simulator computes for the same arguments
    config = lab.lab("window.__lab.config()")
    base = {k: v for k, v in config.items() if k not in ("messages", "semantics", "options")}
    rows = S.sweep({**base, "messages": 2000}, "loss", S.values_of("0:0.4:3", "loss"),
                   SEMANTICS, 2)
    got = panel(lab, "x.rows()")
    assert len(got) == 9
    assert [(r["value"], r["semantics"]) for r in got] == [(r.value, r.semantics) for r in rows]
    for mine, theirs in zip(got, rows, strict=True):
        assert mine["mean"] == pytest.approx(theirs.mean, abs=1e-12)
        assert mine["expected"] == pytest.approx(theirs.expected, abs=1e-12)

    # the CSV: the header and row per value and semantics of `sweep --csv`, byte for byte
    with page.expect_download() as info_download:
        page.get_by_role("button", name="Download CSV").click()
    download = info_download.value
    assert download.suggested_filename == "delivery-lab-sweep-loss.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = path.read_text()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == HEADER and len(table) == 1 + 9
    assert all(row[-1] == "" and row[10] != "" for row in table[1:])  # closed forms hold
    cli = io.StringIO()
    csv.writer(cli, lineterminator="\n").writerows(S.csv_rows(rows, "loss"))
    assert text == cli.getvalue()

    # another rate: out of order has no closed form, and the caption says so
    page.select_option("#sweep-rate", "out_of_order")
    lab.wait("document.getElementById('sweep-caption').textContent.includes('no closed form')",
             what="the out-of-order caption")
    info = panel(lab, "x.info()")
    assert info["rate"] == "out_of_order" and all(c["points"] == 0 for c in info["closed"])
    assert info["marks"] == 9
    # the rows as a table, for those who cannot see the chart
    page.locator(".sweep-table-fold > summary").click()
    assert page.locator("#sweep-table-body tr").count() == 9
    assert lab.problems == []


def test_a_row_without_closed_form_says_why_once(lab):
    """With the network's copies left on (the default), no closed form holds: the caption
    says why once for every semantics, and no closed-form line is drawn."""
    page = lab.page
    open_panel(lab)
    fill(lab, start="0", stop="0.2", points="2", seeds="1", messages="500")
    run_and_wait(lab, 6)
    caption = page.inner_text("#sweep-caption")
    assert caption.count("the network duplicates") == 1, caption
    assert all(c["points"] == 0 for c in panel(lab, "x.info()")["closed"])
    assert all(row["why_not"] for row in panel(lab, "x.rows()"))
    assert lab.problems == []


def test_a_big_sweep_is_cancelled_and_another_runs(lab, artifacts):
    page = lab.page
    lab.setting("Network duplication", "0", "duplicate", 0)
    open_panel(lab)
    fill(lab, start="0", stop="0.45", points="10", seeds="10", messages="20000")  # 300 runs
    page.get_by_role("button", name="Run sweep").click()
    lab.wait("document.getElementById('experiments').dataset.state === 'running'",
             what="the sweep running")
    cancel = page.get_by_role("button", name="Cancel")
    assert cancel.is_enabled()
    lab.wait("document.getElementById('sweep-progress').value >= 1", timeout=30,
             what="a first run measured")
    cancel.click()
    lab.wait("document.getElementById('experiments').dataset.state === 'cancelled'",
             what="the cancel")
    status = page.inner_text("#sweep-status")
    assert status.startswith("Cancelled at ") and "of 300 runs" in status, status
    rows = int(lab.lab("document.getElementById('experiments').dataset.rows"))
    assert rows < 30
    done = lab.lab("document.getElementById('sweep-progress').value")
    assert 1 <= done < 300
    assert cancel.is_disabled()
    page.wait_for_timeout(1000)  # nothing of the cancelled sweep comes after its end
    assert lab.lab("document.getElementById('experiments').dataset.rows") == str(rows)
    assert lab.lab("document.getElementById('sweep-progress').value") == done
    lab.shot(artifacts, "sweep-cancelled")

    # Run works again: a small sweep of another setting runs to its end
    first = panel(lab, "x.sweep")
    fill(lab, setting="max_retries", start="0", stop="4", points="3", seeds="1",
         messages="500")
    run_and_wait(lab, 9)
    assert panel(lab, "x.sweep") != first
    assert panel(lab, "x.chart.data[0]") == [0, 2, 4]
    assert page.locator("#sweep-table-setting").text_content() == "Max retries"
    assert lab.problems == []


def test_a_refused_sweep_names_its_field_and_starts_nothing(lab):
    page = lab.page
    open_panel(lab)
    fill(lab, seeds="0")
    page.get_by_role("button", name="Run sweep").click()
    lab.wait("document.getElementById('sweep-error').textContent !== ''", what="the refusal")
    error = page.inner_text("#sweep-error")
    assert error.startswith("Seeds:"), error
    assert page.get_by_label("Seeds", exact=True).get_attribute("aria-invalid") == "true"
    assert panel(lab, "x.refused.field") == "seeds"

    # a value out of the setting's range: the refusal names the values
    fill(lab, start="0", stop="1.5")
    page.get_by_role("button", name="Run sweep").click()
    lab.wait("document.getElementById('sweep-error').textContent.startsWith('From, to, points:')",
             what="the values refused")
    assert page.get_by_label("to", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Seeds", exact=True).get_attribute("aria-invalid") is None

    # nothing started: no progress, no rows, no chart data, Cancel and CSV off
    assert state(lab) == "refused"
    assert page.locator("#sweep-progress").evaluate("p => p.value") == 0
    assert page.inner_text("#sweep-status") == "The sweep was not started."
    assert panel(lab, "x.sweep") is None and panel(lab, "x.rows().length") == 0
    assert page.get_by_role("button", name="Cancel").is_disabled()
    assert page.get_by_role("button", name="Download CSV").is_disabled()
    assert lab.problems == []


def test_the_open_panel_fits_a_phone(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_server + "/")
    lab = Lab(page, problems)
    lab.ready()
    # folded, the panel is one line below the timeline
    assert page.locator("#experiments > summary").bounding_box()["y"] > \
        page.locator("#timeline").bounding_box()["y"]
    open_panel(lab)
    fill(lab, points="3", seeds="1", messages="500")
    run_and_wait(lab, 9)
    assert lab.lab("document.documentElement.scrollWidth") <= 390
    box = page.locator("#sweep-chart canvas").first.bounding_box()
    assert 300 <= box["width"] <= 390 and box["height"] >= 200
    # touch targets: every control of the open panel at least 40 px (a checkbox by its label)
    small = page.evaluate("""() => [...document.querySelectorAll('#experiments button,'
        + ' #experiments select, #experiments input:not([type=checkbox]),'
        + ' #experiments summary, #experiments label.check')]
      .filter((e) => e.getClientRects().length)
      .map((e) => [e.id || e.textContent.trim().slice(0, 24), e.getBoundingClientRect()])
      .filter(([, r]) => r.height < 40 || r.width < 40).map(([name]) => name)""")
    assert small == [], f"touch targets under 40 px: {small}"
    page.locator("#experiments").scroll_into_view_if_needed()
    page.locator("#experiments").screenshot(path=str(artifacts / "browser-sweep-phone.png"))
    context.close()
    assert problems == []


def test_a_sweep_from_a_presets_run_takes_only_what_the_plain_model_shares(lab):
    """On an MQTT run (its options, a fault on its packets) a sweep still runs the plain model:
    the preset's options and faults are not sent as the sweep's base."""
    page = lab.page
    page.select_option("#protocol-select", "mqtt")
    lab.wait("window.__lab.manifest().protocol === 'mqtt'", what="the MQTT run")
    page.locator("[id='set-options.qos']").fill("2")
    page.locator("#advanced-summary").click()
    page.locator("#set-faults").fill("drop:PUBREC:1:hop=1")
    page.get_by_role("button", name="Start a new run with these settings").click()
    lab.wait("window.__lab.config().options.qos === 2", what="the preset's run")
    open_panel(lab)
    fill(lab, points="2", seeds="1", messages="500")
    run_and_wait(lab, rows=6)
    assert not lab.problems
