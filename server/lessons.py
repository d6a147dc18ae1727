"""Lessons as content: load, validate, render and check the files under ``lessons/``.

A lesson is a YAML file holding Markdown text (docs/lessons.md): an id, a title, a goal, its
minutes, its prerequisites and its steps. A step starts a run (settings, seed, scripted faults)
or continues the previous one, plays it until an event or a time, says what to look at, and may
ask the learner to predict what happens, or give a task whose success the page checks live on
the run's counters. Every claim a step's words make is declared beside them as an expectation
(an event that happens, one that does not, a counter's value), and ``check`` holds each one, and
each task, against the simulator: a lesson cannot teach what the model does not do.

Nothing here is written for one lesson: one loader, one checker, one step runner (the page's).
A file that fails validation is reported naming file, step and field; the others still load.
Markdown is rendered by markdown-it-py and sanitised by nh3: no raw HTML from a lesson reaches
the page.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nh3
import yaml
from markdown_it import MarkdownIt

from simulator import Config, ConfigError, Simulation, protocols
from simulator.compare import columns_of
from simulator.until import Until, parse_until

ROOT = Path(__file__).resolve().parent.parent
LESSONS = ROOT / "lessons"
ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
MAX_FILE = 64 * 1024
MAX_STEPS = 30
MAX_RUN_EVENTS = 200_000
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
TAGS = {"p", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "a", "br", "h3",
        "h4"}

# A condition on the counters: ``name OP value`` (value a number or another counter), joined by
# ``and``. e.g. ``balance == expected_balance and lost == 0``. Never evaluated as Python.
_TERM = re.compile(r"^\s*([a-z_]+)\s*(==|!=|<=|>=|<|>)\s*([a-z_]+|-?[0-9]+)\s*$")
_OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b}
CONTROLS = ("play", "step", "step_back", "crash")  # besides the settings


@dataclass(frozen=True)
class Shape:
    """What a lesson's steps may name in a run of one protocol: its lanes, panels, counters,
    event types and its own options (as controls ``options.NAME``)."""

    protocol: str
    lanes: tuple[str, ...]
    panels: tuple[str, ...]
    counters: frozenset
    event_types: tuple[str, ...]
    options: tuple[str, ...]


@functools.cache
def shape(protocol: str = "classic") -> Shape:
    proto = protocols.get(protocol)
    manifest = proto.manifest()
    counters = frozenset(Simulation(Config(messages=1), protocol).summary())
    if protocol == "classic":  # counters only a state-machine run reports
        counters |= {"final_state", "parked", "applied", "rejected", "rejected_duplicates",
                     "rejected_impossible", "effects_lost"}
    return Shape(proto.name, tuple(lane["id"] for lane in manifest["lanes"]),
                 tuple(m["panel"] for m in manifest.get("mechanisms", ())), counters,
                 tuple(proto.event_types), tuple(f"options.{f.name}" for f in proto.options))


COUNTERS = shape().counters  # the classic model's, for conditions that name no protocol


class LessonError(ValueError):
    """A lesson file is wrong: ``where`` names file, step and field."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Condition:
    text: str
    terms: tuple[tuple[str, str, str], ...]

    def holds(self, summary: dict) -> bool:
        for name, op, value in self.terms:
            left = summary.get(name, 0)
            right = int(value) if _number(value) else summary.get(value, 0)
            if not _OPS[op](left, right):
                return False
        return True


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    narration: str  # Markdown
    start: dict | None  # {"settings": {...}} or None: continue the previous step's run
    until: dict
    highlight: dict
    expect: tuple[dict, ...]
    predict: dict | None
    task: dict | None
    controls: tuple[str, ...]  # the controls the step leaves open (the others are locked)
    hide: tuple[str, ...] = ()  # controls the step hides altogether (not about this step)
    # the step's run side by side under other rules: {"columns": [...], "title": str}
    compare: dict | None = None


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    goal: str
    minutes: int
    prerequisites: tuple[str, ...]
    steps: tuple[Step, ...]
    file: str = ""
    order: int = 0

    def index_entry(self) -> dict:
        return {"id": self.id, "title": self.title, "goal": self.goal, "minutes": self.minutes,
                "prerequisites": list(self.prerequisites), "steps": len(self.steps)}

    def to_page(self) -> dict:
        """The lesson as the page reads it: text rendered to sanitised HTML."""
        return {**self.index_entry(), "goal_html": render(self.goal),
                "steps": [_step_page(s) for s in self.steps]}


def render(markdown: str) -> str:
    """Markdown to HTML that is safe to insert: no raw HTML, no scripts, links made inert."""
    html = _MD.render(markdown)
    return nh3.clean(html, tags=TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"https"}, link_rel="noopener noreferrer nofollow")


def _step_page(step: Step) -> dict:
    out: dict[str, Any] = {"id": step.id, "title": step.title,
                           "narration_html": render(step.narration),
                           "start": step.start, "until": step.until,
                           "highlight": step.highlight, "controls": list(step.controls),
                           "hide": list(step.hide)}
    if step.compare:
        out["compare"] = step.compare
    if step.predict:
        out["predict"] = {
            "question_html": render(step.predict["question"]),
            "choices": [{"html": render(c["text"]), "correct": c["correct"],
                         "why_html": render(c["why"])} for c in step.predict["choices"]]}
    if step.task:
        out["task"] = {"prompt_html": render(step.task["prompt"]),
                       "success": step.task["success"],
                       "met_html": render(step.task["met"])}
    return out


# --- loading -------------------------------------------------------------------------------
def load_all(folder: Path = LESSONS) -> tuple[list[Lesson], list[LessonError]]:
    """Every lesson file of ``folder`` (``*.yaml``, in name order): those that validate, and an
    error for each that does not."""
    lessons, errors = [], []
    seen: dict[str, str] = {}
    for i, path in enumerate(sorted(folder.glob("*.yaml"))):
        try:
            lesson = load(path, order=i)
            if lesson.id in seen:
                raise LessonError(f"{path.name}: id", f"{lesson.id!r} is also the id of "
                                                      f"{seen[lesson.id]}")
            seen[lesson.id] = path.name
            lessons.append(lesson)
        except LessonError as exc:
            errors.append(exc)
    known = {lesson.id for lesson in lessons}
    for lesson in list(lessons):
        missing = [p for p in lesson.prerequisites if p not in known]
        if missing:
            errors.append(LessonError(f"{lesson.file}: prerequisites",
                                      f"no lesson {', '.join(map(repr, missing))}"))
            lessons.remove(lesson)
    return lessons, errors


def load(path: Path, order: int = 0) -> Lesson:
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LessonError(name, f"cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_FILE:
        raise LessonError(name, f"is larger than {MAX_FILE} bytes")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise LessonError(name, f"is not readable YAML ({exc})".replace("\n", " ")) from None
    return parse(data, name, order)


def parse(data: Any, name: str, order: int = 0) -> Lesson:
    if not isinstance(data, dict):
        raise LessonError(name, "must hold a mapping: id, title, goal, minutes, steps")
    _only(data, name, ("id", "title", "goal", "minutes", "prerequisites", "steps"))
    lid = _text(data, name, "id", pattern=ID)
    title = _text(data, name, "title", limit=120)
    goal = _text(data, name, "goal", limit=400)
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 60:
        raise LessonError(f"{name}: minutes", "must be a whole number from 1 to 60")
    prereq = data.get("prerequisites", [])
    if not isinstance(prereq, list) or not all(isinstance(p, str) and ID.match(p)
                                               for p in prereq):
        raise LessonError(f"{name}: prerequisites", "must be a list of lesson ids")
    steps = data.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise LessonError(f"{name}: steps", f"must be a list of 1 to {MAX_STEPS} steps")
    parsed = []
    ids = set()
    protocol = "classic"
    settings: dict = {}
    for i, step in enumerate(steps):
        s = _step(step, f"{name}: step {i + 1}", first=i == 0, protocol=protocol,
                  settings=settings)
        if s.start is not None:
            protocol = s.start.get("protocol", "classic")
            settings = s.start["settings"]
        if s.id in ids:
            raise LessonError(f"{name}: step {i + 1}: id", f"{s.id!r} is used twice")
        ids.add(s.id)
        parsed.append(s)
    return Lesson(lid, title, goal, minutes, tuple(prereq), tuple(parsed), name, order)


def _step(data: Any, where: str, first: bool, protocol: str = "classic",
          settings: dict | None = None) -> Step:
    """One step; ``protocol`` and ``settings`` are those of the run it continues."""
    if not isinstance(data, dict):
        raise LessonError(where, "must be a mapping")
    sid = _text(data, where, "id", pattern=ID)
    where = f"{where} ({sid})"
    _only(data, where, ("id", "title", "narration", "start", "until", "highlight", "expect",
                        "predict", "task", "controls", "hide", "compare"))
    title = _text(data, where, "title", limit=120)
    narration = _text(data, where, "narration", limit=4000)
    start = data.get("start", "continue")
    if start == "continue":
        if first:
            raise LessonError(f"{where}: start", "the first step starts a run: give settings")
        start = None
    else:
        start = _start(start, f"{where}: start")
        protocol = start.get("protocol", "classic")
        settings = start["settings"]
    run = shape(protocol)
    until = data.get("until")
    try:
        parse_until(until, run.event_types)
    except ConfigError as exc:
        raise LessonError(f"{where}: {exc.field}", exc.message) from None
    highlight = data.get("highlight", {})
    if not isinstance(highlight, dict):
        raise LessonError(f"{where}: highlight", "must be a mapping")
    _only(highlight, f"{where}: highlight", ("messages", "packets", "lanes", "counters",
                                             "panels"))
    for key, value in highlight.items():
        if not isinstance(value, list) or len(value) > 20:
            raise LessonError(f"{where}: highlight.{key}", "must be a list")
    for name in highlight.get("counters", []):
        if name not in run.counters:
            raise LessonError(f"{where}: highlight.counters", f"no counter {name!r}")
    for key, known in (("lanes", run.lanes), ("panels", run.panels)):
        for name in highlight.get(key, []):
            if name not in known:
                raise LessonError(f"{where}: highlight.{key}",
                                  f"no {key[:-1]} {name!r}; use {', '.join(known)}")
    for key in ("messages", "packets"):
        for n in highlight.get(key, []):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise LessonError(f"{where}: highlight.{key}", "must be ids (from 1)")
    expect = data.get("expect", [])
    if not isinstance(expect, list):
        raise LessonError(f"{where}: expect", "must be a list")
    for i, claim in enumerate(expect):
        _claim(claim, f"{where}: expect[{i}]", run)
    predict = data.get("predict")
    if predict is not None:
        _predict(predict, f"{where}: predict")
    task = data.get("task")
    if task is not None:
        _task(task, f"{where}: task", run)
    controls = _controls(data, where, "controls", run)
    hide = _controls(data, where, "hide", run)
    both = sorted(set(controls) & set(hide))
    if both:
        raise LessonError(f"{where}: hide", f"{both[0]!r} is also left open in controls")
    if task is not None:
        changed = [k for k in task["solution"] if k != "options"] + [
            f"options.{k}" for k in task["solution"].get("options", {})]
        locked = sorted(set(changed) - set(controls))
        if locked:
            raise LessonError(f"{where}: task: solution", f"changes {locked[0]!r}, which the "
                                                          "step does not leave open (controls)")
    compare = data.get("compare")
    if compare is not None:
        compare = _compare(compare, f"{where}: compare", settings or {}, protocol)
    return Step(sid, title, narration, start, until, highlight, tuple(expect), predict, task,
                tuple(controls), tuple(hide), compare)


def _compare(data: Any, where: str, settings: dict, protocol: str) -> dict:
    """A step's comparison: its run (the step's, or the one it continues) side by side under
    other rules: ``columns`` as the ``compare`` control takes them, and a ``title``."""
    if not isinstance(data, dict):
        raise LessonError(where, "must be a mapping with columns (and a title)")
    _only(data, where, ("columns", "title"))
    title = _text(data, where, "title", limit=120) if "title" in data else ""
    try:
        columns_of(settings, protocol, data.get("columns"))
    except ConfigError as exc:
        raise LessonError(f"{where}.{exc.field}", exc.message) from None
    return {"columns": data["columns"], "title": title}


def _controls(data: dict, where: str, key: str, run: Shape) -> list[str]:
    from simulator.config import FIELD_BY_NAME

    names = data.get(key, [])
    if not isinstance(names, list) or not all(isinstance(c, str) for c in names):
        raise LessonError(f"{where}: {key}", "must be a list of setting or control names")
    for c in names:
        if c not in FIELD_BY_NAME and c not in CONTROLS and c not in run.options:
            raise LessonError(f"{where}: {key}", f"no control {c!r}")
    return names


def _start(data: Any, where: str) -> dict:
    if not isinstance(data, dict):
        raise LessonError(where, "must be \"continue\" or a mapping of settings")
    _only(data, where, ("settings", "protocol"))
    settings = data.get("settings", {})
    protocol = data.get("protocol", "classic")
    if not isinstance(protocol, str) or protocol not in protocols.names():
        raise LessonError(f"{where}.protocol", f"must be one of {', '.join(protocols.names())}")
    try:
        Simulation(Config.from_dict(settings), protocol)  # the settings, the faults' names too
    except ConfigError as exc:
        raise LessonError(f"{where}.settings.{exc.field}", exc.message) from None
    out = {"settings": settings}
    if protocol != "classic":
        out["protocol"] = protocol
    return out


def _claim(claim: Any, where: str, run: Shape) -> None:
    if not isinstance(claim, dict) or len(claim) != 1:
        raise LessonError(where, "must be one of event, no_event, counters")
    (kind, value), = claim.items()
    if kind in ("event", "no_event"):
        try:
            parse_until(value, run.event_types)
        except ConfigError as exc:
            raise LessonError(f"{where}.{kind}.{exc.field.removeprefix('until.')}",
                              exc.message) from None
    elif kind == "counters":
        condition(value, f"{where}.counters", run.counters)
    else:
        raise LessonError(where, f"unknown claim {kind!r}: use event, no_event, counters")


def _predict(data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise LessonError(where, "must be a mapping: question, choices")
    _only(data, where, ("question", "choices"))
    _text(data, where, "question", limit=600)
    choices = data.get("choices")
    if not isinstance(choices, list) or not 2 <= len(choices) <= 6:
        raise LessonError(f"{where}: choices", "must be a list of 2 to 6 choices")
    for i, choice in enumerate(choices):
        w = f"{where}: choices[{i}]"
        if not isinstance(choice, dict):
            raise LessonError(w, "must be a mapping: text, correct, why")
        _only(choice, w, ("text", "correct", "why"))
        _text(choice, w, "text", limit=300)
        _text(choice, w, "why", limit=800)
        if not isinstance(choice.get("correct", False), bool):
            raise LessonError(f"{w}: correct", "must be true or false")
        choice.setdefault("correct", False)
    if sum(c["correct"] for c in choices) != 1:
        raise LessonError(f"{where}: choices", "exactly one choice must be correct")


def _task(data: Any, where: str, run: Shape) -> None:
    if not isinstance(data, dict):
        raise LessonError(where, "must be a mapping: prompt, success, met, solution")
    _only(data, where, ("prompt", "success", "met", "solution"))
    _text(data, where, "prompt", limit=800)
    _text(data, where, "met", limit=800)
    condition(data.get("success"), f"{where}: success", run.counters)
    solution = data.get("solution")
    if not isinstance(solution, dict) or not solution:
        raise LessonError(f"{where}: solution", "must be a mapping of settings that succeed")


def condition(text: Any, where: str = "condition", counters: frozenset = COUNTERS) -> Condition:
    if not isinstance(text, str) or not text.strip() or len(text) > 300:
        raise LessonError(where, "must be a condition such as \"lost == 0\"")
    terms = []
    for part in text.split(" and "):
        m = _TERM.match(part)
        if not m:
            raise LessonError(where, f"{part.strip()!r} is not COUNTER OP VALUE "
                                     "(OP one of == != < <= > >=)")
        for name in (m.group(1), m.group(3)):
            if not _number(name) and name not in counters:
                raise LessonError(where, f"no counter {name!r}")
        terms.append(m.groups())
    return Condition(text, tuple(terms))


def _number(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _only(data: dict, where: str, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            raise LessonError(f"{where}: {key}", f"unknown field; use {', '.join(allowed)}")


def _text(data: dict, where: str, key: str, limit: int = 48,
          pattern: re.Pattern | None = None) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise LessonError(f"{where}: {key}", f"must be text of at most {limit} characters")
    if pattern is not None and not pattern.match(value):
        raise LessonError(f"{where}: {key}", "must be lower-case letters, digits and '-'")
    return value


# --- checking against the simulator ------------------------------------------------------------
@dataclass
class StepRun:
    """What the simulator does in one step: its events and the counters where it stops."""

    step: Step
    events: list[dict] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    matched: bool = False


def play(lesson: Lesson) -> list[StepRun]:
    """Play the lesson's steps as the page does: each starts its run or continues the last, and
    plays until its event or time (a run that ends first stops there)."""
    out = []
    sim = None
    for step in lesson.steps:
        if step.start is not None:
            sim = Simulation(Config.from_dict(step.start["settings"]),
                             step.start.get("protocol"))
        until: Until = parse_until(step.until, sim.protocol.event_types)
        events, matched = sim.run_until_event(until, max_events=MAX_RUN_EVENTS)
        out.append(StepRun(step, events, sim.summary(), matched))
    return out


def check(lesson: Lesson) -> list[str]:
    """Every expectation and task of ``lesson`` held against the simulator: the failures."""
    failures = []
    so_far: list[dict] = []  # the events of the step's run up to its stop
    for run in play(lesson):
        so_far = list(run.events) if run.step.start is not None else so_far + run.events
        where = f"{lesson.file}: step {run.step.id}"
        run_shape = shape(_protocol_at(lesson, run.step))
        types, counters = run_shape.event_types, run_shape.counters
        if parse_until(run.step.until, types).matches_events and not run.matched:
            failures.append(f"{where}: until: the run never reaches {run.step.until}")
        for key, field_ in (("messages", "msg"), ("packets", "packet")):
            named = set(run.step.highlight.get(key, []))
            missing = named - {ev[field_] for ev in so_far}
            if missing:
                failures.append(f"{where}: highlight.{key}: {sorted(missing)} not in the run "
                                "by the step's stop")
        for i, claim in enumerate(run.step.expect):
            (kind, value), = claim.items()
            if kind == "counters":
                if not condition(value, counters=counters).holds(run.summary):
                    failures.append(f"{where}: expect[{i}]: {value} does not hold "
                                    f"({_show(condition(value, counters=counters), run.summary)})")
                continue
            pred = parse_until(value, types)
            seen = any(pred.match(ev) for ev in run.events)
            if seen != (kind == "event"):
                failures.append(f"{where}: expect[{i}]: {kind} {value} "
                                f"{'never happens' if kind == 'event' else 'happens'}")
        if run.step.task:
            failures += _check_task(lesson, run, where)
    return failures


def _check_task(lesson: Lesson, run: StepRun, where: str) -> list[str]:
    """A task is judged on a run played to its end: the step's run as it is does not meet its
    success condition, and the same run with the scripted solution's settings does."""
    task = run.step.task
    success = condition(task["success"], counters=shape(_protocol_at(lesson, run.step)).counters)
    start = _settings_at(lesson, run.step)
    protocol = _protocol_at(lesson, run.step)
    out = []
    as_is = Simulation(Config.from_dict(start), protocol)
    as_is.run(max_events=MAX_RUN_EVENTS)
    if success.holds(as_is.summary()):
        out.append(f"{where}: task: already met without changing anything")
    solution = dict(task["solution"])
    if "options" in solution:  # options change one by one, the others as the step set them
        solution["options"] = {**start.get("options", {}), **solution["options"]}
    solved = Simulation(Config.from_dict({**start, **solution}), protocol)
    solved.run(max_events=MAX_RUN_EVENTS)
    if not solved.done:
        out.append(f"{where}: task: the solution's run does not end")
    elif not success.holds(solved.summary()):
        out.append(f"{where}: task: the solution does not meet {task['success']} "
                   f"({_show(success, solved.summary())})")
    return out


def _settings_at(lesson: Lesson, step: Step) -> dict:
    """The settings of the run a step plays (its own, or the last step that started one)."""
    for s in reversed(lesson.steps[:lesson.steps.index(step) + 1]):
        if s.start is not None:
            return dict(s.start["settings"])
    raise AssertionError("the first step starts a run")


def _protocol_at(lesson: Lesson, step: Step) -> str:
    """The protocol of the run a step plays."""
    for s in reversed(lesson.steps[:lesson.steps.index(step) + 1]):
        if s.start is not None:
            return s.start.get("protocol", "classic")
    return "classic"


def _show(cond: Condition, summary: dict) -> str:
    names = {t[0] for t in cond.terms} | {t[2] for t in cond.terms if not _number(t[2])}
    return ", ".join(f"{n} = {summary.get(n, 0)}" for n in sorted(names))
