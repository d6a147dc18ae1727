"""A class in real Chromium against the real server: one presenter and two students, each in a
browser context of their own (as on three devices).

The students join by typing the code and by the join address, follow the presenter's steps
(read-only: their run controls refuse), vote on a question, see the distribution only after the
presenter reveals it, are released to explore a run of their own, and are called back.
"""

from __future__ import annotations

import re
import time

import pytest
import test_browser_timeline as shared
from test_browser_lessons import wait

pytestmark = [pytest.mark.browser, pytest.mark.live]
browser = shared.browser


def text(page, selector: str) -> str:
    return page.locator(selector).inner_text()


def context_page(browser, problems: list[str], **options):
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
    page = context.new_page()
    page.on("pageerror", lambda e: problems.append(str(e)))
    return context, page


def test_a_presenter_and_two_students(browser, live_server):
    problems: list[str] = []
    pc, presenter = context_page(browser, problems)
    presenter.goto(live_server + "/")
    wait(presenter, "window.__lab && window.__lab.epoch != null", what="the explorer")
    presenter.click("#present")
    # The box shows a dashed placeholder until the server has made the room.
    code = wait(presenter, "(() => { const t = document.getElementById('room-code')"
                           ".textContent.trim();"
                           " return /^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(t) && t; })()",
                what="the room's code")
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert presenter.locator("#room-qr").get_attribute("src").endswith("/qr.svg")
    join_url = text(presenter, "#room-join-url").strip()

    # one student types the code (in lower case, as people do), the other opens the address
    ac, alice = context_page(browser, problems)
    alice.goto(live_server + "/join")
    alice.fill("input[name=code]", code.lower())
    alice.keyboard.press("Enter")
    alice.wait_for_url(re.compile(r"/room/[A-Z0-9]{8}$"))
    bc, bob = context_page(browser, problems, viewport={"width": 390, "height": 844},
                           is_mobile=True, has_touch=True)
    bob.goto(join_url)
    for page in (alice, bob):
        wait(page, "window.__lab && window.__lab.epoch != null", what="the room's run")
        assert "Following" in text(page, "#room-badge")
    wait(presenter, "document.getElementById('room-students').textContent.includes('2')",
         what="two students counted")

    # the presenter steps; the students see the same run, and cannot steer it
    for _ in range(6):
        presenter.click("#step")
        time.sleep(0.1)
    seq = wait(presenter, "window.__lab.lastSeq >= 6 && window.__lab.lastSeq")
    for page in (alice, bob):
        wait(page, f"window.__lab.lastSeq === {seq}", what="the presenter's step")
        assert page.evaluate("() => window.__lab.seqs()") == \
            presenter.evaluate("() => window.__lab.seqs()")
        assert page.locator("#step").is_disabled() and page.locator("#play").is_disabled()
    # the pace the presenter sets shows on every student's (locked) speed control
    presenter.select_option("#speed", "5")
    for page in (alice, bob):
        wait(page, "document.getElementById('speed').value === '5'", what="the presenter's pace")
        assert page.locator("#speed").is_disabled()
    presenter.select_option("#speed", "1")

    # predict and vote: the tally is the presenter's until the reveal
    presenter.click("#room-ask")
    presenter.fill("#room-question", "What happens next to message 2?")
    choices = presenter.locator("#room-choices .room-choice")
    choices.nth(0).fill("It arrives once")
    choices.nth(1).fill("It is lost")
    presenter.click("#room-ask-send")
    for page, choice in ((alice, 0), (bob, 1)):
        wait(page, "document.querySelectorAll('input[name=vote]').length === 2",
             what="the question")
        page.locator("input[name=vote]").nth(choice).check()
        page.click("#vote-send")
        wait(page, "document.getElementById('vote-status').textContent.length > 0",
             what="the vote taken")
    wait(presenter, "/2 of 2/.test(document.getElementById('room-tally').textContent)",
         what="both votes in the tally")
    for page in (alice, bob):
        assert not page.locator("#vote-results").is_visible()
    presenter.click("#room-reveal")
    for page in (alice, bob):
        wait(page, "!document.getElementById('vote-results').hidden", what="the results")
        bars = text(page, "#vote-results")
        assert "It arrives once" in bars and "It is lost" in bars

    # release: each explores a run of their own; the presenter's run waits
    presenter.click("#room-release")
    for page in (alice, bob):
        wait(page, "/own run/i.test(document.getElementById('room-badge').textContent)",
             what="exploring")
        wait(page, "!document.getElementById('step').disabled", what="controls unlocked")
    held = presenter.evaluate("() => window.__lab.lastSeq")
    for _ in range(4):
        alice.click("#step")
        time.sleep(0.1)
    mine = wait(alice, f"window.__lab.lastSeq > {held} && window.__lab.lastSeq",
                what="alice's own run moves")
    assert presenter.evaluate("() => window.__lab.lastSeq") == held
    assert bob.evaluate("() => window.__lab.lastSeq") == held  # each fork is one's own
    assert mine > held

    # call back: everyone follows the presenter's run again, read-only
    presenter.click("#room-call-back")
    for page in (alice, bob):
        wait(page, "/Following/.test(document.getElementById('room-badge').textContent)",
             what="following again")
        wait(page, f"window.__lab.lastSeq === {held}", what="the presenter's run again")
        wait(page, "document.getElementById('step').disabled", what="locked again")
    presenter.click("#step")
    after = wait(presenter, f"window.__lab.lastSeq > {held} && window.__lab.lastSeq")
    for page in (alice, bob):
        wait(page, f"window.__lab.lastSeq === {after}", what="following the next step")

    # a lesson for the whole room: the class sees the presenter's step, and its prediction
    # becomes the class's vote, revealed before the step plays
    presenter.goto(live_server + "/lessons/timeout/silence")
    for page in (alice, bob):
        wait(page, "/Silence/.test(document.getElementById('room-step-title').textContent)",
             what="the lesson step")
    presenter.click("#predict-ask")
    for page in (alice, bob):
        wait(page, "document.querySelectorAll('input[name=vote]').length === 3",
             what="the lesson's question")
    alice.locator("input[name=vote]").nth(1).check()
    alice.click("#vote-send")
    wait(presenter, "/1 of/.test(document.getElementById('predict-tally').textContent)",
         what="the vote in the lesson's tally")
    presenter.click("#predict-reveal")
    wait(alice, "!document.getElementById('vote-results').hidden", what="the results")
    assert "your" in text(alice, "#vote-results").lower()
    wait(presenter, "/^Paused/.test(document.getElementById('step-status').textContent)",
         timeout=40, what="the step played after the reveal")
    assert not problems, problems
    for c in (pc, ac, bc):
        c.close()
