"""The page in real Chromium misses more of the stream than the server keeps, and still ends up
holding every event of the run exactly once.

The server keeps only 5 frames and 20 events, so a snapshot could not repair these gaps: the page
must resync with the last event it holds and merge the catch-up; after a reload, the snapshot's
latest events are completed by the run's older history. Another tab of the same run (a
python-socketio client with the page's token) keeps the run playing at 50x throughout.
"""

from __future__ import annotations

import time

import pytest
from conftest import run_server
from live_client import LabClient
from playwright import sync_api

from simulator import Config, Simulation

pytestmark = [pytest.mark.browser, pytest.mark.live]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
KEPT = {"FRAMES_KEPT": "5", "EVENTS_KEPT": "20"}
MESSAGES = 400


@pytest.fixture(scope="module")
def server():
    with run_server("eventlet", extra_env=KEPT) as url:
        yield url


@pytest.fixture
def page(server):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(server + "/")
        wait(page, "window.__lab && window.__lab.epoch !== null", "first snapshot")
        yield page
        assert problems == []
        browser.close()


def lab(page, expr: str):
    return page.evaluate(f"() => {expr}")


def wait(page, expr: str, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not lab(page, expr):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def start_run(page, server) -> tuple[LabClient, int]:
    """Another tab of the page's run starts a long run at 50x; the page follows it."""
    token = lab(page, "sessionStorage.getItem('delivery-lab-token')")
    other = LabClient(server, token=token)
    assert other.session()["resumed"] is True
    other.call("set_speed", {"speed": 50})
    epoch = other.call("start", {"config": {"messages": MESSAGES}})["epoch"]
    wait(page, f"window.__lab.epoch === {epoch} && window.__lab.lastSeq >= 30", "the run playing")
    return other, epoch


def assert_whole_run(page, other: LabClient, epoch: int) -> None:
    reference = Simulation(Config(messages=MESSAGES)).run()
    other.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    wait(page, f"window.__lab.done && window.__lab.lastSeq === {len(reference)}", "the end")
    assert lab(page, "window.__lab.seqs()") == list(range(1, len(reference) + 1))
    assert lab(page, "window.__lab.events()") == reference
    assert lab(page, "window.__lab.gaps") == 0 and lab(page, "window.__lab.repeats") == 0
    assert lab(page, "window.__lab.epoch") == epoch


def test_frames_lost_for_longer_than_the_kept_window_are_caught_up(page, server):
    other, epoch = start_run(page, server)
    lab(page, "window.__lab.loseFrames(700)")
    assert_whole_run(page, other, epoch)
    stats = lab(page, "window.__lab.connection()")
    assert stats["lost"] > 5, "more frames lost than the server keeps"
    assert stats["catchUps"] >= 1
    other.close()


def test_the_last_frames_of_a_run_lost_are_noticed_by_the_heartbeat(page, server):
    """No later frame will ever reveal a gap at the very end of a run: the heartbeat does."""
    other, epoch = start_run(page, server)
    lab(page, "window.__lab.loseFrames(60000)")  # lose everything from here to the end
    other.wait_event("frame", timeout=30, where=lambda f: f["epoch"] == epoch and f["done"])
    time.sleep(0.5)
    lab(page, "window.__lab.loseFrames(0)")  # nothing more comes but heartbeats
    assert not lab(page, "window.__lab.done")
    assert_whole_run(page, other, epoch)
    assert lab(page, "window.__lab.connection().lost") >= 1
    other.close()


def test_a_blip_while_another_tab_plays_on_resumes_with_every_event(page, server):
    other, epoch = start_run(page, server)
    lab(page, "window.__lab.blip()")  # the page is away until it reconnects; the run goes on
    wait(page, "window.__lab.connection().reconnects >= 1", "a reconnect")
    assert_whole_run(page, other, epoch)
    assert lab(page, "window.__lab.connection().catchUps") >= 1
    other.close()


def test_a_reload_into_a_long_run_shows_it_from_its_first_event(page, server):
    other, epoch = start_run(page, server)
    other.call("pause")  # hold the run still so the page's model can be compared exactly
    page.reload()
    wait(page, f"window.__lab && window.__lab.epoch === {epoch}", "the run after the reload")
    wait(page, "window.__lab.firstSeq === 1", "the start of the run fetched")
    held = lab(page, "window.__lab.lastSeq")
    assert held > 20, "the reload's snapshot alone held only the latest 20 events"
    assert lab(page, "window.__lab.connection().histories") == 1
    reference = Simulation(Config(messages=MESSAGES)).run()
    assert lab(page, "window.__lab.seqs()") == list(range(1, held + 1))
    assert lab(page, "window.__lab.events()") == reference[:held]
    other.call("resume")  # the stream goes on from where the snapshot left it
    assert_whole_run(page, other, epoch)
    assert lab(page, "window.__lab.connection().resyncs") == 0, "no gap was seen"
    other.close()


def test_a_failed_history_fetch_is_tried_again_with_backoff(page, server):
    other, epoch = start_run(page, server)
    other.call("pause")
    # the page's first two history requests fail as a server that does not answer would
    page.add_init_script("window.__labFailRequests = {name: 'resync', n: 2}")
    page.reload()
    wait(page, f"window.__lab && window.__lab.epoch === {epoch}", "the run after the reload")
    wait(page, "window.__lab.firstSeq === 1", "the start of the run fetched", timeout=30)
    stats = lab(page, "window.__lab.connection()")
    assert stats["histories"] == 1 and stats["historyRetries"] == 2
    held = lab(page, "window.__lab.lastSeq")
    assert lab(page, "window.__lab.seqs()") == list(range(1, held + 1))
    other.close()


def test_a_snapshot_of_the_epoch_shown_is_merged_and_another_epoch_replaces_it(page):
    events = Simulation(Config()).run()
    assert len(events) >= 80
    outcome = page.evaluate("""async (events) => {
      const { RunModel } = await import("/static/js/state.js");
      const model = new RunModel();
      const snap = (epoch, from, to) => ({ epoch, stream_seq: to, seq: to, now: events[to - 1].t,
        events: events.slice(from - 1, to), config: {}, playing: true, done: false });
      model.applySnapshot(snap(3, 1, 40));
      const merges = model.canMerge(snap(3, 31, 60));  // overlaps what is held
      const added = model.mergeSnapshot(snap(3, 31, 60)).map((e) => e.seq);
      const merged = model.events.map((e) => e.seq);
      const repeats = model.repeats;
      const fromAfar = model.canMerge(snap(3, 70, 80));  // would leave a hole: not merged
      const otherEpoch = model.canMerge(snap(4, 1, 5));
      model.applySnapshot(snap(4, 1, 5));
      return { merges, added, merged, repeats, fromAfar, otherEpoch,
               replaced: model.events.map((e) => e.seq) };
    }""", events)
    assert outcome["merges"] is True
    assert outcome["added"] == list(range(41, 61))
    assert outcome["merged"] == list(range(1, 61)) and outcome["repeats"] == 0
    assert outcome["fromAfar"] is False and outcome["otherEpoch"] is False
    assert outcome["replaced"] == [1, 2, 3, 4, 5]
