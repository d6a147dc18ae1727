"""Share and export a run, in real Chromium against the real server: a link reopens the very run
(live changes and all) at the event shown; a tampered link is refused with a clear message and
the page opens on the defaults; an exported trace opens again as the same timeline, read-only,
a preset's too."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest
import test_browser_timeline as shared
from test_browser_timeline import Lab, open_lab

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
lab = shared.lab


def played(lab: Lab, seq: int) -> None:
    lab.speed("10")
    if not lab.lab("window.__lab.playing"):
        lab.play()
    lab.wait(f"window.__lab.lastSeq >= {seq}", timeout=30, what=f"event {seq}")
    lab.page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing", what="paused")


def share_link(lab: Lab) -> str:
    page = lab.page
    if not page.locator("#share-tools").evaluate("d => d.open"):
        page.locator("#share-tools > summary").click()
    page.locator("#share-run").click()
    lab.wait("!document.getElementById('share-link').hidden", what="the link")
    return page.locator("#share-link").input_value()


def test_a_link_reopens_the_very_run_at_the_event_shown(browser, live_server, lab, artifacts):
    page = lab.page
    played(lab, 25)
    page.get_by_role("radio", name="Exactly-once").check()  # a live change, in the link too
    lab.wait("window.__lab.config().semantics === 'exactly-once'", what="the change")
    played(lab, lab.lab("window.__lab.lastSeq") + 20)
    url = share_link(lab)
    query = parse_qs(urlparse(url).query)
    at = int(query["at"][0])
    assert query["run"][0].startswith("v1.") and at == lab.lab("window.__lab.lastSeq")
    theirs = lab.lab("window.__lab.events()")
    assert f"event {at}" in page.inner_text("#share-status")

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    other = context.new_page()
    problems: list[str] = []
    other.on("pageerror", lambda e: problems.append(str(e)))
    other.goto(url)
    again = Lab(other, problems)
    again.wait(f"window.__lab.lastSeq === {at} && window.__lab.firstSeq === 1",
               what="the shared run at its event")
    assert again.lab("window.__lab.events()") == [e for e in theirs if e["seq"] <= at]
    assert again.lab("window.__lab.config().semantics") == "exactly-once"
    assert urlparse(other.url).query == ""  # the address is cleaned once opened
    other.screenshot(path=str(artifacts / "browser-share-opened.png"))
    assert not problems
    context.close()


def test_a_tampered_link_is_refused_clearly_and_the_page_opens_on_the_defaults(browser,
                                                                               live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(live_server + "/?run=v1.jTAMPERED_not_a_run&at=3")
    tampered = Lab(page, [])
    tampered.wait("window.__lab && window.__lab.epoch !== null", what="the page")
    tampered.wait("/could not be opened/.test(document.getElementById('notice').textContent)",
                  what="the refusal")
    assert "run" in page.inner_text("#notice")
    assert tampered.lab("window.__lab.config().seed") == 7  # the defaults
    assert tampered.lab("window.__lab.lastSeq") == 0
    context.close()


@pytest.mark.parametrize("protocol", ["classic", "mqtt"])
def test_an_exported_trace_opens_again_as_the_same_timeline(browser, live_server, protocol,
                                                             tmp_path, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  accept_downloads=True)
    lab = open_lab(context, live_server)
    page = lab.page
    if protocol != "classic":
        page.select_option("#protocol-select", protocol)
        lab.wait(f"window.__lab.manifest().protocol === '{protocol}'", what=protocol)
    played(lab, 40)
    page.locator("#share-tools > summary").click()
    with page.expect_download() as got:
        page.locator("#export-trace").click()
    path = tmp_path / got.value.suggested_filename
    got.value.save_as(path)
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["trace"] == "delivery-lab" and header["protocol"] == protocol
    exported = [json.loads(line) for line in lines[1:]]
    live = lab.lab("window.__lab.events()")
    assert exported == live and exported[0]["seq"] == 1

    # opened in a fresh page of the plain model: read with the trace's own protocol's shape
    fresh = open_lab(context, live_server)
    fresh.page.locator("#advanced-summary").click()
    fresh.page.set_input_files("#trace-file", str(path))
    fresh.wait("window.__lab.mode === 'trace'", what="the trace replayed")
    assert fresh.lab("window.__lab.events()") == live
    assert fresh.lab("window.__lab.manifest().protocol") == protocol
    lanes = [lane["id"] for lane in fresh.lab("window.__lab.manifest()")["lanes"]]
    assert fresh.lab("window.__lab.renderer().lanes") == lanes
    fresh.page.screenshot(path=str(artifacts / f"browser-trace-reopened-{protocol}.png"))
    # a comparison is of the live run: not offered over a trace shown read-only
    fresh.page.locator("#compare-tools > summary").click()
    fresh.page.locator("#compare-open").click()
    fresh.wait("/live run/.test(document.getElementById('compare-status').textContent)",
               what="the comparison refused over a trace")
    assert not fresh.lab("window.__compare.open")
    # a tampered header is refused, naming the line and the field
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**header, "v": 9}) + "\n" + "\n".join(lines[1:]) + "\n")
    fresh.page.get_by_role("button", name="Back to the live run").click()
    fresh.wait("window.__lab.mode === 'live'", what="live again")
    fresh.page.set_input_files("#trace-file", str(bad))
    fresh.wait("document.getElementById('trace-error').textContent.length > 0",
               what="the refusal")
    error = fresh.page.inner_text("#trace-error")
    assert "line 1" in error and '"v"' in error
    context.close()
