"""Lessons as content: every shipped lesson validates, every claim it makes holds in the
simulator, every task is solvable and not met at the start; a bad file is named precisely and
left out while the others are served; no raw HTML from a lesson reaches a page."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import run_server

from server.lessons import LESSONS, LessonError, check, load, load_all, parse, render

SHIPPED, ERRORS = load_all(LESSONS)


def test_every_shipped_lesson_loads():
    assert not ERRORS, [str(e) for e in ERRORS]
    assert {"timeout", "at-least-once"} <= {lesson.id for lesson in SHIPPED}


@pytest.mark.parametrize("lesson", SHIPPED, ids=lambda lesson: lesson.id)
def test_every_claim_and_task_of_a_lesson_holds_against_the_simulator(lesson):
    assert check(lesson) == []


@pytest.mark.parametrize("lesson", SHIPPED, ids=lambda lesson: lesson.id)
def test_every_lesson_asks_a_prediction_and_gives_a_task(lesson):
    assert any(step.predict for step in lesson.steps)
    assert any(step.task for step in lesson.steps)
    assert all(step.expect for step in lesson.steps), "every step declares what it claims"


def example() -> dict:
    return yaml.safe_load((LESSONS / "03-at-least-once.yaml").read_text())


def test_a_false_claim_or_an_unsolvable_task_is_caught():
    data = example()
    data["steps"][1]["expect"].append({"no_event": {"type": "timeout", "msg": 2}})
    data["steps"][2]["task"]["solution"] = {"semantics": "at-least-once"}
    data["steps"][3]["task"]["success"] = "retries > 0"
    data["steps"][1]["highlight"]["packets"] = [99]
    failures = check(parse(data, "edited.yaml"))
    assert any("a-lost-ack: highlight.packets: [99] not in the run" in f for f in failures)
    assert any("a-lost-ack: expect[3]: no_event" in f and "happens" in f for f in failures)
    assert any("paid-twice: task: the solution does not meet" in f for f in failures)
    assert any("retry-storm: task: already met without changing anything" in f
               for f in failures)


@pytest.mark.parametrize("edit, where, says", [
    (lambda d: d["steps"][1].__setitem__("until", {"type": "nonsense"}),
     "edited.yaml: step 2 (a-lost-ack): until.type", "event type"),
    (lambda d: d["steps"][0]["start"]["settings"].__setitem__("loss", 2),
     "edited.yaml: step 1 (a-lost-message): start.settings.loss", "at most 1"),
    (lambda d: d["steps"][0]["start"]["settings"].__setitem__("faults", ["crash:relay@5"]),
     "edited.yaml: step 1 (a-lost-message): start.settings.faults[0]", "node must be"),
    (lambda d: d["steps"][1]["predict"]["choices"][0].__setitem__("correct", True),
     "edited.yaml: step 2 (a-lost-ack): predict: choices", "exactly one"),
    (lambda d: d["steps"][2]["task"].__setitem__("success", "balance == __import__"),
     "edited.yaml: step 3 (paid-twice): task: success", "no counter"),
    (lambda d: d["steps"][2]["task"].__setitem__("success", "balance = 3"),
     "edited.yaml: step 3 (paid-twice): task: success", "COUNTER OP VALUE"),
    (lambda d: d["steps"][0].__setitem__("narrate", "typo"),
     "edited.yaml: step 1 (a-lost-message): narrate", "unknown field"),
    (lambda d: d.__setitem__("minutes", 0), "edited.yaml: minutes", "from 1 to 60"),
    (lambda d: d["steps"][2].__setitem__("hide", ["semantics"]),
     "edited.yaml: step 3 (paid-twice): hide", "'semantics' is also left open"),
    (lambda d: d["steps"][2]["task"].__setitem__("solution", {"loss": 0}),
     "edited.yaml: step 3 (paid-twice): task: solution", "changes 'loss', which the step"),
    (lambda d: d["steps"][2].__setitem__("hide", ["warp_drive"]),
     "edited.yaml: step 3 (paid-twice): hide", "no control 'warp_drive'"),
    (lambda d: d["steps"][1]["highlight"].__setitem__("panels", ["buffer"]),
     "edited.yaml: step 2 (a-lost-ack): highlight.panels", "no panel 'buffer'; use reorder"),
    (lambda d: d["steps"][1]["highlight"].__setitem__("lanes", ["broker"]),
     "edited.yaml: step 2 (a-lost-ack): highlight.lanes", "no lane 'broker'"),
    (lambda d: d["steps"][0].__setitem__("start", "continue"),
     "edited.yaml: step 1 (a-lost-message): start", "first step starts a run"),
    (lambda d: d["steps"][3]["expect"].append({"counter": "lost == 0"}),
     "edited.yaml: step 4 (retry-storm): expect[2]", "unknown claim"),
])
def test_a_bad_lesson_is_refused_naming_file_step_and_field(edit, where, says):
    data = example()
    edit(data)
    with pytest.raises(LessonError) as err:
        parse(data, "edited.yaml")
    assert err.value.where == where
    assert says in err.value.message


def test_one_bad_file_is_left_out_and_the_others_load(tmp_path: Path):
    for lesson in LESSONS.glob("0[13]-*.yaml"):
        shutil.copy(lesson, tmp_path / lesson.name)
    (tmp_path / "02-broken.yaml").write_text("id: broken\ntitle: [unclosed\n")
    bad = example()
    bad["id"] = "bad-step"
    bad["prerequisites"] = []
    bad["steps"][1]["until"] = {"typ": "retry"}
    (tmp_path / "04-bad-step.yaml").write_text(yaml.safe_dump(bad))
    lessons, errors = load_all(tmp_path)
    assert [lesson.id for lesson in lessons] == ["timeout", "at-least-once"]
    messages = sorted(str(e) for e in errors)
    assert messages[0].startswith("02-broken.yaml: is not readable YAML")
    assert messages[1].startswith("04-bad-step.yaml: step 2 (a-lost-ack): until.typ: unknown")


def test_lesson_text_never_carries_raw_html_or_script_links():
    html = render("Hi <script>alert(1)</script> <b onclick=x>b</b> [x](javascript:alert(1)) "
                  "[ok](https://example.org) `<i>`")
    # raw HTML stays text (escaped), the only elements are Markdown's own
    assert set(re.findall(r"<([a-z0-9]+)", html)) == {"p", "a", "code"}
    assert "&lt;script&gt;" in html and "<script" not in html
    assert 'href="javascript' not in html
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html
    assert "<code>&lt;i&gt;</code>" in html


def test_a_lesson_as_the_page_reads_it_hides_the_solutions():
    page = load(LESSONS / "03-at-least-once.yaml").to_page()
    text = json.dumps(page)
    assert "solution" not in text and "35000" not in text
    step = page["steps"][1]
    assert step["predict"]["choices"][1]["correct"] is True
    assert step["narration_html"].startswith("<p>")


@pytest.mark.live
def test_the_server_serves_the_lessons_that_load_and_starts_despite_a_bad_one(tmp_path: Path):
    shutil.copy(LESSONS / "01-timeout.yaml", tmp_path / "01-timeout.yaml")
    (tmp_path / "02-bad.yaml").write_text("id: bad\ntitle: Bad\ngoal: g\nminutes: 3\n"
                                          "steps:\n  - id: one\n    title: One\n"
                                          "    narration: n\n    until: {t: 5}\n")
    with run_server("eventlet", {"LESSONS_DIR": str(tmp_path)}) as url:
        with urllib.request.urlopen(url + "/lessons.json") as r:
            index = json.load(r)["lessons"]
        assert [lesson["id"] for lesson in index] == ["timeout"]
        with urllib.request.urlopen(url + "/lessons/timeout.json") as r:
            lesson = json.load(r)["lesson"]
        assert lesson["steps"][0]["id"] == "an-answer"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(url + "/lessons/bad.json")
        assert err.value.code == 404
    log = next(iter(sorted(Path(__file__).resolve().parent.parent.glob(
        "test-artifacts/server-eventlet-*.log"), key=lambda p: p.stat().st_mtime, reverse=True)))
    assert "lesson left out: 02-bad.yaml: step 1 (one): start: the first step starts a run" \
        in log.read_text()


def test_the_example_in_the_docs_is_a_lesson_whose_claims_hold():
    text = (LESSONS.parent / "docs" / "lessons.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    assert check(parse(yaml.safe_load(block), "example.yaml")) == []
