"""The timeline teaches nothing false, in real Chromium against the real server.

Glyphs are told apart by shape and fill, and by colours that survive colour blindness; the
producer's view shows only what the producer can know, the observer's view marks each timeout by
what it really was; a focused message and a pinned causal chain stay lit while the run plays;
presenter size makes the marks larger and the canvas stays sharp at a fractional pixel ratio; the
run can be read (and copied) as a table from the keyboard.

The renderer reports what it drew in its last frame through `window.__lab.drawn()` (seq, glyph
key, whether the mark is lit or dimmed by a filter, whether its lane is unseen by the producer)
and its settings through `window.__lab.renderer()`.
"""

from __future__ import annotations

import itertools
import math

import pytest
import test_browser_timeline as shared
from test_browser_timeline import open_lab

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
lab = shared.lab

# ---------------------------------------------------------------- colour science

# Machado, Oliveira & Fernandes (2009), "A Physiologically-based Model for Simulation of Color
# Vision Deficiency", severity 1.0 matrices, applied to linear sRGB.
DEUTERANOPIA = ((0.367322, 0.860646, -0.227968),
                (0.280085, 0.672501, 0.047413),
                (-0.011820, 0.042940, 0.968881))
PROTANOPIA = ((0.152286, 1.052583, -0.204868),
              (0.114503, 0.786281, 0.099216),
              (-0.003882, -0.048116, 1.051998))
IDENTITY = ((1, 0, 0), (0, 1, 0), (0, 0, 1))

# The least CIE76 colour difference (delta E*ab) between two glyphs of one shape, for normal vision
# and both simulations. About 2.3 is a just-noticeable difference between large patches side by
# side; glyphs are 14 px marks seen one at a time on a dark canvas, where small-field thresholds
# are several times larger, so "at a glance" needs a wide margin: 20, twice the bare minimum of
# 10 (which would accept two marks that are only just distinguishable when they sit side by side).
MIN_DELTA_E = 20.0
# Non-text contrast (WCAG 1.4.11) of every glyph colour against the timeline background.
MIN_CONTRAST = 3.0


def srgb_to_linear(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def hex_to_linear(color: str) -> tuple[float, float, float]:
    h = color.lstrip("#")
    return tuple(srgb_to_linear(int(h[i:i + 2], 16)) for i in (0, 2, 4))


def simulate(linear, matrix):
    return tuple(min(1.0, max(0.0, sum(m * c for m, c in zip(row, linear, strict=True))))
                 for row in matrix)


def to_lab(linear) -> tuple[float, float, float]:
    r, g, b = linear
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(c1: str, c2: str, matrix) -> float:
    a = to_lab(simulate(hex_to_linear(c1), matrix))
    b = to_lab(simulate(hex_to_linear(c2), matrix))
    return math.dist(a, b)


def contrast(c1: str, c2: str) -> float:
    def lum(c):
        r, g, b = hex_to_linear(c)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    hi, lo = sorted((lum(c1), lum(c2)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_colour_science_matches_known_values():
    """The simulation is the published one: pure red under protanopia keeps almost no red."""
    red = hex_to_linear("#ff0000")
    assert simulate(red, PROTANOPIA)[0] == pytest.approx(0.152286)
    assert simulate(red, DEUTERANOPIA)[1] == pytest.approx(0.280085)
    # sRGB white is L*=100 and grey 50% is L*=53.4; red and green are far apart for normal vision
    # and close under deuteranopia
    assert to_lab(hex_to_linear("#ffffff"))[0] == pytest.approx(100, abs=0.01)
    assert to_lab(hex_to_linear("#808080"))[0] == pytest.approx(53.59, abs=0.05)
    assert delta_e("#d62728", "#2ca02c", IDENTITY) > 60
    assert delta_e("#d62728", "#2ca02c", DEUTERANOPIA) < delta_e("#d62728", "#2ca02c", IDENTITY) / 2


# ---------------------------------------------------------------- the glyph table

# The marks of the manifest the server sent the page (their colours resolved by the page) and, for
# every mark with a figure, the colour the drawing really paints most: each glyph drawn alone at
# radius 24 on the background, the most frequent opaque non-background colour.
GLYPH_TABLE = """async () => {
  const g = await import('/static/js/glyphs.js');
  const { Manifest } = await import('/static/js/manifest.js');
  const manifest = new Manifest(window.__lab.manifest());
  const painted = {};
  const table = {};
  for (const [key, mark] of Object.entries(manifest.marks)) {
    table[key] = { shape: mark.shape, fill: mark.fill, color: mark.color, label: mark.label,
                   colorName: mark.colorName, palette: mark.colorName in g.PALETTE };
    if (!g.isGlyph(mark)) continue;
    const N = 96;
    const c = new OffscreenCanvas(N, N);
    const ctx = c.getContext('2d');
    ctx.fillStyle = g.PALETTE.background;
    ctx.fillRect(0, 0, N, N);
    g.drawGlyph(ctx, mark, N / 2, N / 2, 24);
    const d = ctx.getImageData(0, 0, N, N).data;
    const counts = new Map();
    for (let i = 0; i < d.length; i += 4) {
      const hex = '#' + [d[i], d[i + 1], d[i + 2]]
        .map((v) => v.toString(16).padStart(2, '0')).join('');
      if (hex === g.PALETTE.background) continue;
      counts.set(hex, (counts.get(hex) || 0) + 1);
    }
    painted[key] = [...counts].sort((a, b) => b[1] - a[1])[0][0];
  }
  return { table, painted, background: g.PALETTE.background };
}"""


def read_table(lab) -> dict:
    return lab.page.evaluate(GLYPH_TABLE)


def test_no_two_legend_glyphs_share_shape_and_fill(lab):
    data = read_table(lab)
    table = data["table"]
    assert len(table) >= 25, "the page has the manifest's marks"
    legend = lab.page.eval_on_selector_all("#legend-list li",
                                           "els => els.map(e => e.dataset.glyph)")
    assert legend and set(legend) == set(table), "the legend shows exactly the manifest's marks"
    assert all(row["palette"] for row in table.values()), "marks name colours of the palette"
    by_look: dict[tuple[str, str], list[str]] = {}
    for key, row in table.items():
        assert row["shape"] and row["fill"] and row["label"], key
        by_look.setdefault((row["shape"], row["fill"]), []).append(key)
    twins = {look: keys for look, keys in by_look.items() if len(keys) > 1}
    assert twins == {}, f"legend glyphs with the same shape and fill: {twins}"
    labels = [row["label"] for row in table.values()]
    assert len(set(labels)) == len(labels), "every glyph has its own name"
    # the table is what is drawn: each glyph paints its table colour more than any other
    wrong = {key: (table[key]["color"], got) for key, got in data["painted"].items()
             if got != table[key]["color"].lower()}
    assert wrong == {}, f"glyphs drawn in another colour than their table row says: {wrong}"
    # the glyphs the contract adds are in the table
    for key in ("timeout_explained", "dead_letter", "dedup_record", "false_done",
                "timeout_processed", "timeout_lost", "timeout_late"):
        assert key in table, key


def test_glyphs_of_one_shape_keep_their_colours_apart_for_colour_blind_eyes(lab):
    data = read_table(lab)
    table = data["table"]
    low_contrast = {key: round(contrast(row["color"], data["background"]), 2)
                    for key, row in table.items()
                    if contrast(row["color"], data["background"]) < MIN_CONTRAST}
    assert low_contrast == {}, f"glyph colours under {MIN_CONTRAST}:1 on the background"
    shapes: dict[str, list[str]] = {}
    for key, row in table.items():
        shapes.setdefault(row["shape"], []).append(key)
    pairs = [(a, b) for keys in shapes.values() for a, b in itertools.combinations(keys, 2)]
    assert len(pairs) >= 10, "several shapes come in variants: the check has pairs to check"
    close = []
    for a, b in pairs:
        for name, matrix in (("normal", IDENTITY), ("deuteranopia", DEUTERANOPIA),
                             ("protanopia", PROTANOPIA)):
            de = delta_e(table[a]["color"], table[b]["color"], matrix)
            if de < MIN_DELTA_E:
                close.append(f"{a}/{b} {name} dE={de:.1f}")
    assert close == [], f"same-shape glyphs whose colours are too close: {close}"


# ---------------------------------------------------------------- producer's / observer's view

def start_run(lab, **settings):
    """Fill the settings (by the ids the page gives their inputs) and start a new run with them."""
    for name, value in settings.items():
        box = lab.page.locator(f"#set-{name}")
        box.fill(str(value))
    epoch = lab.lab("window.__lab.epoch")
    lab.page.get_by_role("button", name="Start a new run with these settings").click()
    lab.wait(f"window.__lab.epoch > {epoch} && window.__lab.playing", what="the new run")
    for name, value in settings.items():
        assert lab.lab(f"window.__lab.config().{name}") == value, name


def drawn(lab) -> dict[int, dict]:
    return {m["seq"]: m for m in lab.lab("window.__lab.drawn()")}


def wait_drawn(lab, condition: str, what: str):
    """Wait until the last frame's marks (`marks`, a seq -> mark object) satisfy `condition`."""
    return lab.wait("(() => { const marks = Object.fromEntries(window.__lab.drawn()"
                    f".map(m => [m.seq, m])); return {condition}; }})()", what=what)


def test_the_view_switch_changes_what_a_timeout_shows(lab, artifacts):
    page = lab.page
    # one message, every ack lost: the data is processed, the producer only sees timeouts
    start_run(lab, messages=1, loss=0, ack_loss=1, duplicate=0)
    lab.speed("10")
    lab.wait("window.__lab.events('timeout_explained').length >= 1", what="a timeout explained")
    page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing")
    why = lab.lab("window.__lab.events('timeout_explained')[0]")
    timeout = why["timeout"]
    assert lab.lab(f"window.__lab.events('timeout').some(e => e.seq === {timeout})")
    assert why["verdict"] == "processed", "every ack was lost: the message had been processed"
    lab.lab(f"window.__lab.focus({timeout}, 0.5)")
    page.locator("#timeline").blur()

    # observer's view (the default): the timeout shows its verdict and the explanation is drawn
    group = page.get_by_role("radiogroup", name="Whose knowledge the timeline shows")
    observer = group.get_by_role("radio", name="Observer's view")
    producer = group.get_by_role("radio", name="Producer's view")
    assert observer.is_checked() and not producer.is_checked()
    wait_drawn(lab, f"marks[{timeout}] && marks[{why['seq']}]", "the timeout and its explanation")
    marks = drawn(lab)
    assert marks[timeout]["key"] == "timeout_processed"
    assert marks[why["seq"]]["key"] == "timeout_explained"
    assert not marks[timeout]["unseen"]
    lab.shot(artifacts, "truth-01-observer")

    # producer's view, chosen from the keyboard: every timeout alike, no hindsight, lanes dimmed
    observer.focus()
    page.keyboard.press("ArrowDown")
    assert producer.is_checked()
    lab.wait("window.__lab.renderer().lens === 'producer'", what="the producer's view")
    wait_drawn(lab, f"marks[{timeout}] && marks[{timeout}].key === 'timeout'", "a plain timeout")
    marks = drawn(lab)
    assert why["seq"] not in marks, "the explanation is hidden from the producer"
    assert all(m["key"] not in ("timeout_processed", "timeout_lost", "timeout_late",
                                "timeout_explained") for m in marks.values())
    processed = lab.lab("window.__lab.events('process').map(e => e.seq)")
    assert processed and all(marks[s]["unseen"] for s in processed if s in marks)
    assert any(s in marks for s in processed), "the application's marks are drawn, dimmed"
    sends = lab.lab("window.__lab.events('send').map(e => e.seq)")
    assert all(not marks[s]["unseen"] for s in sends if s in marks)
    assert "Producer's view" in page.locator("#timeline-filter-status").text_content()
    lab.shot(artifacts, "truth-02-producer")

    # the text view follows the view: no hindsight rows for the producer
    page.get_by_role("button", name="Text view", exact=True).click()
    assert page.locator("#textview tr[data-event-type=timeout_explained]").count() == 0
    assert page.locator("#textview tr[data-event-type=timeout]").count() >= 1
    page.keyboard.press("Escape")

    # and back
    observer.check()
    wait_drawn(lab, f"marks[{timeout}] && marks[{timeout}].key === 'timeout_processed'",
               "the verdict again")
    assert lab.problems == []


# A model and a renderer of their own on a detached canvas, fed a hand-made story: an ack that
# records "done" for a message the reorder buffer skipped, and a timeout explained as lost.
FALSE_DONE = """async () => {
  const { RunModel } = await import('/static/js/state.js');
  const { Timeline } = await import('/static/js/timeline.js');
  const canvas = document.createElement('canvas');
  canvas.style.cssText = 'width:600px;height:400px';
  document.body.append(canvas);
  const model = new RunModel(window.__lab.manifest());
  const ev = (seq, t, type, lane, extra = {}) => ({ seq, t, type, lane, msg: 1, packet: null,
    attempt: 1, cause: null, text: type, ...extra });
  model.applySnapshot({ epoch: 1, now: 900, playing: false, done: true, config: { timeout: 400 },
    events: [
      ev(1, 0, 'send', 'producer', { packet: 1, from: 'producer', to: 'consumer', eta: 300 }),
      ev(2, 150, 'drop', 'network', { packet: 1, cause: 1, kind: 'data' }),
      ev(3, 400, 'timeout', 'producer', { cause: 1 }),
      ev(4, 400, 'timeout_explained', 'producer', { cause: 3, timeout: 3, verdict: 'lost',
        detail: 'dropped', observer: true }),
      ev(5, 600, 'ack_send', 'consumer', { packet: 2, from: 'consumer', to: 'producer', eta: 800,
        kind: 'ack' }),
      ev(6, 800, 'ack_deliver', 'producer', { packet: 2, cause: 5, kind: 'ack', to: 'producer',
        false_done: true }),
    ] });
  const t = new Timeline(canvas, model, { reducedMotion: () => true });
  t.layout.scale = 0.3;
  t.layout.top = -50;
  const keys = () => {
    t.draw();
    return Object.fromEntries(t.drawnMarks().map(m => [m.seq, m.key]));
  };
  const observer = keys();
  t.setLens('producer');
  const producer = keys();
  canvas.remove();
  return { observer, producer };
}"""


def test_a_false_done_and_a_lost_timeout_are_observer_knowledge(lab):
    seen = lab.page.evaluate(FALSE_DONE)
    observer, producer = seen["observer"], seen["producer"]
    assert observer["3"] == "timeout_lost" and observer["4"] == "timeout_explained"
    assert observer["6"] == "false_done"
    assert producer["3"] == "timeout" and "4" not in producer
    assert producer["6"] == "ack_deliver", "the producer takes the false done for a real ack"
    assert lab.problems == []


# ---------------------------------------------------------------- focus and pin

def test_a_focused_message_stays_lit_while_the_run_plays(lab, artifacts):
    page = lab.page
    lab.play()
    lab.speed("2")
    lab.wait("window.__lab.events('send').length >= 3", what="three messages sent")
    box = page.get_by_label("Focus message")
    box.fill("3")
    lab.wait("window.__lab.renderer().focusMsg === 3", what="message 3 focused")
    since = lab.lab("window.__lab.lastSeq")
    # play on until marks of message 3 and of other messages arrived after the focus was set
    wait_drawn(lab, f"Object.values(marks).some(m => m.seq > {since} && m.msg === 3)"
               f" && Object.values(marks).some(m => m.seq > {since} && m.msg !== 3)",
               "new marks of message 3 and of others")
    marks = list(drawn(lab).values())
    mine = [m for m in marks if m["msg"] == 3]
    others = [m for m in marks if m["msg"] != 3]
    assert mine and all(m["lit"] for m in mine), "message 3 stays lit"
    assert others and not any(m["lit"] for m in others), "every other message is dimmed"
    assert "message 3" in page.locator("#timeline-filter-status").text_content()
    lab.shot(artifacts, "truth-03-focus")
    # Escape in the field clears the focus: everything is lit again
    box.press("Escape")
    lab.wait("window.__lab.renderer().focusMsg === null", what="focus cleared")
    wait_drawn(lab, "Object.values(marks).length > 0 && Object.values(marks).every(m => m.lit)",
               "every mark lit")
    assert lab.problems == []


def test_a_pinned_chain_stays_lit_and_grows_while_the_run_plays(lab, artifacts):
    page = lab.page
    lab.play()
    lab.speed("2")
    lab.wait("window.__lab.events('send').length >= 2", what="two messages sent")
    # choose the latest send from the keyboard, pin its chain with P
    send = lab.lab("window.__lab.events('send').at(-1)")
    canvas = page.locator("#timeline")
    canvas.focus()
    lab.lab(f"window.__lab.focus({send['seq']})")
    page.keyboard.press("p")
    lab.wait(f"window.__lab.renderer().pinSeq === {send['seq']}", what="the chain pinned")
    assert page.get_by_role("button", name="Pin chain").get_attribute("aria-pressed") == "true"
    # leave the canvas (no hover, no chosen mark): the pin alone keeps the chain lit
    page.get_by_role("button", name="Presenter size").focus()
    msg = send["msg"]
    # the run goes on: the message is delivered (or lost and resent) after the pin, and others
    # are sent meanwhile
    wait_drawn(lab, f"Object.values(marks).some(m => m.seq > {send['seq']} && m.msg === {msg})"
               f" && Object.values(marks).some(m => m.seq > {send['seq']} && m.msg !== {msg})",
               "new marks in and out of the chain")
    chain_seqs = set(lab.lab(
        f"(() => {{ const all = window.__lab.events(); const chain = new Set([{send['seq']}]);"
        " for (const e of all) if (chain.has(e.cause)) chain.add(e.seq); return [...chain]; })()"))
    marks = drawn(lab)
    grown = [s for s in chain_seqs if s > send["seq"] and s in marks]
    assert grown, "events that joined the chain after the pin are drawn"
    assert all(marks[s]["lit"] for s in chain_seqs if s in marks), "the whole chain is lit"
    outside = [m for s, m in marks.items() if s not in chain_seqs]
    assert outside and not any(m["lit"] for m in outside), "the rest is dimmed"
    lab.shot(artifacts, "truth-04-pinned")
    # Escape on the timeline unpins
    canvas.focus()
    page.keyboard.press("Escape")
    lab.wait("window.__lab.renderer().pinSeq === null", what="unpinned")
    assert page.get_by_role("button", name="Pin chain").get_attribute("aria-pressed") == "false"
    assert lab.problems == []


# ---------------------------------------------------------------- presenter size, sharpness

def test_presenter_size_enlarges_the_marks_and_the_canvas_stays_sharp(browser, live_server,
                                                                      artifacts):
    # 1.5 device pixels per CSS pixel: what 150% browser zoom gives
    context = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1.5)
    lab = open_lab(context, live_server)
    page = lab.page
    lab.page.get_by_role("button", name="Step", exact=True).click()
    lab.wait("window.__lab.drawn().length > 0", what="a mark drawn")
    r = lab.lab("window.__lab.renderer()")
    assert r["dpr"] == 1.5
    assert abs(r["pixelWidth"] - r["cssWidth"] * 1.5) <= 1, "one canvas pixel per device pixel"
    assert r["pixelScale"][0] == pytest.approx(r["pixelWidth"] / r["cssWidth"])
    normal = r["glyphR"]
    button = page.get_by_role("button", name="Presenter size")
    assert button.get_attribute("aria-pressed") == "false"
    button.focus()
    page.keyboard.press("Enter")
    lab.wait(f"window.__lab.renderer().glyphR > {normal}", what="larger glyphs")
    big = lab.lab("window.__lab.renderer()")
    assert big["glyphR"] >= normal * 1.4 and big["ui"] >= 1.4
    assert button.get_attribute("aria-pressed") == "true"
    assert abs(big["pixelWidth"] - big["cssWidth"] * 1.5) <= 1
    lab.shot(artifacts, "truth-05-presenter")
    # the choice is kept for the next visit, and can be undone
    page.reload()
    lab.ready()
    lab.wait(f"window.__lab.renderer().glyphR > {normal}", what="presenter size kept")
    page.get_by_role("button", name="Presenter size").click()
    lab.wait(f"window.__lab.renderer().glyphR === {normal}", what="normal size again")
    context.close()
    assert lab.problems == []


# ---------------------------------------------------------------- the text view

def test_the_text_view_opens_from_the_keyboard_and_reads_per_message(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    lab = open_lab(context, live_server)
    page = lab.page
    lab.play()
    lab.speed("10")
    lab.wait("window.__lab.events('process').some(e => e.msg === 1)", what="message 1 processed")
    page.get_by_role("button", name="Pause").click()
    lab.wait("!window.__lab.playing")
    # T on the timeline opens it and moves the focus into it
    page.locator("#timeline").focus()
    page.keyboard.press("t")
    view = page.locator("#textview")
    view.wait_for(state="visible")
    assert lab.lab("document.getElementById('textview').contains(document.activeElement)")
    button = page.get_by_role("button", name="Text view", exact=True)
    assert button.get_attribute("aria-expanded") == "true"
    # Escape closes it and gives the focus back to its button; Enter there opens it again
    page.keyboard.press("Escape")
    view.wait_for(state="hidden")
    assert lab.lab("document.activeElement.id") == "open-textview"
    page.keyboard.press("Enter")
    view.wait_for(state="visible")
    assert lab.lab("document.getElementById('textview').contains(document.activeElement)")

    # a real table: caption, column headers, one row group per message
    table = view.get_by_role("table")
    assert "each message" in table.locator("caption").text_content()
    headers = table.locator("thead th[scope=col]").all_text_contents()
    assert headers == ["Message", "Time", "Where", "What happened", "In plain words"]
    group = table.locator("tbody[data-msg='1']")
    assert group.locator("th[scope=rowgroup]").text_content() == "Message 1"
    send = lab.lab("window.__lab.events('send').find(e => e.msg === 1)")
    done = lab.lab("window.__lab.events('process').find(e => e.msg === 1)")
    send_row = group.locator(f"tr[data-seq='{send['seq']}']")
    cells = send_row.locator("td").all_text_contents()
    when = page.evaluate("async (t) => (await import('/static/js/layout.js')).formatTime(t)",
                         send["t"])
    assert cells[0] == when and cells[1] == "Producer"
    assert cells[2] == "Send" and cells[3] == send["text"]
    done_row = group.locator(f"tr[data-seq='{done['seq']}']")
    assert done_row.get_attribute("data-event-type") == "process"
    assert done_row.locator("td").nth(1).text_content() == "Application"
    seqs = [int(s) for s in group.locator("tr").evaluate_all("rs => rs.map(r => r.dataset.seq)")]
    assert seqs == sorted(seqs) and send["seq"] in seqs and done["seq"] in seqs, "in order"
    # copied as plain text for notes
    view.get_by_role("button", name="Copy as text").click()
    lab.wait("document.getElementById('textview-note').textContent.includes('Copied')",
             what="copied")
    text = page.evaluate("() => navigator.clipboard.readText()")
    assert "Message 1" in text and send["text"] in text and done["text"] in text
    context.close()
    assert lab.problems == []


def test_the_toolbar_is_named_and_reachable_by_tab(lab):
    page = lab.page
    page.get_by_role("radio", name="Observer's view").focus()
    reached = []
    for _ in range(8):
        page.keyboard.press("Tab")
        reached.append(lab.lab("document.activeElement.id || document.activeElement.name"))
    assert "focus-msg" in reached and "presenter-size" in reached and "open-textview" in reached
    assert lab.problems == []
