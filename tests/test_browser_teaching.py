"""What the page teaches and how it behaves, in real Chromium against the real server.

Glyphs differ by shape (not only colour) and every one is in the legend; reordering is
highlighted; the counters say what is lost and what is still in play and explain the balance; a
refused setting is explained next to its field while the run goes on; the consumer can be crashed
and restarted; follow mode gives way to free scrolling and zoom; a packet in flight can be picked
from the keyboard; a hidden tab pauses a solo run and nothing animates while paused; text meets
contrast AA. Fixed seed (the default 7), short runs at high speed.
"""

from __future__ import annotations

import time

import pytest
import test_browser_timeline as shared
from test_browser_timeline import open_lab

from simulator.events import EVENT_TYPES

pytestmark = [pytest.mark.browser, pytest.mark.live]

# the Chromium browser and a fresh lab page, as in the timeline tests
browser = shared.browser
lab = shared.lab

# Every legend glyph drawn alone on the timeline background, its mask (pixels that differ from
# the background) scaled to a 24x24 grid keeping its aspect ratio, then compared pairwise.
GLYPH_MASKS = """async () => {
  const g = await import('/static/js/glyphs.js');
  const { Manifest } = await import('/static/js/manifest.js');
  const manifest = new Manifest(window.__lab.manifest());
  const N = 120, R = 24, S = 24;
  const bg = [0x15, 0x17, 0x1c];
  const out = {};
  for (const entry of manifest.legend()) {
    if (!g.isGlyph(entry.mark)) continue;
    const c = new OffscreenCanvas(N, N);
    const ctx = c.getContext('2d');
    ctx.fillStyle = g.PALETTE.background;
    ctx.fillRect(0, 0, N, N);
    g.drawGlyph(ctx, entry.mark, N / 2, N / 2, R);
    const d = ctx.getImageData(0, 0, N, N).data;
    const on = (x, y) => {
      const i = (y * N + x) * 4;
      return Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 60;
    };
    let x0 = N, y0 = N, x1 = -1, y1 = -1;
    for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) if (on(x, y)) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const side = Math.max(x1 - x0, y1 - y0) + 1;
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    const cells = [];
    for (let j = 0; j < S; j++) for (let i = 0; i < S; i++) {
      let hit = 0;
      for (let v = 0; v < 3; v++) for (let u = 0; u < 3; u++) {
        const x = Math.floor(cx - side / 2 + ((i + (u + 0.5) / 3) * side) / S);
        const y = Math.floor(cy - side / 2 + ((j + (v + 0.5) / 3) * side) / S);
        if (x >= 0 && y >= 0 && x < N && y < N && on(x, y)) hit++;
      }
      cells.push(hit >= 3 ? 1 : 0);
    }
    out[entry.key] = cells;
  }
  return out;
}"""

# Every mark an event of any type can get (its variants too) is a drawn glyph in the legend the
# page shows; and every event type has a mark, except those drawn as a line across the lanes.
LEGEND_COVERAGE = """async (types) => {
  const g = await import('/static/js/glyphs.js');
  const { Manifest } = await import('/static/js/manifest.js');
  const manifest = new Manifest(window.__lab.manifest());
  const legend = new Set([...document.querySelectorAll('#legend-list li')]
    .map((li) => li.dataset.glyph));
  const samples = [];
  for (const type of types) {
    samples.push({ type });
    samples.push({ type, duplicate: true });
    samples.push({ type, false_done: true });
    for (const kind of ['data', 'ack', 'nack']) samples.push({ type, kind });
  }
  const missing = new Set();
  for (const ev of samples) {
    for (const observer of [true, false]) {
      const key = manifest.markOf(ev, observer);
      if (!key && !manifest.meta(ev.type).line) missing.add(`${ev.type}: no mark`);
      if (key && !(g.isGlyph(manifest.marks[key]) && legend.has(key))) missing.add(key);
    }
  }
  return [...missing];
}"""

CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let bg = [15, 17, 21];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('[hidden]') || el.matches(':disabled') || el.tagName === 'OPTION') continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.display === 'none') continue;
    const bg = background(el);
    const fg = parse(cs.color);
    const ratio = ((a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05))(
      lum(fg[3] < 1 ? over(fg, bg) : fg), lum(bg));
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (Number(cs.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) {
      const text = el.textContent.trim().slice(0, 30);
      bad.push(`${el.tagName}.${el.className} "${text}" ${ratio.toFixed(2)}`);
    }
  }
  return bad;
}"""

# A tab the test can hide and show, and a count of animation-frame requests.
VISIBILITY = """(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, 'visibilityState', {
    configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  let calls = 0;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb) => { calls++; return raf(cb); };
  window.__rafCalls = () => calls;
})();"""


def shape_distance(a: list[int], b: list[int]) -> float:
    """1 - intersection over union of two masks: 0 for the same shape, 1 for disjoint ones."""
    inter = sum(1 for x, y in zip(a, b, strict=True) if x and y)
    union = sum(1 for x, y in zip(a, b, strict=True) if x or y)
    return 1 - inter / union if union else 0.0


def pause(lab):
    lab.page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing", what="paused")


def test_every_glyph_has_its_own_shape_and_a_legend_entry(lab):
    masks = lab.page.evaluate(GLYPH_MASKS)
    assert len(masks) >= 25 and all(sum(m) > 4 for m in masks.values()), "every glyph draws"
    close = [(a, b, round(shape_distance(masks[a], masks[b]), 2))
             for i, a in enumerate(masks) for b in list(masks)[i + 1:]
             if shape_distance(masks[a], masks[b]) < 0.15]
    assert close == [], f"glyphs that differ only by colour or size: {close}"
    missing = lab.page.evaluate(LEGEND_COVERAGE, list(EVENT_TYPES))
    assert missing == [], "a glyph missing from the legend"
    legend = lab.page.locator("#legend-list li strong").all_text_contents()
    for name in ("Send", "Retry", "Drop", "Timeout", "Ack", "Lost ack", "Network duplicate",
                 "Duplicate processed", "Discarded by dedup", "Reordering", "Give up", "Crash",
                 "Restart", "Setting changed"):
        assert name in legend


def test_reordering_is_highlighted(lab):
    # the default run: message 1 is lost, resent, and arrives after messages sent later
    lab.play()
    lab.speed("10")
    lab.wait("window.__lab.summary().out_of_order_arrivals >= 1", what="an out-of-order arrival")
    pause(lab)
    late = lab.lab("window.__lab.events('deliver').filter(e => e.out_of_order).length")
    assert late >= 1
    assert lab.lab("window.__lab.crossings") >= late, "each late arrival's arrow is highlighted"
    assert lab.problems == []


def test_counters_say_lost_and_still_in_play_and_explain_the_balance(lab, artifacts):
    page = lab.page
    lab.play()
    lab.speed("5")
    lab.wait("window.__lab.summary().sent >= 6", what="a few messages")
    pause(lab)
    step = page.get_by_role("button", name="Step", exact=True)
    for _ in range(50):
        if lab.lab("window.__lab.summary().in_play") > 0:
            break
        before = lab.lab("window.__lab.lastSeq")
        step.click()
        lab.wait(f"window.__lab.lastSeq > {before}")
    s = lab.lab("window.__lab.summary()")
    assert s["in_play"] > 0
    lab.wait(f"document.querySelector('[data-counter=sent]')?.textContent === '{s['sent']}'",
             what="counters rendered")
    terms = page.locator("#counters dt").all_text_contents()
    assert "Lost" in terms and "Still in play" in terms

    def shown(key):
        return page.locator(f"#counters dd[data-counter={key}]").text_content()

    assert shown("lost") == str(s["lost"]) and shown("in_play") == str(s["in_play"])
    accounting = page.locator("#accounting").text_content()
    assert (f"{s['sent']} sent = {s['processed_unique']} processed + {s['lost']} lost + "
            f"{s['in_play']} still in play") in accounting
    balance = page.locator("#balance").text_content()
    assert f"Account balance {s['balance']}" in balance and str(s["expected_balance"]) in balance
    assert f"{s['in_play']} still in play, not paid yet" in balance
    page.locator("section.panel", has=page.locator("#counters-title")).screenshot(
        path=str(artifacts / "browser-12-counters.png"))
    assert lab.problems == []


def test_a_refused_setting_is_explained_next_to_its_field_and_the_run_goes_on(lab, artifacts):
    page = lab.page
    lab.play()
    loss = page.get_by_label("Data loss", exact=True)
    loss.fill("2")
    loss.press("Tab")
    error = page.locator("#set-loss-error")
    lab.wait("document.getElementById('set-loss-error').textContent.length > 0", what="the error")
    text = error.text_content()
    assert text.startswith("Data loss:") and "at most 1" in text and "you entered 2" in text.lower()
    assert loss.get_attribute("aria-invalid") == "true"
    assert error.get_attribute("id") in loss.get_attribute("aria-describedby")
    assert "Data loss" in page.locator("#notice").text_content()
    latency = page.get_by_label("Latency max (ms)", exact=True)
    latency.fill("100")
    latency.press("Tab")
    lab.wait("document.getElementById('set-latency_max-error').textContent.includes('Latency min')",
             what="latency error naming the other field")
    lab.shot(artifacts, "13-refused-setting")
    # the run carries on with its old settings
    assert lab.lab("window.__lab.config().loss") == 0.2
    assert lab.lab("window.__lab.config().latency_max") == 900
    seq = lab.lab("window.__lab.lastSeq")
    lab.wait(f"window.__lab.playing && window.__lab.lastSeq > {seq}", what="the run going on")
    # a good value clears the error
    lab.setting("Data loss", "0.3", "loss", 0.3)
    lab.wait("document.getElementById('set-loss-error').textContent === ''")
    assert loss.get_attribute("aria-invalid") == "false"
    assert lab.problems == []


def test_crash_and_restart_the_consumer(lab, artifacts):
    page = lab.page
    lab.play()
    lab.speed("2")
    lab.wait("window.__lab.lastSeq >= 8", what="some events")
    page.get_by_role("button", name="Crash consumer").click()
    lab.wait("window.__lab.events('crash').some(e => (e.node || e.lane) === 'consumer')",
             what="the crash")
    restart = page.get_by_role("button", name="Restart consumer")
    lab.wait("!document.getElementById('restart-consumer').disabled", what="restart enabled")
    assert page.get_by_role("button", name="Crash consumer").is_disabled()
    lab.wait("document.querySelector('#event-log li[data-event-type=crash]') !== null")
    entry = page.locator("#event-log li[data-event-type=crash]").first
    assert "crash" in entry.text_content().lower()
    lab.shot(artifacts, "14-consumer-crashed")
    restart.click()
    lab.wait("window.__lab.events('restart').length >= 1", what="the restart")
    lab.wait("!document.getElementById('crash-consumer').disabled", what="crash enabled again")
    crash_t = lab.lab("window.__lab.events('crash')[0].t")
    assert lab.lab("window.__lab.events('restart')[0].t") >= crash_t
    assert lab.problems == []


def test_follow_mode_gives_way_to_free_scroll_and_zoom(lab):
    page = lab.page
    follow = page.get_by_role("button", name="Follow")
    lab.play()
    lab.speed("5")
    lab.wait("window.__lab.lastSeq >= 30", what="some history")
    assert lab.lab("window.__lab.follow") is True and follow.get_attribute("aria-pressed") == "true"
    box = page.locator("#timeline").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -600)
    lab.wait("window.__lab.follow === false", what="free scroll")
    assert follow.get_attribute("aria-pressed") == "false"
    scale = lab.lab("window.__lab.scale")
    page.get_by_role("button", name="Zoom out").click()
    lab.wait(f"window.__lab.scale < {scale}", what="zoomed out")
    page.get_by_role("button", name="Zoom in").click()
    page.get_by_role("button", name="Zoom in").click()
    lab.wait(f"window.__lab.scale > {scale}", what="zoomed in")
    follow.click()
    lab.wait("window.__lab.follow === true", what="following again")
    assert follow.get_attribute("aria-pressed") == "true"
    assert lab.problems == []


def test_keyboard_selects_a_packet_in_flight_and_duplicates_it(lab):
    page = lab.page
    step = page.get_by_role("button", name="Step", exact=True)
    step.click()
    lab.wait("window.__lab.inFlight().some(p => p.kind === 'data')", what="a packet in flight")
    packet = lab.lab("window.__lab.inFlight().find(p => p.kind === 'data').id")
    button = page.locator(f"#inflight button[data-packet='{packet}']")
    button.wait_for(state="visible")
    button.focus()
    page.keyboard.press("Enter")
    page.get_by_role("dialog", name=f"Packet {packet}").wait_for(state="visible")
    assert lab.lab("document.activeElement.dataset.action") == "drop"
    page.keyboard.press("ArrowDown")
    assert lab.lab("document.activeElement.dataset.action") == "duplicate"
    page.keyboard.press("Enter")
    lab.wait("window.__lab.events('fault_injected')"
             f".some(e => e.fault === 'duplicate:packet:{packet}')", what="the duplicate injected")
    lab.wait(f"window.__lab.events('net_duplicate').some(e => e.original === {packet})",
             what="the network copy")
    assert lab.problems == []


def test_a_hidden_tab_pauses_a_solo_run_and_nothing_animates_while_paused(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(VISIBILITY)
    lab = open_lab(context, live_server)
    lab.play()
    lab.speed("5")
    lab.wait("window.__lab.lastSeq >= 5", what="a running run")
    lab.lab("window.__setHidden(true)")
    lab.wait("!window.__lab.playing", what="the server run paused")
    now = lab.lab("window.__lab.now")
    calls = lab.lab("window.__rafCalls()")
    time.sleep(0.8)
    assert lab.lab("window.__lab.now") == now, "simulated time stopped"
    assert lab.lab("window.__rafCalls()") == calls, "no drawing while hidden"
    lab.lab("window.__setHidden(false)")
    lab.wait(f"window.__lab.playing && window.__lab.now > {now}", what="resumed when shown")
    pause(lab)
    time.sleep(0.2)
    calls = lab.lab("window.__rafCalls()")
    time.sleep(0.8)
    assert lab.lab("window.__rafCalls()") == calls, "no animation loop while paused"
    context.close()
    assert lab.problems == []


def test_text_contrast_is_at_least_aa(lab):
    assert lab.page.evaluate(CONTRAST) == [], "text below 4.5:1 on the first screen"
    lab.play()
    lab.speed("10")
    lab.wait("(window.__lab.counts().retry || 0) >= 1"
             " && (window.__lab.counts().ack_drop || 0) >= 1")
    pause(lab)
    loss = lab.page.get_by_label("Data loss", exact=True)
    loss.fill("2")
    loss.press("Tab")
    lab.wait("document.getElementById('set-loss-error').textContent.length > 0")
    assert lab.page.evaluate(CONTRAST) == [], "text below 4.5:1 mid-run"


BALANCE_STORY = """async (s) => {
  const p = await import('/static/js/panels.js');
  return p.balanceStory(s, {});
}"""


def test_the_balance_story_credits_the_state_machine_not_idempotency(lab):
    """Under state-machine ordering only applied transitions pay: duplicates are rejected."""
    from simulator import Config, Simulation

    cfg = dict(semantics="at-least-once", ordering="state-machine", seed=4, messages=12,
               ack_loss=0.4)
    sim = Simulation(Config(**cfg))
    sim.run()
    final = sim.summary()
    assert final["duplicates"] > 0 and final["lost"] == 0
    story = lab.page.evaluate(BALANCE_STORY, final)
    assert "rejected by the state machine: no second payment" in story["text"]
    assert "paid again" not in story["text"] and "idempotent" not in story["text"]
    assert story["bad"] is False

    # Mid-run, a parked transition is processed but not paid yet: not a duplicate payment.
    sim = Simulation(Config(**cfg))
    while sim.summary().get("parked", 0) == 0:
        assert sim.step(), "the run should park a transition"
    mid = sim.summary()
    story = lab.page.evaluate(BALANCE_STORY, mid)
    assert f"{mid['parked']} parked, not paid until their transition applies" in story["text"]
    assert "paid again" not in story["text"]

    # Without the state machine the same faults over-credit the account.
    sim = Simulation(Config(**{**cfg, "ordering": "none"}))
    sim.run()
    story = lab.page.evaluate(BALANCE_STORY, sim.summary())
    assert "paid again for duplicates" in story["text"] and story["bad"] is True
