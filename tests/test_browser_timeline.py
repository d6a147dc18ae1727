"""The timeline page in real Chromium against the real server.

Each test opens a fresh browser context (so a fresh session and run), drives the page the way a
learner does (buttons, radios, inputs, keyboard, clicks on the canvas) and checks both what the
page shows (event-log entries with their `data-event-type`, panels) and the timeline's model
(the read-only `window.__lab` accessor). Fixed seeds, high speeds, short runs. Screenshots of the
key states go to test-artifacts/.
"""

from __future__ import annotations

import time
import urllib.request

import pytest
from playwright import sync_api

pytestmark = [pytest.mark.browser, pytest.mark.live]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_lab(context, url: str, path: str = "/") -> Lab:
    """A new page of the lab in ``context`` (its own viewport, scale, scripts) at ``path`` (a
    query opens a run of those settings), ready: its first snapshot shown. Errors the page
    throws collect in ``lab.problems``."""
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url + path)
    lab = Lab(page, problems)
    lab.ready()
    return lab


class Lab:
    """A page of the lab plus the console problems it reported."""

    def __init__(self, page, problems):
        self.page = page
        self.problems = problems

    def lab(self, expr: str):
        return self.page.evaluate(f"() => {expr}")

    def wait(self, expr: str, timeout: float = 15.0, what: str = ""):
        deadline = time.monotonic() + timeout
        while True:
            value = self.lab(expr)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or expr}")
            time.sleep(0.05)

    def ready(self):
        self.wait("Boolean(window.__lab && window.__lab.epoch !== null"
                  " && document.querySelector('input[name=semantics]'))", what="first snapshot")

    def counts(self) -> dict:
        return self.lab("window.__lab.counts()")

    def log_types(self) -> set[str]:
        return set(self.page.eval_on_selector_all(
            "#event-log li", "items => items.map(li => li.dataset.eventType)"))

    def speed(self, value: str):
        self.page.get_by_label("Speed", exact=True).select_option(value)
        self.wait(f"window.__lab.speed === {float(value)}", what=f"speed {value}")

    def setting(self, label: str, value: str, name: str, expected):
        box = self.page.get_by_label(label, exact=True)
        box.fill(value)
        box.press("Tab")
        self.wait(f"window.__lab.config().{name} === {expected}", what=f"{name} applied")

    def play(self):
        self.page.get_by_role("button", name="Play").click()
        self.wait("window.__lab.playing", what="playing")

    def shot(self, artifacts, name: str):
        self.page.screenshot(path=str(artifacts / f"browser-{name}.png"))


@pytest.fixture
def lab(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_server + "/")
    lab = Lab(page, problems)
    lab.ready()
    yield lab
    context.close()


def test_csp_header_forbids_inline_code(live_server):
    with urllib.request.urlopen(live_server + "/") as r:
        csp = r.headers.get("Content-Security-Policy", "")
        html = r.read().decode()
    assert "script-src" in csp or "default-src" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html


def test_first_run_teaches_at_once_drop_timeout_retry(lab, artifacts):
    page = lab.page
    assert lab.lab("window.__lab.playing") is False, "a new session starts paused"
    hint = page.locator("#stage-hint")
    assert hint.is_visible() and "Play" in hint.text_content(), "an empty timeline says what to do"
    lab.play()
    lab.speed("5")
    lab.wait("(window.__lab.counts().retry || 0) >= 1 && (window.__lab.counts().drop || 0) >= 1",
             what="a drop and a retry")
    first = {t: lab.lab(f"window.__lab.events('{t}')[0].t") for t in ("drop", "timeout", "retry")}
    assert first["drop"] < first["timeout"] <= first["retry"] < 4000, first
    lab.wait("document.querySelector('#event-log li[data-event-type=retry]') !== null")
    assert hint.is_hidden(), "the hint gives way to the run"
    assert {"send", "drop", "timeout", "retry"} <= lab.log_types()
    drop_text = page.locator("#event-log li[data-event-type=drop] .log-text").first.text_content()
    assert "lost" in drop_text.lower()
    assert lab.lab("window.__lab.gaps") == 0 and lab.lab("window.__lab.repeats") == 0
    assert lab.lab("window.__lab.marks()") > 0, "the timeline drew marks"
    lab.shot(artifacts, "01-first-run")
    page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing")
    # hover a drop mark: its details and causal chain appear
    drop = lab.lab("window.__lab.events('drop').at(-1).seq")
    page.locator("#timeline").focus()
    lab.lab(f"window.__lab.focus({drop})")
    lab.wait("!document.getElementById('details').hidden")
    chain = page.locator("#details .details-chain li").all_text_contents()
    assert any("Send" in c or "Retry" in c for c in chain) and any("Drop" in c for c in chain)
    lab.shot(artifacts, "02-drop-details")
    # nothing is redrawn while paused: no CPU when nothing moves
    draws = lab.lab("window.__lab.draws")
    time.sleep(0.6)
    assert lab.lab("window.__lab.draws") == draws
    assert lab.problems == []


def test_at_least_once_with_ack_loss_retries_and_processes_a_duplicate(lab, artifacts):
    lab.setting("Data loss", "0", "loss", 0)
    lab.setting("Network duplication", "0", "duplicate", 0)
    lab.setting("Ack loss", "0.6", "ack_loss", 0.6)
    lab.play()
    lab.speed("25")
    lab.wait("(window.__lab.counts().process_duplicate || 0) >= 1", what="a duplicate processed")
    # with no network copies, the only way to process a message twice is a retry after a lost ack
    counts = lab.counts()
    assert counts.get("retry", 0) >= 1 and counts.get("ack_drop", 0) >= 1
    lab.page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing")
    lab.wait("document.querySelector('#event-log li[data-event-type=retry]') !== null")
    assert lab.lab("window.__lab.events('process').some(e => e.duplicate)")
    assert lab.page.locator("#ledger-body tr.bad").count() >= 1, "the ledger flags it"
    lab.shot(artifacts, "03-at-least-once-duplicate")
    assert lab.problems == []


def test_exactly_once_discards_the_duplicate(lab, artifacts):
    lab.page.get_by_role("radio", name="Exactly-once").check()
    lab.wait("window.__lab.config().semantics === 'exactly-once'")
    lab.setting("Network duplication", "0", "duplicate", 0)
    lab.setting("Ack loss", "0.6", "ack_loss", 0.6)
    lab.play()
    lab.speed("25")
    lab.wait("(window.__lab.counts().dedup_discard || 0) >= 1", what="a discarded duplicate")
    assert lab.counts().get("retry", 0) >= 1, "the duplicate came from a retry"
    lab.page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing")
    lab.wait("document.querySelector('#event-log li[data-event-type=dedup_discard]') !== null"
             " || window.__lab.counts().dedup_discard > 0")
    assert lab.counts().get("process_duplicate", 0) == 0, "nothing processed twice"
    assert int(lab.page.locator("#dedup-discarded").text_content()) >= 1
    lab.shot(artifacts, "04-exactly-once-discard")
    assert lab.problems == []


def test_sequence_numbers_hold_and_release(lab, artifacts):
    page = lab.page
    page.get_by_role("radio", name="Sequence numbers").check()
    lab.wait("window.__lab.config().ordering === 'sequence'")
    # step (ArrowRight, then the Step button) until the buffer holds something
    step = page.get_by_role("button", name="Step", exact=True)
    for _ in range(400):
        if lab.lab("(window.__lab.view().reorder || {held: []}).held.length > 0"):
            break
        before = lab.lab("window.__lab.lastSeq")
        step.click()
        lab.wait(f"window.__lab.lastSeq > {before} || window.__lab.done")
    lab.wait("document.querySelectorAll('#reorder-held li:not(.empty)').length > 0",
             what="held sequence numbers in the panel")
    held = page.locator("#reorder-held li").all_text_contents()
    lab.shot(artifacts, "05-sequence-held")
    panel = page.locator("section.panel", has=page.locator("#reorder-title"))
    panel.screenshot(path=str(artifacts / "browser-05b-reorder-panel.png"))
    lab.play()
    lab.speed("25")
    lab.wait("(window.__lab.counts().release || 0) >= 1 && "
             "document.querySelectorAll('#reorder-released li:not(.empty)').length > 0",
             what="released sequence numbers")
    assert held and all(h.isdigit() for h in held)
    assert "buffer" in lab.counts()
    lab.shot(artifacts, "06-sequence-released")
    assert lab.problems == []


def test_clicking_a_packet_in_flight_drops_it(lab, artifacts):
    page = lab.page
    page.get_by_role("button", name="Step", exact=True).click()
    lab.wait("window.__lab.inFlight().some(p => p.kind === 'data')", what="a packet in flight")
    packet = lab.lab("window.__lab.inFlight().find(p => p.kind === 'data').id")
    point = lab.wait(f"window.__lab.packetPoint({packet})", what="the packet drawn")
    page.mouse.click(point["x"], point["y"])
    menu = page.get_by_role("dialog", name=f"Packet {packet}")
    menu.wait_for(state="visible")
    lab.shot(artifacts, "07-packet-menu")
    menu.get_by_role("button", name="Drop packet").click()
    lab.wait(f"window.__lab.events('drop').some(e => e.packet === {packet})", what="the drop")
    drop = lab.lab(f"window.__lab.events('drop').find(e => e.packet === {packet})")
    assert drop["reason"] == "injected"
    assert lab.counts().get("fault_injected", 0) >= 1
    lab.wait("document.querySelector('#event-log li[data-event-type=fault_injected]') !== null")
    lab.shot(artifacts, "08-packet-dropped")
    assert lab.problems == []


def test_keyboard_only(lab, artifacts):
    page = lab.page
    # Tab from the top of the page reaches the Play button; Space plays and pauses
    for _ in range(6):
        page.keyboard.press("Tab")
        if lab.lab("document.activeElement.id") == "play":
            break
    assert lab.lab("document.activeElement.id") == "play"
    assert lab.lab("document.activeElement.getAttribute('aria-keyshortcuts')") == "Space"
    page.keyboard.press("Space")
    lab.wait("window.__lab.playing")
    page.keyboard.press("Space")
    lab.wait("!window.__lab.playing")
    # ArrowRight steps, ArrowLeft steps back
    seq = lab.lab("window.__lab.lastSeq")
    page.keyboard.press("ArrowRight")
    lab.wait(f"window.__lab.lastSeq > {seq}", what="a step")
    after = lab.lab("window.__lab.lastSeq")
    page.keyboard.press("ArrowLeft")
    lab.wait(f"window.__lab.lastSeq < {after}", what="a step back")
    # radio groups: arrow keys change the rules live
    page.get_by_role("radio", name="At-least-once").focus()
    page.keyboard.press("ArrowDown")
    lab.wait("window.__lab.config().semantics === 'exactly-once'")
    # the timeline: Up/Down browse marks with details
    page.locator("#timeline").focus()
    page.keyboard.press("ArrowDown")
    lab.wait("!document.getElementById('details').hidden")
    names = page.eval_on_selector_all(
        "button, select, input, [tabindex]",
        "els => els.filter(e => !e.closest('[hidden]') && e.type !== 'hidden')"
        ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')"
        " && !e.getAttribute('aria-labelledby') && !e.textContent.trim()).map(e => e.outerHTML)")
    assert names == [], "every control has an accessible name"
    lab.shot(artifacts, "09-keyboard")
    assert lab.problems == []


def test_reload_and_blip_resume_the_same_run(lab, artifacts):
    page = lab.page
    lab.play()
    lab.speed("5")
    lab.wait("window.__lab.lastSeq >= 20", what="some events")
    epoch = lab.lab("window.__lab.epoch")
    page.reload()
    lab.ready()
    assert lab.lab("window.__lab.epoch") == epoch, "same run after reload"
    seen = lab.lab("window.__lab.lastSeq")
    lab.wait(f"window.__lab.lastSeq > {seen + 10}", what="the run going on")
    seqs = lab.lab("window.__lab.seqs()")
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "no gap, no repeat"
    # a network blip: the socket drops and reconnects; the stream continues seamlessly
    before = lab.lab("window.__lab.lastSeq")
    lab.lab("window.__lab.blip()")
    lab.wait(f"window.__lab.connection().reconnects >= 1 && window.__lab.lastSeq > {before + 10}",
             what="reconnect and more events")
    seqs = lab.lab("window.__lab.seqs()")
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert lab.lab("window.__lab.gaps") == 0 and lab.lab("window.__lab.repeats") == 0
    assert lab.lab("window.__lab.epoch") == epoch
    lab.shot(artifacts, "10-after-reload")
    assert lab.problems == []


def test_phone_layout(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2,
                                  reduced_motion="reduce")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(live_server + "/")
    lab = Lab(page, problems)
    lab.ready()
    lab.play()
    lab.speed("10")
    lab.wait("(window.__lab.counts().drop || 0) >= 1")
    width = lab.lab("document.documentElement.scrollWidth")
    assert width <= 390, f"no sideways scrolling on a phone (page is {width}px wide)"
    box = page.locator("#timeline").bounding_box()
    assert box["width"] <= 390 and box["height"] >= 300
    # touch targets: every visible control (a radio through its label) is at least 40 px high
    small = page.evaluate("""() => [...document.querySelectorAll(
        'button, select, input:not([type=radio]), summary, label.radio')]
      .filter((e) => e.getClientRects().length && !e.closest('[hidden]'))
      .map((e) => [e.id || e.textContent.trim().slice(0, 24), e.getBoundingClientRect()])
      .filter(([, r]) => r.height < 40 || r.width < 40).map(([name]) => name)""")
    assert small == [], f"touch targets under 40 px: {small}"
    page.get_by_role("button", name="Pause").tap()
    lab.wait("!window.__lab.playing")
    lab.shot(artifacts, "11-phone")
    context.close()
    assert problems == []
