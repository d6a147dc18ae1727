"""The page teaches nothing false, in real Chromium against the real server.

The per-message ledger counts each network copy once; a trace file is a clear read-only replay
with its own counters (and a malformed one is refused, naming the line and field); a setting
change reads in the page's words; counters say what they count (distinct vs repeats, copies of
data vs acks, what a timeout really was, dead letters, what a rejected transition cost); the
state machine shows its lifecycle; the server's advice sits next to the field it names; the
chosen mechanism's panel is on screen with the choices and the timeline, also on a short screen
and at 150%; the model's simplifications are written down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import test_browser_timeline as shared
from conftest import ROOT
from test_browser_timeline import Lab, open_lab

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
lab = shared.lab


def pause(lab):
    """Stop the run where it is (a run that has just finished stops by itself)."""
    if lab.lab("window.__lab.playing && !document.getElementById('play').disabled"):
        lab.page.locator("#play").click()
    lab.wait("!window.__lab.playing", what="paused")


def open_advanced(lab):
    summary = lab.page.locator("#advanced-summary")
    if lab.lab("!document.querySelector('details.advanced').open"):
        summary.click()
    lab.wait("document.querySelector('details.advanced').open")


def choose(lab, value: str, name: str):
    lab.page.locator(f"#set-{name}").select_option(value)
    lab.wait(f"window.__lab.config().{name} === {json.dumps(value)}", what=f"{name} = {value}")


def counter(lab, key: str) -> str:
    return lab.page.locator(f"#counters dd[data-counter={key}]").text_content()


def counter_label(lab, key: str) -> str:
    return lab.page.locator(f"#counters dd[data-counter={key}]").evaluate(
        "dd => dd.previousElementSibling.textContent")


def wait_counters(lab):
    """The panel shows the summary the model holds (one UI pass after the last frame)."""
    lab.wait("document.querySelector('#counters dd[data-counter=sent]')?.textContent"
             " === String(window.__lab.summary().sent)", what="counters rendered")


def trace_file(tmp_path: Path, *flags: str) -> tuple[Path, list[dict], dict]:
    """A trace as the CLI writes it (`--events --json`): its events and its summary line."""
    out = subprocess.run([sys.executable, "-m", "simulator", "run", "--events", "--json", *flags],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout
    path = tmp_path / "run.jsonl"
    path.write_text(out)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return path, [x for x in lines if "seq" in x], lines[-1]


# --- 1. the ledger ---------------------------------------------------------------------------

def test_the_ledger_counts_each_network_copy_once(lab):
    lab.setting("Data loss", "0", "loss", 0)
    lab.setting("Network duplication", "0.6", "duplicate", 0.6)
    lab.play()
    lab.speed("25")
    # a copy that reached the consumer: the old ledger counted it twice (copy and delivery)
    lab.wait("window.__lab.events('deliver').filter(e => e.duplicate).length >= 4",
             what="delivered network copies")
    pause(lab)
    lab.wait("document.querySelectorAll('#ledger-body tr').length >= 4", what="ledger rows")
    rows = lab.page.eval_on_selector_all(
        "#ledger-body tr",
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[3].textContent])")
    copies = lab.lab("""(() => {
      const n = {};
      for (const e of window.__lab.events('net_duplicate')) {
        if ((e.kind || 'data') === 'data') n[e.msg] = (n[e.msg] || 0) + 1;
      }
      return n;
    })()""")
    delivered = lab.lab("window.__lab.events('deliver').filter(e => e.duplicate).map(e => e.msg)")
    assert any(str(m) in copies for m in delivered), "some copy was delivered"
    checked = 0
    for msg, shown in rows:
        want = copies.get(msg, 0)
        assert (shown or "0") == str(want), \
            f"message {msg}: the ledger says {shown!r}, the network made {want}"
        checked += want > 0
    assert checked >= 2, "rows with network copies were compared"
    assert lab.problems == []


# --- 2. trace files --------------------------------------------------------------------------

RUN_CONTROLS = ["#play", "#step", "#step-back", "#reset", "#seed", "#speed", "#crash-consumer",
                "#start-run", "input[name=semantics]", "input[name=ordering]", "#set-loss"]


def test_a_trace_file_is_a_read_only_replay_with_its_own_counters(lab, tmp_path, artifacts):
    page = lab.page
    path, events, cli = trace_file(tmp_path, "--seed", "3", "--messages", "16", "--duplicate",
                                   "0.3", "--ack-loss", "0.3")
    lab.play()
    lab.speed("5")
    lab.wait("window.__lab.lastSeq >= 10", what="a live run")
    epoch = lab.lab("window.__lab.epoch")
    page.set_input_files("#trace-file", str(path))
    lab.wait("window.__lab.mode === 'trace' && window.__lab.eventCount === " + str(len(events)),
             what="the trace loaded")
    banner = page.locator("#trace-banner")
    assert banner.is_visible()
    assert "Replaying a trace file (read-only)" in banner.text_content()
    back = page.get_by_role("button", name="Back to the live run")
    assert back.is_visible() and back.is_enabled()
    # counters counted from the trace's own events: they agree with the CLI's summary line
    lab.wait(f"document.querySelector('#counters dd[data-counter=sent]')?.textContent"
             f" === '{cli['sent']}'", what="trace counters")
    assert sum(1 for e in events if e["type"] == "send") == cli["sent"]
    for key in ("sent", "processed_unique", "processed", "duplicates", "lost", "transmissions",
                "retries", "timeouts", "dropped", "acks_dropped", "network_duplicates",
                "network_copies_data", "network_copies_ack", "delivered"):
        assert counter(lab, key) == str(cli[key]), key
    assert cli["network_duplicates"] > 0 and cli["duplicates"] > 0, "a trace with repeats"
    assert counter_label(lab, "processed_unique") == "Messages processed (distinct)"
    assert counter_label(lab, "processed") == "Processings (including repeats)"
    assert f"{cli['sent']} sent = {cli['processed_unique']} processed" in \
        page.locator("#accounting").text_content()
    assert f"Account balance {cli['balance']}" in page.locator("#balance").text_content()
    # every control that would change a run is off, and says why
    for sel in RUN_CONTROLS:
        for el in page.locator(sel).all():
            assert el.is_disabled(), f"{sel} is enabled in a trace replay"
            assert "trace" in (el.get_attribute("title") or "").lower(), f"{sel} does not say why"
            assert "trace-why" in (el.get_attribute("aria-describedby") or "")
    assert page.locator("#play").text_content() == "Play", "not 'Finished'"
    assert page.locator("input[name=ordering]:checked").count() == 0, \
        "the live run's settings are not shown as the trace's"
    assert page.locator("#set-loss").input_value() == ""
    assert page.locator("#trace-why").is_visible()
    # keyboard shortcuts change nothing either
    lab.lab("document.activeElement.blur()")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.wait_for_timeout(300)
    assert lab.lab("window.__lab.mode") == "trace"
    assert lab.lab("window.__lab.eventCount") == len(events)
    lab.shot(artifacts, "20-trace-replay")
    # back to the live run: the same run, paused, everything enabled again
    back.click()
    lab.wait("window.__lab.mode === 'live' && window.__lab.epoch === " + json.dumps(epoch),
             what="the live run again")
    assert banner.is_hidden()
    lab.wait("!document.getElementById('play').disabled", what="Play enabled")
    for sel in ("#step", "#reset", "#crash-consumer", "#set-loss", "input[name=semantics]"):
        assert page.locator(sel).first.is_enabled(), sel
    lab.wait("document.querySelector('input[name=semantics]:checked')?.value"
             " === window.__lab.config().semantics", what="the live settings shown again")
    assert page.locator("#set-loss").input_value() == str(lab.lab("window.__lab.config().loss"))
    wait_counters(lab)
    assert lab.problems == []


def test_a_malformed_trace_is_refused_naming_the_line_and_the_field(lab, tmp_path):
    page = lab.page
    _, events, _ = trace_file(tmp_path, "--seed", "3", "--messages", "3")
    bad = [dict(e) for e in events[:6]]
    bad[2]["t"] = "soon"
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in bad) + "\n")
    page.set_input_files("#trace-file", str(path))
    lab.wait("document.getElementById('trace-error').textContent.length > 0", what="the refusal")
    error = page.locator("#trace-error").text_content()
    assert "line 3" in error and '"t"' in error, error
    assert "line 3" in page.locator("#notice").text_content()
    assert lab.lab("window.__lab.mode") == "live"
    assert page.locator("#trace-banner").is_hidden()
    assert page.locator("#play").is_enabled()
    # a hole in the stream is named too: its line and the seq field
    gap = [e for e in events[:6] if e["seq"] != 4]
    path = tmp_path / "gap.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in gap) + "\n")
    page.set_input_files("#trace-file", str(path))
    lab.wait("document.getElementById('trace-error').textContent.includes('line 4')",
             what="the second refusal")
    assert '"seq"' in page.locator("#trace-error").text_content()
    assert lab.lab("window.__lab.mode") == "live"
    assert lab.problems == []


# --- 3. setting changes in the page's words ---------------------------------------------------

def test_a_setting_change_reads_in_the_page_words(lab):
    page = lab.page
    open_advanced(lab)
    option = page.locator("#set-dedup_store option[value=memory]").text_content()
    choose(lab, "memory", "dedup_store")
    lab.setting("Data loss", "0.5", "loss", 0.5)
    entries = "#event-log li[data-event-type=config_change]"
    lab.wait(f"document.querySelectorAll('{entries}').length >= 2",
             what="two setting changes in the log")
    texts = page.locator(f"{entries} .log-text").all_text_contents()
    store = next(t for t in texts if "Dedup store" in t)
    assert f"Dedup store: Durable → {option}" in store, store
    assert "dedup_store" not in store and "durable" not in store
    loss = next(t for t in texts if "Data loss" in t)
    assert "Data loss: 0.2 → 0.5" in loss and "loss 0.2" not in loss
    assert lab.problems == []


# --- 4. counters that explain themselves ---------------------------------------------------------

def test_counters_split_copies_and_timeouts_and_name_distinct_and_repeats(lab):
    lab.setting("Ack loss", "0.4", "ack_loss", 0.4)
    lab.setting("Network duplication", "0.3", "duplicate", 0.3)
    lab.play()
    lab.speed("25")
    lab.wait("(s => s.timeouts >= 4 && s.network_copies_data >= 1 && s.network_copies_ack >= 1"
             " && s.duplicates >= 1)(window.__lab.summary())", timeout=30,
             what="timeouts, copies of both kinds, repeats")
    pause(lab)
    wait_counters(lab)
    s = lab.lab("window.__lab.summary()")
    labels = {k: counter_label(lab, k) for k in (
        "processed_unique", "processed", "network_duplicates", "network_copies_data",
        "network_copies_ack", "timeouts_processed", "timeouts_lost", "timeouts_late",
        "timeouts_unknown")}
    assert labels["processed_unique"] == "Messages processed (distinct)"
    assert labels["processed"] == "Processings (including repeats)"
    assert "data" in labels["network_copies_data"] and "ack" in labels["network_copies_ack"]
    assert "had been processed" in labels["timeouts_processed"]
    assert "lost on the way" in labels["timeouts_lost"]
    assert "still on its way or waiting in the consumer" in labels["timeouts_late"]
    assert "still unknown" in labels["timeouts_unknown"]
    for key in labels:
        assert counter(lab, key) == str(s[key]), key
    assert int(counter(lab, "processed")) > int(counter(lab, "processed_unique"))
    assert int(counter(lab, "network_copies_data")) + int(counter(lab, "network_copies_ack")) \
        == int(counter(lab, "network_duplicates"))
    parts = sum(int(counter(lab, k)) for k in ("timeouts_processed", "timeouts_lost",
                                                "timeouts_late", "timeouts_unknown"))
    assert parts == int(counter(lab, "timeouts"))
    assert lab.problems == []


def test_at_most_once_has_no_given_up(lab):
    lab.page.get_by_role("radio", name="At-most-once").check()
    lab.wait("window.__lab.config().semantics === 'at-most-once'")
    lab.play()
    lab.speed("10")
    lab.wait("window.__lab.summary().dropped >= 1", what="a loss")
    wait_counters(lab)
    row = lab.page.locator("#counters .counter", has=lab.page.locator("dd[data-counter=gave_up]"))
    assert counter(lab, "gave_up") == "n/a"
    assert "not applicable: at-most-once never waits for an answer" in row.text_content()
    assert lab.lab("window.__lab.summary().gave_up") == 0
    # under at-least-once it is a count again
    lab.page.get_by_role("radio", name="At-least-once").check()
    lab.wait("document.querySelector('#counters dd[data-counter=gave_up]')?.textContent"
             " === String(window.__lab.summary().gave_up)", what="a count again")
    assert lab.problems == []


def test_dead_letters_are_counted_and_listed_and_losses_named(lab):
    lab.setting("Data loss", "0", "loss", 0)
    lab.setting("Max retries", "1", "max_retries", 1)
    open_advanced(lab)
    lab.setting("Processing failure", "0.8", "process_fail", 0.8)
    lab.play()
    lab.speed("25")
    lab.wait("(window.__lab.view().producer?.dead_letter || []).length >= 2", timeout=30,
             what="dead letters")
    pause(lab)
    wait_counters(lab)
    dead = lab.lab("window.__lab.view().producer.dead_letter")
    s = lab.lab("window.__lab.summary()")
    assert counter_label(lab, "dead_lettered") == "Dead-lettered"
    assert counter(lab, "dead_lettered") == str(s["dead_lettered"]) == str(len(dead))
    shown = lab.page.locator("#dead-letter-list li").all_text_contents()
    assert shown == [f"message {m}" for m in dead]
    assert lab.page.locator("#dead-letter").is_visible()
    # "recorded done, never processed" sits right under the loss
    lost_row = lab.page.locator("#counters .counter", has=lab.page.locator("dd[data-counter=lost]"))
    nxt = lost_row.evaluate("r => r.nextElementSibling.querySelector('dd').dataset.counter")
    assert nxt == "false_done"
    assert "never processed" in counter_label(lab, "false_done")
    # and the ledger says why a message was never processed
    ledger = lab.page.locator("#ledger-body").text_content()
    assert "never (dead-lettered)" in ledger
    assert lab.problems == []


# --- 5. the state machine ------------------------------------------------------------------------

def test_the_state_machine_panel_draws_the_lifecycle_with_its_orders(lab, artifacts):
    page = lab.page
    page.get_by_role("radio", name="State machine").check()
    lab.wait("window.__lab.config().ordering === 'state-machine'")
    lab.setting("Ack loss", "0.4", "ack_loss", 0.4)
    lab.play()
    lab.speed("25")
    lab.wait("(m => m && Object.keys(m.states || {}).length >= 4 && m.rejected_duplicates >= 1)"
             "(window.__lab.view().machine)", timeout=30, what="orders and a rejected duplicate")
    pause(lab)
    lab.wait("document.querySelectorAll('#machine-diagram g.state').length > 0", what="diagram")
    mc = lab.lab("window.__lab.view().machine")
    lab.wait("(m => [...document.querySelectorAll('#machine-diagram g.state')].every(g =>"
             " g.querySelector('.state-count').textContent.startsWith(String((m.counts ||"
             " {})[g.dataset.state] || 0) + ' ')))(window.__lab.view().machine)",
             what="diagram counts in step")
    mc = lab.lab("window.__lab.view().machine")
    states = page.eval_on_selector_all("#machine-diagram g.state",
                                       "gs => gs.map(g => g.dataset.state)")
    assert states == mc["diagram"]["states"]
    assert page.locator("#machine-diagram line.edge").count() == len(mc["diagram"]["edges"])
    for st in states:
        n = mc["counts"].get(st, 0)
        box = page.locator(f"#machine-diagram g.state[data-state={st}]")
        text = box.locator(".state-count").text_content()
        assert text == f"{n} {'order' if n == 1 else 'orders'}", (st, text)
    assert sum(mc["counts"].values()) == len(mc["states"])
    svg = page.locator("#machine-diagram svg")
    assert svg.get_attribute("role") == "img"
    assert "created → paid" in page.locator("#machine-diagram-title").text_content()
    orders = page.locator("#machine-states li").all_text_contents()
    assert sorted(orders) == sorted(f"{e}: {st}" for e, st in mc["states"].items())
    rejected = page.locator("#machine-rejected").text_content()
    d, i = mc["rejected_duplicates"], mc["rejected_impossible"]
    assert rejected.startswith(f"{mc['rejected']}: {d} duplicate")
    assert f"{i} legitimate transition" in rejected and "(harmless)" in rejected
    # the summary splits them the same way
    wait_counters(lab)
    assert counter(lab, "rejected_duplicates") == str(d)
    assert counter(lab, "rejected_impossible") == str(i)
    page.locator("#machine-panel").screenshot(path=str(artifacts / "browser-21-machine.png"))
    assert lab.problems == []


# --- 6. advice next to the field it names ------------------------------------------------------

def test_advice_sits_next_to_the_field_it_names(lab):
    page = lab.page
    page.get_by_role("radio", name="Sequence numbers").check()
    lab.wait("window.__lab.config().ordering === 'sequence'")
    lab.page.get_by_role("button", name="Step", exact=True).click()
    lab.wait("(window.__lab.view().advice || []).some(a => a.field === 'gap_timeout')",
             what="advice about the gap timeout")
    view = lab.lab("window.__lab.view()")
    horizon = view["horizon"]["retry_ms"]
    advice = page.locator("#set-gap_timeout-advice")
    lab.wait("document.getElementById('set-gap_timeout-advice').textContent.includes('Warning')",
             what="the warning beside the gap timeout")
    text = advice.text_content()
    assert f"retry horizon: {round(horizon)} ms" in text
    warning = next(a for a in view["advice"] if a["field"] == "gap_timeout")
    assert warning["level"] == "warning" and warning["text"] in text
    assert "advice" in page.locator("#set-gap_timeout").get_attribute("aria-describedby")
    # the folded section says a note waits inside
    assert "note" in page.locator("#advanced-summary").text_content()
    open_advanced(lab)
    assert advice.is_visible()
    # a gap timeout past the horizon: the warning goes, the horizon stays
    lab.setting("Gap timeout (ms)", str(int(horizon) + 1000), "gap_timeout", int(horizon) + 1000)
    lab.wait("!document.getElementById('set-gap_timeout-advice').textContent.includes('Warning')",
             what="the warning gone")
    assert "retry horizon" in advice.text_content()
    # at-most-once with a duplicating network: a note beside the delivery semantics
    page.get_by_role("radio", name="At-most-once").check()
    lab.wait("window.__lab.config().semantics === 'at-most-once'")
    note = page.locator("#semantics-advice")
    lab.wait("document.getElementById('semantics-advice').textContent.length > 0", what="the note")
    assert note.is_visible()
    said = note.text_content()
    assert "what the sender does" in said and "twice" in said
    assert page.locator("#semantics-group").evaluate(
        "(g, n) => g.contains(n)", note.element_handle())
    lab.setting("Network duplication", "0", "duplicate", 0)
    lab.wait("document.getElementById('semantics-advice').hidden", what="the note gone")
    assert lab.problems == []


# --- 7. the chosen panel is on screen with the choices and the timeline -------------------------

def inside(page, selector: str) -> bool:
    return page.locator(selector).evaluate("""el => {
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
        && r.bottom <= innerHeight + 0.5 && r.right <= innerWidth + 0.5;
    }""")


@pytest.mark.parametrize("size", [(1280, 720, 1), (853, 480, 1.5)], ids=["1280x720", "150pct"])
def test_the_chosen_panel_is_on_screen_with_the_choices_and_the_timeline(browser, live_server,
                                                                         artifacts, size):
    w, h, scale = size
    context = browser.new_context(viewport={"width": w, "height": h}, device_scale_factor=scale)
    lab = open_lab(context, live_server)
    page = lab.page
    lab.play()
    lab.speed("10")
    lab.wait("window.__lab.lastSeq >= 30", what="some history")
    cases = [("radio", "Sequence numbers", "reorder-panel", "ordering === 'sequence'"),
             ("radio", "Exactly-once", "dedup-panel", "semantics === 'exactly-once'"),
             ("radio", "State machine", "machine-panel", "ordering === 'state-machine'")]
    for role, name, panel, cond in cases:
        # scroll the panel column away first: choosing must bring the panel back
        page.locator("#panels").evaluate("p => { p.scrollTop = p.scrollHeight; }")
        page.get_by_role(role, name=name).check()
        lab.wait(f"window.__lab.config().{cond}", what=name)
        lab.wait(f"document.getElementById('{panel}').classList.contains('is-latest')")
        page.wait_for_timeout(150)
        for sel in ("#semantics-group", "#ordering-group", "#timeline", f"#{panel}"):
            box = page.locator(sel).bounding_box()
            assert inside(page, sel), f"{sel} not on screen at {w}x{h} after choosing {name}: {box}"
        page.screenshot(path=str(artifacts / f"browser-22-chosen-{panel}-{w}x{h}.png"))
    context.close()
    assert lab.problems == []


def test_the_phone_keeps_the_timeline_and_the_balance_together(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(live_server + "/")
    lab = Lab(page, [])
    lab.ready()
    lab.play()
    lab.speed("10")
    lab.wait("window.__lab.summary().processed >= 3", what="some payments")
    page.get_by_role("button", name="Pause").tap()
    lab.wait("!window.__lab.playing")
    lab.wait("document.getElementById('glance').textContent.startsWith("
             "'Balance ' + window.__lab.summary().balance + ' ')", what="the balance shown")
    assert inside(page, "#timeline") and inside(page, "#glance")
    assert str(lab.lab("window.__lab.summary().expected_balance")) in \
        page.locator("#glance").text_content()
    page.screenshot(path=str(artifacts / "browser-23-phone-balance.png"))
    context.close()


# --- 8. what the model simplifies ---------------------------------------------------------------

def test_the_page_says_what_the_model_simplifies(lab):
    page = lab.page
    note = page.locator("details.simplifies")
    note.locator("summary").click()
    lab.wait("document.querySelector('details.simplifies').open")
    text = note.text_content()
    assert note.locator("summary").text_content() == "What this model simplifies"
    for words in ("independently", "no TCP", "One producer, one consumer and one account",
                  "fixed time"):
        assert words in text, words
    assert note.locator("li").first.is_visible()
    assert lab.problems == []
