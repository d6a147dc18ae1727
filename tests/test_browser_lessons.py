"""The lesson page in real Chromium against the real server: a learner takes the lesson
`at-least-once` from the index to its end.

The learner predicts with the keyboard alone, sees every choice explained, moves on with Next
(keyboard), does the task (exactly-once, a new run) and sees it checked; Back and a reload rebuild
the run where the step stands; the lesson's controls are locked but for those a step opens; the
index shows the progress; "Open in the explorer" carries the run. One check at phone width.
Steps are played at 50x (the learner's choice of speed, remembered for the lesson).
"""

from __future__ import annotations

import time

import pytest
import test_browser_timeline as shared

pytestmark = [pytest.mark.browser, pytest.mark.live]

LESSON = "at-least-once"
browser = shared.browser


def wait(page, expr: str, timeout: float = 20.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(f"() => {expr}")
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or expr}")
        time.sleep(0.05)


def stands(page, title: str):
    """Wait until the step titled ``title`` has played to its stop."""
    wait(page, f"document.getElementById('step-title').textContent === {title!r}"
               " && /^Paused|run is over/.test(document.getElementById('step-status').textContent)"
               " && window.__lab && !window.__lab.playing",
         what=f"step {title!r} to stand")


def events(page, type_: str, msg: int | None = None, **where) -> list[dict]:
    evs = page.evaluate(f"() => window.__lab.events({type_!r})")
    return [e for e in evs if (msg is None or e.get("msg") == msg)
            and all(e.get(k) == v for k, v in where.items())]


def tab_to(page, selector: str, limit: int = 40):
    """Press Tab until the element ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)",
                         selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


def disabled(page, selector: str) -> bool:
    return page.evaluate(f"() => document.querySelector({selector!r}).disabled")


def test_a_learner_takes_the_at_least_once_lesson_to_its_end(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))

    # the index: every lesson with its goal and minutes, nothing started yet
    page.goto(live_server + "/lessons")
    card = page.locator(f".lesson-card[data-lesson-id={LESSON}]")
    assert "min" in card.locator(".lesson-meta").text_content()
    assert card.locator(".lesson-goal").text_content().strip()
    assert card.locator("[data-progress]").text_content() == "Not started"
    card.locator("a.lesson-link").click()

    # step 1 plays by itself; the learner speeds it up
    page.wait_for_url(f"**/lessons/{LESSON}")
    wait(page, "window.__lab && window.__lab.epoch !== null", what="the run")
    page.select_option("#speed", "50")
    stands(page, "A lost message is sent again")
    assert page.url.endswith(f"/lessons/{LESSON}/a-lost-message")
    assert events(page, "retry", 1) and events(page, "ack_deliver", 1)
    assert page.evaluate("() => window.__lab.renderer().focusMsg") == 1
    assert page.locator(".counter.is-emphasised dd[data-counter=retries]").count() == 1
    # nothing is open in this step but the speed
    for sel in ("#play", "#step", "#step-back", "#reset", "#seed", "#start-run",
                "#crash-consumer", "input[name=semantics][value=exactly-once]"):
        assert disabled(page, sel), sel
    assert not disabled(page, "#speed")

    # Next, by keyboard: focus moves to the new step's heading
    tab_to(page, "#step-next")
    page.keyboard.press("Enter")
    wait(page, "document.getElementById('step-title').textContent === 'A lost ack'")
    assert focused_id(page) == "step-title"
    assert page.url.endswith("/a-lost-ack")

    # the prediction, by keyboard: the step waits for it (a new run, paused at its start)
    wait(page, "/prediction/.test(document.getElementById('step-status').textContent)")
    assert page.locator("#predict").is_visible() and not page.locator("#reveal").is_visible()
    assert not events(page, "retry", 2)
    tab_to(page, "input[name=prediction]")
    page.keyboard.press("ArrowDown")  # the second choice: process it a second time
    checked = "() => document.querySelector('input[name=prediction]:checked').value"
    assert page.evaluate(checked) == "1"
    tab_to(page, "#predict-go")
    page.keyboard.press("Enter")
    stands(page, "A lost ack")
    assert events(page, "retry", 2) and events(page, "ack_drop", 2)
    # the reveal: the correct choice marked, every choice explained, focus on it
    wait(page, "!document.getElementById('reveal').hidden")
    assert page.text_content("#reveal-title") == "Your prediction was right"
    assert focused_id(page) == "reveal-title"
    items = page.locator(".reveal-list li")
    assert items.count() == 3
    assert all(items.nth(i).locator(".choice-why").text_content().strip() for i in range(3))
    correct = page.locator(".reveal-list li.is-correct")
    assert correct.count() == 1 and "your prediction" in correct.text_content()
    assert "second time" in correct.text_content()
    page.screenshot(path=str(artifacts / "lesson-reveal.png"))

    # step 3 continues the run; its task opens the semantics and a new run
    tab_to(page, "#step-next")
    page.keyboard.press("Enter")
    stands(page, "Paid twice")
    assert events(page, "process", 2, duplicate=True)
    s = page.evaluate("() => window.__lab.summary()")
    assert s["balance"] > s["expected_balance"]
    assert page.locator("#task").is_visible()
    assert page.locator("#task-terms li").count() == 3
    assert not disabled(page, "input[name=semantics][value=exactly-once]")
    assert not disabled(page, "#set-operation") and not disabled(page, "#start-run")
    assert disabled(page, "#play") and disabled(page, "#crash-consumer") and disabled(page, "#seed")
    # the task: exactly-once, then a new run, played to its end and checked
    page.locator("input[name=semantics][value=exactly-once]").check()
    wait(page, "window.__lab.config().semantics === 'exactly-once'")
    page.click("#task-start")
    wait(page, "/Task met/.test(document.getElementById('task-status').textContent)",
         timeout=30, what="the task to be met")
    assert page.locator("#task-met").is_visible()
    s = page.evaluate("() => window.__lab.summary()")
    assert s["balance"] == s["expected_balance"] and s["sent"] == 3
    assert page.evaluate("() => window.__lab.config().faults") == ["drop:ack:msg=2"]
    assert page.get_attribute("#open-explorer", "href").startswith("/?run=v1.")
    page.screenshot(path=str(artifacts / "lesson-task-met.png"))

    # Back rebuilds the run of step 2 exactly: its settings, up to the retry, no further
    page.click("#step-prev")
    stands(page, "A lost ack")
    assert page.url.endswith("/a-lost-ack")
    assert page.evaluate("() => window.__lab.config().semantics") == "at-least-once"
    assert events(page, "retry", 2) and not events(page, "process", 2, duplicate=True)
    assert page.text_content("#reveal-title") == "Your prediction was right"  # remembered
    assert page.locator("input[name=prediction]:checked").get_attribute("value") == "1"
    seq = page.evaluate("() => window.__lab.lastSeq")

    # a reload keeps the place: the same step, the same run, the answer kept
    page.reload()
    stands(page, "A lost ack")
    assert page.evaluate("() => window.__lab.lastSeq") == seq
    assert events(page, "retry", 2) and not events(page, "process", 2, duplicate=True)
    assert not page.locator("#reveal").is_hidden()
    assert page.evaluate("() => document.getElementById('speed').value") == "50"

    # on to the end: the task is remembered; the last step starts a run of its own
    page.click("#step-next")
    stands(page, "Paid twice")
    assert page.locator("#task-met").is_visible()
    page.click("#step-next")
    stands(page, "A retry storm")
    assert page.evaluate("() => window.__lab.now") == pytest.approx(30000, abs=1)
    assert page.evaluate("() => window.__lab.config().process_time") == 3000
    assert not disabled(page, "#set-timeout") and disabled(page, "#set-loss")

    # "Open in the explorer" in the same tab shows this very run; in another tab (no session of
    # its own yet) the link's run specification rebuilds it exactly where it stands
    seq = page.evaluate("() => window.__lab.lastSeq")
    href = page.get_attribute("#open-explorer", "href")
    assert f"at={seq}" in href
    elsewhere = browser.new_context()
    other = elsewhere.new_page()
    other.goto(live_server + href)
    wait(other, f"window.__lab && window.__lab.lastSeq === {seq}", timeout=30,
         what="the run rebuilt in another tab")
    assert other.evaluate("() => window.__lab.config().process_time") == 3000
    assert other.url == live_server + "/"
    elsewhere.close()
    page.click("#open-explorer")
    page.wait_for_url(live_server + "/")
    wait(page, "window.__lab && window.__lab.epoch !== null && window.__lab.lastSeq > 0")
    assert page.evaluate("() => window.__lab.lastSeq") == seq
    assert page.evaluate("() => window.__lab.config().process_time") == 3000
    assert not disabled(page, "#play")  # nothing is locked in the explorer

    # the index shows the lesson done
    page.goto(live_server + "/lessons")
    progress = page.locator(f".lesson-card[data-lesson-id={LESSON}] [data-progress]")
    assert progress.text_content().startswith("Done")
    assert problems == []
    context.close()


def test_the_lesson_page_fits_a_phone(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_server + f"/lessons/{LESSON}/a-lost-ack")
    wait(page, "/prediction/.test(document.getElementById('step-status').textContent)")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    box = {k: page.locator(k).bounding_box() for k in ("#lesson", "#stage", "#step-next")}
    assert box["#lesson"]["width"] <= 390 and box["#lesson"]["y"] < box["#stage"]["y"]
    assert box["#step-next"]["height"] >= 40
    for i in range(3):
        assert page.locator(".predict-choice").nth(i).bounding_box()["height"] >= 40
    page.screenshot(path=str(artifacts / "lesson-phone.png"), full_page=True)
    assert problems == []
    context.close()


def test_a_tasks_condition_is_read_never_run(browser, live_server):
    """The page's reader of success conditions: the server's grammar, counters missing count as
    0, and anything else is refused rather than evaluated."""
    page = browser.new_page()
    page.goto(live_server + "/lessons")
    result = page.evaluate("""async () => {
      const c = await import("/static/js/lessons/condition.js");
      const s = {balance: 30, expected_balance: 30, sent: 3, lost: 0, retries: 4};
      const refused = (text) => {
        try { c.parseCondition(text); return false; } catch { return true; }
      };
      return {
        met: c.holds(c.parseCondition(
          "balance == expected_balance and sent == 3 and lost == 0"), s),
        unmet: c.holds(c.parseCondition("retries < 2"), s),
        missing: c.holds(c.parseCondition("duplicates == 0"), s),
        negative: c.holds(c.parseCondition("lost > -1"), s),
        ops: ["!=", "<=", ">=", ">"].map(
          (op) => c.holds(c.parseCondition(`retries ${op} sent`), s)),
        refused: ["alert(1) == 1", "balance === 1", "balance == 1 or lost == 0",
                  "constructor == 0;", "", "balance == 1.5"].map(refused),
      };
    }""")
    assert result == {"met": True, "unmet": False, "missing": True, "negative": True,
                      "ops": [True, False, True, True], "refused": [True] * 6}
    page.close()


def test_the_lesson_pages_are_served_under_the_policy(live_server):
    import urllib.error
    import urllib.request

    for path in ("/lessons", f"/lessons/{LESSON}", f"/lessons/{LESSON}/paid-twice"):
        with urllib.request.urlopen(live_server + path) as r:
            assert r.status == 200 and "text/html" in r.headers["Content-Type"]
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
            body = r.read().decode()
            assert "<script>" not in body and " style=" not in body
    for path in ("/lessons/no-such-lesson", f"/lessons/{LESSON}/no-such-step"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(live_server + path)
        assert err.value.code == 404


def test_the_explorer_opens_settings_from_its_address(browser, live_server):
    """What "Open in the explorer" carries to a tab without the lesson's session: the settings,
    a new run paused at its start, the address cleaned so a reload does not start it again."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server + "/?semantics=exactly-once&messages=3&faults=drop:ack:msg%3D2")
    wait(page, "window.__lab && window.__lab.config().messages === 3", what="the settings")
    cfg = page.evaluate("() => window.__lab.config()")
    assert cfg["semantics"] == "exactly-once" and cfg["faults"] == ["drop:ack:msg=2"]
    wait(page, "!window.__lab.playing && window.__lab.now === 0", what="paused at the start")
    assert page.url == live_server + "/"
    context.close()


def test_a_step_points_at_its_lanes_and_hides_what_it_is_not_about(browser, live_server):
    """highlight.lanes: a band down each lane the step names, and only while that step stands;
    hide: the controls a step is not about are out of sight during that step only."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.goto(live_server + "/lessons/timeout/an-answer")
    stands(page, "An answer comes back")
    assert page.evaluate("() => window.__lab.renderer().emphasisLanes") == ["producer",
                                                                           "consumer"]
    # the first step hides what it is not about (the ordering choice); the next shows it again
    assert page.locator("#ordering-group").is_hidden()
    assert page.locator("#semantics-group").is_visible()
    page.click("#step-next")
    page.locator("input[name=prediction]").nth(1).check()
    page.click("#predict-go")
    stands(page, "Silence")
    assert page.evaluate("() => window.__lab.renderer().emphasisLanes") == ["producer"]
    assert page.evaluate("() => window.__lab.renderer().emphasisPackets") == [4]
    assert "packet 4" in page.text_content("#step-watch")
    assert page.locator("#ordering-group").is_visible()
    # the band is drawn: below "now", where nothing has happened yet, the pointed lane is
    # lighter than a lane beside it
    def shade(lane: str) -> int:
        return page.evaluate("""(lane) => {
            const r = window.__lab.renderer();
            const c = document.getElementById('timeline');
            const x = Math.round((r.laneX[lane] + r.laneWidth * 0.3) * r.pixelScale[0]);
            const y = c.height - 8;
            const d = c.getContext('2d').getImageData(x, y, 1, 1).data;
            return d[0] + d[1] + d[2];
        }""", lane)

    assert shade("producer") > shade("network") + 6
    assert shade("network") == shade("app")
    page.goto(live_server + "/")
    wait(page, "window.__lab && window.__lab.epoch !== null")
    assert page.evaluate("() => window.__lab.renderer().emphasisLanes") == []
    assert page.evaluate("() => window.__lab.renderer().emphasisPackets") == []
    context.close()
