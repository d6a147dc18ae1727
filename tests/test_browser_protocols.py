"""The page takes its shape from the protocol's manifest, in real Chromium against the real server.

The server runs the toy relay protocol of ``tests/toy_relay`` (producer, relay, consumer; lanes
producer, network, relay, consumer; data packets only; marks of its own), loaded the way any
protocol is (``PROTOCOL_MODULES``, ``PROTOCOL``). The page was never told about it: its lanes,
legend, node buttons, settings and panels must all follow the manifest of the ``session``
message, and what it draws must be marks of that manifest.
"""

from __future__ import annotations

import pytest
import test_browser_timeline as shared
from conftest import run_server
from test_browser_timeline import Lab

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
RELAY_ENV = {"PROTOCOL_MODULES": "tests.toy_relay", "PROTOCOL": "relay"}


@pytest.fixture(scope="module")
def relay_server():
    with run_server("eventlet", extra_env=RELAY_ENV) as url:
        yield url


@pytest.fixture
def relay(browser, relay_server):
    """A page of the lab on the relay server, ready: its manifest taken, its first snapshot shown
    (the relay has no delivery semantics to choose, so `Lab.ready` would wait in vain)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(relay_server + "/")
    lab = Lab(page, problems)
    lab.wait("Boolean(window.__lab && window.__lab.epoch !== null"
             " && window.__lab.manifest().protocol === 'relay'"
             " && document.querySelector('#set-loss'))", what="the relay's page")
    yield lab
    context.close()


def test_the_page_draws_the_lanes_legend_and_buttons_the_manifest_gives(relay, artifacts):
    lab = relay
    page = lab.page
    manifest = lab.lab("window.__lab.manifest()")
    lanes = [lane["id"] for lane in manifest["lanes"]]
    assert lanes == ["producer", "network", "relay", "consumer"]
    # the lanes, in the manifest's order, named by its labels
    lab.wait(f"window.__lab.renderer().lanes.length === {len(lanes)}", what="the lanes")
    assert lab.lab("window.__lab.renderer().lanes") == lanes
    label = page.locator("#timeline").get_attribute("aria-label")
    assert "Producer, Network, Relay, Consumer" in label

    # the legend is the relay's marks, nothing of the classic protocol's
    keys = page.eval_on_selector_all("#legend-list li", "els => els.map(e => e.dataset.glyph)")
    assert keys == list(manifest["marks"])
    names = page.locator("#legend-list li strong").all_text_contents()
    assert "Forward" in names
    for classic in ("Timeout", "Ack", "Retry", "Discarded by dedup", "Reordering"):
        assert classic not in names, classic

    # one crash and one restart button per node the manifest lets you crash, and no other
    wanted = [f"{action}-{a['node']}" for a in manifest["node_actions"] for action in a["actions"]]
    assert "crash-relay" in wanted
    shown = page.eval_on_selector_all("#node-actions button", "els => els.map(e => e.id)")
    assert shown == wanted
    assert page.get_by_role("button", name="Crash relay").is_enabled()
    assert page.get_by_role("button", name="Restart relay").is_disabled()

    # settings the relay does not read, and the classic protocol's panels, are not offered
    assert page.locator("#semantics-group").is_hidden()
    assert page.locator("#ordering-group").is_hidden()
    assert page.locator("#set-timeout").count() == 0
    assert page.locator("#set-loss").count() == 1
    for panel in ("#ledger-panel", "#reorder-panel", "#dedup-panel", "#machine-panel"):
        assert page.locator(panel).is_hidden(), panel
    # the partial view is the sender's
    assert page.get_by_role("radio", name="Producer's view").count() == 1
    lab.shot(artifacts, "30-relay-manifest")
    assert lab.problems == []


def test_the_relay_runs_and_crashes_with_marks_of_its_own(relay, artifacts):
    lab = relay
    page = lab.page
    marks = set(lab.lab("Object.keys(window.__lab.manifest().marks)"))
    lab.play()
    lab.speed("5")
    lab.wait("window.__lab.events('forward').length >= 2", what="messages forwarded")
    page.get_by_role("button", name="Crash relay").click()
    lab.wait("window.__lab.events('crash').some(e => (e.node || e.lane) === 'relay')",
             what="the relay's crash")
    lab.wait("!document.getElementById('restart-relay').disabled", what="restart enabled")
    assert page.get_by_role("button", name="Crash relay").is_disabled()
    assert page.get_by_role("button", name="Crash consumer").is_enabled()
    page.get_by_role("button", name="Restart relay").click()
    lab.wait("window.__lab.events('restart').some(e => (e.node || e.lane) === 'relay')",
             what="the relay's restart")
    lab.wait("!document.getElementById('crash-relay').disabled", what="crash enabled again")
    page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing", what="paused")
    lab.wait("window.__lab.drawn().length > 0", what="marks drawn")
    drawn = {m["key"] for m in lab.lab("window.__lab.drawn()")}
    assert drawn <= marks, f"marks drawn that the manifest does not have: {drawn - marks}"
    assert "forward" in drawn or lab.lab("window.__lab.events('forward').length") == 0
    lab.shot(artifacts, "31-relay-run")
    assert lab.problems == []
