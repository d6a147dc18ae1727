"""The protocol presets in real Chromium against the real server: the model picker starts a run
of a preset, whose page draws its Broker lane, writes each packet's protocol name beside it,
offers the preset's own options, and shows its protocol state; a lost PUBREC under QoS 2 shows
the resend and a single delivery."""

from __future__ import annotations

import pytest
import test_browser_timeline as shared
from test_browser_timeline import Lab

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
lab = shared.lab

PRESETS = ["mqtt", "amqp", "kafka"]  # each preset of simulator/protocols with a broker


def pick(lab: Lab, name: str) -> dict:
    """Choose the preset ``name`` in the model picker; wait for its run's manifest."""
    lab.page.select_option("#protocol-select", name)
    lab.wait(f"window.__lab.manifest().protocol === '{name}' && window.__lab.epoch !== null",
             what=f"the {name} run")
    return lab.lab("window.__lab.manifest()")


@pytest.mark.parametrize("name", PRESETS)
def test_a_preset_draws_its_broker_lane_and_packet_names(lab, name, artifacts):
    manifest = pick(lab, name)
    page = lab.page
    lab.speed("5")
    if not lab.lab("window.__lab.playing"):
        lab.play()
    lanes = [lane["id"] for lane in manifest["lanes"]]
    assert "broker" in lanes
    lab.wait("window.__lab.renderer().lanes.includes('broker')", what="the broker lane")
    assert "Broker" in page.locator("#timeline").get_attribute("aria-label")
    # each packet put on the wire is drawn with its protocol name
    kinds = set(manifest["packet_kinds"])
    lab.wait("window.__lab.drawn().filter(d => d.label).length >= 6", what="labelled packets")
    labels = {d["label"] for d in lab.lab("window.__lab.drawn()") if d.get("label")}
    assert labels and labels <= kinds
    assert len(labels) >= 2
    # the legend is the preset's marks; the protocol panel says each party's state
    legend = page.eval_on_selector_all("#legend-list li", "els => els.map(e => e.textContent)")
    assert any(any(kind in text for kind in kinds) for text in legend)  # named by the protocol
    lab.wait("!document.getElementById('preset-panel').hidden", what="the protocol panel")
    assert "broker" in page.inner_text("#preset-panel").lower()
    # the classic semantics toggle is not mapped onto a preset: its own options are offered
    assert page.locator("#semantics-group").is_hidden()
    for option in manifest["options"]:
        assert page.locator(f"[id='set-options.{option['name']}']").count() == 1
    assert page.locator("#preset-honest").is_visible()
    lab.shot(artifacts, f"preset-{name}")
    assert not lab.problems


def test_a_lost_pubrec_under_qos_2_shows_the_resend_and_one_delivery(lab, artifacts):
    pick(lab, "mqtt")
    page = lab.page
    page.locator("[id='set-options.qos']").fill("2")
    page.locator("[id='set-options.hop1_loss']").fill("0")
    page.locator("[id='set-options.hop2_loss']").fill("0")
    page.get_by_label("Messages (new run)").fill("1")
    page.locator("#advanced-summary").click()  # the scheduled faults are an advanced setting
    faults = page.locator("#set-faults")
    faults.fill("drop:PUBREC:1:hop=1")
    before = lab.lab("window.__lab.epoch")
    page.get_by_role("button", name="Start a new run with these settings").click()
    lab.wait(f"window.__lab.epoch !== {before}", what="the new run")
    assert lab.lab("window.__lab.config().options.qos") == 2
    lab.speed("10")
    if not lab.lab("window.__lab.playing"):
        lab.play()
    lab.wait("window.__lab.done", timeout=30, what="the run's end")
    lost = lab.lab("window.__lab.events('drop')")
    assert [(ev["kind"], ev["from"], ev["to"]) for ev in lost
            if ev["reason"] != "disconnected"] == [("PUBREC", "broker", "publisher")]
    publishes = [ev for ev in lab.lab("window.__lab.events('publish')") if ev["hop"] == 1]
    assert [ev["dup"] for ev in publishes] == [False, True]  # the resend, DUP=1
    assert len(lab.lab("window.__lab.events('app_receive')")) == 1  # one delivery
    assert lab.lab("window.__lab.summary()")["once"] == 1
    # the whole run on screen: the lost PUBREC, the resend (a DUP=1 PUBLISH, its own mark) and
    # the delivery, each drawn, the packets named
    page.locator("#zoom-out").click()
    page.locator("#zoom-out").click()
    resend = next(ev for ev in publishes if ev["dup"])
    pubrec = next(ev for ev in lost if ev["kind"] == "PUBREC")
    delivery = lab.lab("window.__lab.events('app_receive')")[0]
    lab.wait(f"[{resend['seq']}, {pubrec['seq']}, {delivery['seq']}].every("
             "s => window.__lab.drawn().some(d => d.seq === s))", what="the story on screen")
    drawn = {d["seq"]: d for d in lab.lab("window.__lab.drawn()")}
    assert drawn[resend["seq"]]["key"] == "publish_dup"
    assert drawn[resend["seq"]]["label"] == "PUBLISH"
    assert drawn[pubrec["seq"]]["key"] == "drop"
    sent = next(ev for ev in lab.lab("window.__lab.events('pubrec')") if ev["node"] == "broker")
    assert drawn[sent["seq"]]["label"] == "PUBREC"
    lab.shot(artifacts, "preset-mqtt-lost-pubrec")
    assert not lab.problems


@pytest.mark.parametrize(("lesson", "option", "value"), [
    ("mqtt-qos", "qos", "2"), ("amqp-acks", "auto_ack", False)])
def test_a_preset_lessons_task_is_met_on_the_page(browser, live_server, lesson, option, value,
                                                   artifacts):
    """The last step of each preset lesson: its run plays on the preset (its Broker lane), only
    the option the task is about is open, and changing it meets the task."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_server}/lessons/{lesson}/your-turn")
    lab = Lab(page, problems)
    lab.wait("window.__lab && window.__lab.epoch !== null && window.__lab.manifest().protocol"
             f" === '{lesson.split('-')[0]}'", what="the preset's run")
    page.select_option("#speed", "50")
    lab.wait("!document.getElementById('task').hidden", timeout=30, what="the step played")
    box = page.locator(f"[id='set-options.{option}']")
    others = [o["name"] for o in lab.lab("window.__lab.manifest()")["options"]
              if o["name"] != option]
    assert box.is_enabled()
    assert all(page.locator(f"[id='set-options.{o}']").is_disabled() for o in others)
    if isinstance(value, bool):
        box.set_checked(value)
    else:
        box.fill(value)
    before = lab.lab("window.__lab.epoch")
    page.click("#task-start")
    lab.wait(f"window.__lab.epoch !== {before}", what="the new run")
    assert lab.lab(f"window.__lab.config().options.{option}") == (
        value if isinstance(value, bool) else int(value))
    if not lab.lab("window.__lab.playing") and not lab.lab("window.__lab.done"):
        lab.play()
    lab.wait("/Task met/.test(document.getElementById('task-status').textContent)", timeout=30,
             what="the task met")
    lab.shot(artifacts, f"lesson-{lesson}-task")
    assert not problems
    context.close()
