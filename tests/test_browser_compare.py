"""The comparison in real Chromium against the real server: the explorer's "Compare with..." shows
the run under the three semantics side by side, on the same faults; Play, Step, Step back and a
scroll move every column together; the summary row says what each column's rules did, as its
events show; another model is compared on the faults that name a message, and says so; a lesson
step offers its comparison once it has played."""

from __future__ import annotations

import pytest
import test_browser_timeline as shared
from test_browser_lessons import stands, wait
from test_browser_timeline import Lab, open_lab

pytestmark = [pytest.mark.browser, pytest.mark.live]

browser = shared.browser
lab = shared.lab


def open_comparison(lab: Lab, choice: str, columns: int) -> None:
    page = lab.page
    if not page.locator("#compare-tools").evaluate("d => d.open"):
        page.locator("#compare-tools > summary").click()
    page.locator("#compare-what").select_option(choice)
    page.locator("#compare-open").click()
    lab.wait(f"window.__compare.open && window.__compare.columns().length === {columns}",
             what="the comparison")


def columns(lab: Lab) -> list[dict]:
    return lab.lab("window.__compare.columns()")


def shown_up_to(lab: Lab, t: float) -> list[int]:
    """How many of each column's events happen at or before ``t``."""
    out = []
    for i in range(len(columns(lab))):
        out.append(sum(1 for e in lab.lab(f"window.__compare.events({i})") if e["t"] <= t))
    return out


def test_three_semantics_side_by_side_move_together(lab, artifacts):
    page = lab.page
    open_comparison(lab, "semantics", 3)
    cols = columns(lab)
    assert [c["label"] for c in cols] == ["at-most-once", "at-least-once", "exactly-once"]
    assert "seed 7" in page.inner_text("#compare-shared")

    # the same faults: every column's first sends are lost at the same moments
    def first_drops(i: int) -> list[tuple]:
        evs = lab.lab(f"window.__compare.events({i})")
        sends = {e["packet"]: e for e in evs if e["type"] == "send"}
        return sorted((e["msg"], e["t"]) for e in evs
                      if e["type"] == "drop" and e["packet"] in sends)
    drops = [first_drops(i) for i in range(3)]
    assert drops[0] and drops[0] == drops[1] == drops[2]

    # Step: every column to the next instant anything happens, in any column
    instants = [t for t in lab.lab("window.__compare.instants()") if t > 0]  # (0 is shown)
    for _ in range(6):
        page.locator("#compare-step").click()
    lab.wait(f"window.__compare.t === {instants[5]}", what="six steps")
    assert [c["shown"] for c in columns(lab)] == shown_up_to(lab, instants[5])
    assert {c["now"] for c in columns(lab)} == {instants[5]}
    page.locator("#compare-step-back").click()
    lab.wait(f"window.__compare.t === {instants[4]}", what="a step back")
    lab.wait("window.__compare.columns().every((c) => c.drawn === c.held)", what="redrawn")
    assert [c["shown"] for c in columns(lab)] == shown_up_to(lab, instants[4])

    # Play at 8x to the end: the summary row says what each column's events show
    page.locator("#compare-speed").select_option("8")
    page.locator("#compare-play").click()
    lab.wait("window.__compare.playing", what="playing")
    lab.wait("!window.__compare.playing && window.__compare.t === window.__compare.end",
             timeout=20, what="the end of the comparison")
    cols = columns(lab)
    assert all(c["shown"] == c["total"] and c["now"] == lab.lab("window.__compare.end")
               for c in cols)
    summary = lab.lab("window.__compare.summary()")
    assert len(summary) == 3
    again = [sum(1 for e in lab.lab(f"window.__compare.events({i})")
                 if e["type"] == "process" and e["duplicate"]) for i in range(3)]
    discarded = sum(1 for e in lab.lab("window.__compare.events(2)")
                    if e["type"] == "dedup_discard")
    assert again[1] > 0 and again[2] == 0 and discarded > 0
    assert summary[1].startswith("at-least-once:") and f"{again[1]} duplicate" in summary[1]
    assert "no duplicate processed" in summary[2]
    assert f"{discarded} discarded by dedup" in summary[2]
    assert "more than was paid" in summary[1] and "exactly what was paid" in summary[2]

    # a scroll over one column moves the others, and follow stops in all
    box = page.locator("#compare-columns canvas").nth(1).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -600)
    lab.wait("(() => { const c = window.__compare.columns();"
             " return c.every((x) => !x.follow && x.top === c[1].top && x.scale === c[1].scale)"
             " })()", what="the columns scrolled together")
    lab.shot(artifacts, "compare-semantics")

    # the live run was left alone: closing goes back to it, paused
    page.locator("#compare-close").click()
    lab.wait("!window.__compare.open", what="closed")
    assert not lab.lab("window.__lab.playing")
    assert not lab.problems


def test_another_model_is_compared_on_the_faults_that_name_a_message(browser, live_server):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    lab = open_lab(context, live_server, "/?faults=drop:data:msg=2,drop:ack:3&messages=4")
    page = lab.page
    lab.wait("window.__lab.config().faults.length === 2", what="the run's faults")
    open_comparison(lab, "protocol.amqp", 2)
    assert [c["protocol"] for c in columns(lab)] == ["classic", "amqp"]
    assert "only the faults that name a message" in page.inner_text("#compare-shared")
    assert "Not carried to AMQP: drop:ack:3" in page.inner_text("#compare-notes")
    amqp = lab.lab("window.__compare.events(1)")
    lost = [e for e in amqp if e["type"] == "drop" and e.get("kind") == "basic.deliver"]
    assert lost and lost[0]["msg"] == 2  # message 2's first delivery to the consumer
    page.locator("#compare-step").click()
    lab.wait("window.__compare.t > 0", what="a step")
    assert len({c["now"] for c in columns(lab)}) == 1
    assert not lab.problems
    context.close()


def test_a_lesson_step_shows_its_comparison(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    # the learner's speed for lessons, remembered: the step plays at 50x
    page.add_init_script("localStorage.setItem('delivery-lab.lesson-speed', '50')")
    page.goto(live_server + "/lessons/exactly-once")
    stands(page, "Remember what was processed")
    wait(page, "!document.getElementById('step-compare-box').hidden", what="the offer")
    page.locator("#step-compare").click()
    wait(page, "window.__compare.open && window.__compare.columns().length === 2",
         what="the step's comparison")
    labels = [c["label"] for c in page.evaluate("() => window.__compare.columns()")]
    assert labels == ["at-least-once", "exactly-once"]
    assert "same lost ack" in page.inner_text("#compare-title")
    page.screenshot(path=str(artifacts / "browser-compare-lesson.png"))
    assert not problems
    context.close()
