/**
 * The lesson page: a lesson's steps beside the explorer's own live timeline, controls and panels
 * (main.js builds them; this module only steers them).
 *
 * A step says what to look at (narration), may ask for a prediction first (the choices, then the
 * step plays, then every choice is explained), plays the run to its stop (runner.js), lights the
 * message and counters it names, leaves open only the controls it lists, and may set a task,
 * judged on the counters of a run played to its end (condition.js). The step is in the address
 * (`/lessons/<lesson>/<step>`): Back, a reload or an address opened directly rebuild the run
 * exactly. What the learner did is kept in this browser (progress.js). Lesson text arrives as
 * sanitised HTML (server/lessons.py) and is the only thing inserted as HTML.
 *
 * Presented to a class (a room, static/js/room/presenter.js), the class sees the step the
 * presenter shows (`room_lesson`), and a step's prediction is the class's: the presenter asks
 * it (`room_ask`, the question and choices as plain text, the right choice, the step as its
 * source), watches the votes come in, and "Reveal and play" reveals them and plays the step as a
 * locked-in prediction does. Nothing of this runs without a room.
 */

import { explorerHref, RunText } from "../links.js";
import { lab } from "../main.js";
import { counterLabel } from "../panels.js";
import { parseCondition, judge, holds } from "./condition.js";
import { lessonSpeed, markSeen, progressOf, saveAnswer, saveLessonSpeed, saveTask } from "./progress.js";
import { Cancelled, REBUILD_SPEED, StepRunner } from "./runner.js";
import { presenter, renderTally } from "../room/presenter.js";

const $ = (id) => document.getElementById(id);
const root = $("lesson");
const lessonId = root.dataset.lessonId;
const base = root.dataset.base;
const runner = new StepRunner(lab);
const LOCK_WHY = "lesson-lock-why";
const OP_WORDS = {
  "==": "equal to", "!=": "other than", "<": "below", "<=": "at most", ">": "above", ">=": "at least",
};
let lesson = null;
let index = 0;
let token = 0;
let played = false; // the current step has played to its stop
let awaiting = false; // the current step waits for a prediction (the learner's, or the class's)
let taskTerms = null;

/** Sanitised HTML (from the lesson) as nodes; a lone paragraph is unwrapped for inline places. */
function fragment(html, inline = false) {
  const t = document.createElement("template");
  t.innerHTML = html || "";
  const only = t.content.children.length === 1 ? t.content.firstElementChild : null;
  if (inline && only && only.tagName === "P") return [...only.childNodes];
  return [...t.content.childNodes];
}

function status(text) {
  $("step-status").textContent = text;
}

function stepIdFromPath() {
  const path = decodeURIComponent(location.pathname.replace(/\/+$/, ""));
  if (!path.startsWith(base)) return null;
  const rest = path.slice(base.length).replace(/^\//, "");
  return rest || null;
}

function describeUntil(until) {
  if (!until || typeof until !== "object") return "its stop";
  const parts = [];
  if (until.type) {
    const types = Array.isArray(until.type) ? until.type : [until.type];
    parts.push(types.map((t) => lab.model.manifest.name(t)).join(" or "));
  }
  if (until.msg != null) parts.push(`message ${until.msg}`);
  if (until.t != null && !until.type) parts.push(`t = ${until.t} ms`);
  return parts.join(", ") || "its stop";
}

// --- the step list and navigation -------------------------------------------------------------
function renderStepList() {
  const p = progressOf(lessonId);
  const items = lesson.steps.map((s, i) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `${base}/${encodeURIComponent(s.id)}`;
    a.textContent = s.title;
    a.dataset.index = String(i);
    if (i === index) a.setAttribute("aria-current", "step");
    if (p.seen.includes(s.id)) {
      const done = document.createElement("span");
      done.className = "step-done";
      done.textContent = " (seen)";
      a.append(done);
    }
    a.addEventListener("click", (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      show(i, { push: true });
    });
    li.append(a);
    return li;
  });
  $("lesson-steps").replaceChildren(...items);
}

function renderNav() {
  const last = index === lesson.steps.length - 1;
  $("step-prev").disabled = index === 0;
  $("step-next").textContent = last ? "All lessons" : "Next";
  $("step-next").setAttribute("aria-label", last ? "Lesson done: back to all lessons"
    : `Next step: ${lesson.steps[index + 1].title}`);
  $("step-prev").setAttribute("aria-label", index === 0 ? "Back"
    : `Back to the previous step: ${lesson.steps[index - 1].title}`);
}

// --- one step ---------------------------------------------------------------------------------
async function show(i, { push = false, replace = false, focus = true, replay = false } = {}) {
  token = runner.cancel();
  const my = token;
  index = Math.max(0, Math.min(i, lesson.steps.length - 1));
  const step = lesson.steps[index];
  const url = `${base}/${encodeURIComponent(step.id)}`;
  if (push && location.pathname !== url) history.pushState({ step: step.id }, "", url);
  else if (replace && location.pathname !== url) history.replaceState({ step: step.id }, "", url);
  document.title = `${step.title} · ${lesson.title} · Delivery Lab`;
  played = false;
  awaiting = false;
  taskTerms = null;

  $("step-count").textContent = `Step ${index + 1} of ${lesson.steps.length}`;
  $("step-title").textContent = step.title;
  $("step-narration").replaceChildren(...fragment(step.narration_html));
  renderWatch(step);
  renderStepList();
  renderNav();
  renderPredict(step);
  renderTask(step);
  renderCompare(step, false);
  lock(step, false);
  highlight(step);
  shareStep(step);
  if (focus) $("step-title").focus();

  const p = progressOf(lessonId);
  const seenBefore = p.seen.includes(step.id);
  try {
    status("Setting up the run for this step…");
    if (!step.start) await runner.rebuild(lesson.steps, index - 1, my);
    if (my !== token) return;
    // presenting, the class votes on the prediction unless it already has (a reload after
    // "Reveal and play"); alone, the learner predicts once
    const classVoted = presenter.room && classQuestion(step) && presenter.room.revealed;
    if (step.predict && (presenter.room ? !classVoted : p.answers[step.id] === undefined)) {
      if (step.start) await runner.prepare(step, index, my);
      if (my !== token) return;
      awaiting = true;
      status(waitingWords());
      await setLearnerSpeed();
      return; // the form's submit (or "Reveal and play") plays the step
    }
    await playStep(step, my, seenBefore && !replay);
  } catch (err) {
    if (err instanceof Cancelled || my !== token) return;
    status(`The run could not be set up: ${err.message}. Use “Replay this step” to try again.`);
  }
}

async function setLearnerSpeed() {
  if (lab.model.speed !== lessonSpeed()) await lab.send("set_speed", { speed: lessonSpeed() });
}

/** Play the current step to its stop, then reveal the prediction, open its controls and task. */
async function playStep(step, my, quick, moveFocus = false) {
  status(`Playing until ${describeUntil(step.until)}…`);
  const result = await runner.play(step, index, my, quick ? REBUILD_SPEED : lessonSpeed());
  if (my !== token) return;
  if (quick) await setLearnerSpeed();
  played = true;
  markSeen(lessonId, step.id);
  renderStepList();
  const at = `t = ${Math.round(lab.model.now)} ms`;
  if (result.matched) status(`Paused where this step stops: ${describeUntil(step.until)}, at ${at}.`);
  else if (result.done) status("The run is over.");
  else status(step.until && step.until.t != null ? `Paused where this step stops, at ${at}.` : "Paused.");
  lock(step, true);
  if (step.predict) reveal(step, moveFocus);
  renderCompare(step, true);
  updateTask();
}

/**
 * A step that shows a comparison offers it once the step has played (its run then stands where
 * the step stops): its run side by side under the rules the step names (compare.js).
 */
function renderCompare(step, ready) {
  const box = $("step-compare-box");
  box.hidden = !(step.compare && ready);
  if (step.compare && step.compare.title) {
    $("step-compare").textContent = `Show side by side: ${step.compare.title}`;
  } else {
    $("step-compare").textContent = "Show side by side";
  }
}
$("step-compare").addEventListener("click", () => {
  const step = lesson && lesson.steps[index];
  if (step && step.compare) lab.compare(step.compare.columns, step.compare.title || "");
});

function renderWatch(step) {
  const h = step.highlight || {};
  const parts = [];
  if (h.messages && h.messages.length) {
    parts.push(`${h.messages.length === 1 ? "message" : "messages"} ${h.messages.join(", ")}`);
  }
  if (h.packets && h.packets.length) {
    parts.push(`${h.packets.length === 1 ? "packet" : "packets"} ${h.packets.join(", ")}`);
  }
  if (h.lanes && h.lanes.length) {
    parts.push(`the ${h.lanes.map((l) => lab.model.manifest.laneLabel(l)).join(", ")} `
      + `${h.lanes.length === 1 ? "lane" : "lanes"}`);
  }
  if (h.counters && h.counters.length) {
    parts.push(`the counters ${h.counters.map((c) => `“${counterLabel(c)}”`).join(", ")}`);
  }
  for (const name of h.panels || []) {
    const title = document.querySelector(`#${CSS.escape(`${name}-panel`)} h2`);
    if (title) parts.push(`the panel “${title.textContent}”`);
  }
  $("step-watch").textContent = parts.length ? `Watch ${parts.join("; ")}.` : "";
  $("step-watch").hidden = !parts.length;
}

function highlight(step) {
  const h = step.highlight || {};
  const msgs = Array.isArray(h.messages) ? h.messages.filter((m) => Number.isInteger(m)) : [];
  // one message is focused (the others dimmed); several are only named in the "Watch" line
  lab.timeline.setFocusMsg(msgs.length === 1 ? msgs[0] : null);
  lab.timeline.setEmphasisLanes(h.lanes || []);
  lab.timeline.setEmphasisPackets(h.packets || []);
  lab.panels.setEmphasis(h.counters || []);
  const panels = new Set((h.panels || []).map((name) => `${name}-panel`));
  for (const panel of document.querySelectorAll(".panels > .panel")) {
    panel.classList.toggle("is-emphasised", panels.has(panel.id));
  }
  if (panels.size) lab.panels.reveal([...panels][0]);
  lab.scheduleUi();
}

/**
 * Lock what the step does not use. While the step is set up and plays, everything but the speed
 * is locked; once it stands, the controls it lists are open (a task also opens a new run).
 */
function lock(step, open) {
  const names = open ? [...(step.controls || [])] : [];
  if (open && step.task) names.push("start");
  lab.controls.restrict(names, document.getElementById(LOCK_WHY).textContent.trim(), LOCK_WHY);
  lab.controls.present(step.hide || [], names);
}

// --- prediction -------------------------------------------------------------------------------
function renderPredict(step) {
  const form = $("predict");
  $("reveal").hidden = true;
  $("predict-error").textContent = "";
  if (!step.predict) {
    form.hidden = true;
    return;
  }
  form.hidden = false;
  $("predict-question").replaceChildren(...fragment(step.predict.question_html, true));
  const answered = progressOf(lessonId).answers[step.id];
  const choices = step.predict.choices.map((c, i) => {
    const label = document.createElement("label");
    label.className = "radio predict-choice";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "prediction";
    input.value = String(i);
    input.checked = answered === i;
    input.disabled = answered !== undefined;
    const span = document.createElement("span");
    span.append(...fragment(c.html, true));
    label.append(input, span);
    return label;
  });
  $("predict-choices").replaceChildren(...choices);
  $("predict-go").hidden = answered !== undefined;
  renderClassVote(step);
}

function waitingWords() {
  return presenter.room ? "Ask the class to predict; the step plays once you reveal their votes."
    : "Make your prediction; the step plays once you have.";
}

$("predict").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!$("predict-room").hidden) return; // the class predicts: "Reveal and play" plays the step
  const step = lesson.steps[index];
  const chosen = document.querySelector("input[name=prediction]:checked");
  if (!chosen) {
    $("predict-error").textContent = "Choose what you think will happen first.";
    document.querySelector("input[name=prediction]")?.focus();
    return;
  }
  $("predict-error").textContent = "";
  saveAnswer(lessonId, step.id, Number(chosen.value));
  for (const r of document.querySelectorAll("input[name=prediction]")) r.disabled = true;
  $("predict-go").hidden = true;
  awaiting = false;
  const my = token;
  try {
    await playStep(step, my, false, true);
  } catch (err) {
    if (!(err instanceof Cancelled) && my === token) status(`The step could not play: ${err.message}.`);
  }
});

function reveal(step, moveFocus) {
  const votes = classResults(step); // the class's votes, when the class predicted this step
  const answered = votes ? undefined : progressOf(lessonId).answers[step.id];
  const box = $("reveal");
  const right = step.predict.choices[answered]?.correct;
  const title = $("reveal-title");
  title.textContent = votes ? "What happened, and how the class voted"
    : answered === undefined ? "What happened"
      : right ? "Your prediction was right" : "Not what happened";
  const list = document.createElement("ul");
  list.className = "reveal-list";
  step.predict.choices.forEach((c, i) => {
    const li = document.createElement("li");
    li.className = c.correct ? "is-correct" : "is-wrong";
    const tag = document.createElement("p");
    tag.className = "choice-tag";
    const tags = [c.correct ? "What happens" : "Not this"];
    if (i === answered) tags.push("your prediction");
    if (votes) tags.push(`${votes.counts[i] || 0} of ${votes.total} ${votes.total === 1 ? "vote" : "votes"}`);
    tag.textContent = tags.join(" · ");
    const text = document.createElement("div");
    text.className = "choice-text";
    text.append(...fragment(c.html));
    const why = document.createElement("div");
    why.className = "choice-why";
    why.append(...fragment(c.why_html));
    li.append(tag, text, why);
    list.append(li);
  });
  box.replaceChildren(title, list);
  box.hidden = false;
  for (const label of document.querySelectorAll(".predict-choice")) {
    const i = Number(label.querySelector("input").value);
    label.classList.toggle("is-correct", Boolean(step.predict.choices[i].correct));
  }
  if (moveFocus) title.focus();
}

// --- a class's prediction (presenting a room) -----------------------------------------------
/** Lesson HTML (sanitised) as the plain text a student's page shows, cut to the server's limit. */
function plain(html, max) {
  const text = fragment(html).map((n) => n.textContent).join(" ").replace(/\s+/g, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function choiceTexts(step) {
  return step.predict.choices.map((c) => plain(c.html, 160));
}

/** The room's open question when it is this step's (asked from this page, maybe before a reload). */
function classQuestion(step) {
  const q = presenter.room && presenter.room.question;
  const source = q && q.source;
  return source && source.lesson === lessonId && source.step === step.id ? q : null;
}

/** The class's revealed votes on this step's prediction, or null. */
function classResults(step) {
  const q = classQuestion(step);
  const r = presenter.room;
  if (!q || !r.revealed) return null;
  const results = r.results && r.results.question === q.id ? r.results : presenter.tally;
  return results && Array.isArray(results.counts) ? results : null;
}

/**
 * The prediction form as the presenter's: the choices with the class's live tally in place of
 * the learner's radio buttons, "Ask the class", then "Reveal and play". Without a room (or once
 * the room ends) the learner's form is back as it was.
 */
function renderClassVote(step) {
  const vote = Boolean(step && step.predict && presenter.room);
  $("predict-room").hidden = !vote;
  $("predict-choices").hidden = vote;
  if (!vote) return;
  $("predict-go").hidden = true;
  const r = presenter.room;
  const q = classQuestion(step);
  const tally = q && presenter.tally && presenter.tally.question === q.id ? presenter.tally : null;
  renderTally($("predict-tally"), {
    id: q ? q.id : `step:${step.id}`, choices: choiceTexts(step), counts: tally && tally.counts,
    voted: q ? (tally ? tally.total : r.voted || 0) : 0, students: r.students || 0,
    revealed: Boolean(q && r.revealed), correct: q && r.revealed && tally ? tally.correct : null,
    asked: Boolean(q),
  });
  $("predict-ask").hidden = played || Boolean(q);
  $("predict-reveal").hidden = played || !q || r.revealed;
}

/** Tell the class which step is shown (once per step and room). */
let sharedStep = null;
function shareStep(step) {
  const r = presenter.room;
  if (!r) {
    sharedStep = null;
    return;
  }
  const key = `${r.code}|${step.id}`;
  if (sharedStep === key) return;
  sharedStep = key;
  lab.send("room_lesson", { lesson: lessonId, step: step.id }).then((answer) => {
    if (answer && answer.ok) return;
    sharedStep = null;
    lab.notify(lab.controls.explain((answer && answer.error) || {}), "error");
  });
}

$("predict-ask").addEventListener("click", async () => {
  const step = lesson.steps[index];
  if (!step.predict) return;
  const payload = {
    text: plain(step.predict.question_html, 300), choices: choiceTexts(step),
    source: { lesson: lessonId, step: step.id },
  };
  const correct = step.predict.choices.findIndex((c) => c.correct);
  if (correct >= 0) payload.correct = correct;
  const answer = await presenter.ask(payload);
  if (!answer || lesson.steps[index] !== step) return;
  renderClassVote(step);
  status("The class is voting. “Reveal and play” shows their votes and plays the step.");
  $("predict-reveal").focus();
});

$("predict-reveal").addEventListener("click", async () => {
  const step = lesson.steps[index];
  const my = token;
  const button = $("predict-reveal");
  button.disabled = true;
  const answer = await presenter.reveal();
  button.disabled = false;
  if (!answer || my !== token) return;
  playClassStep(step);
});

/** The class's votes are revealed: play the step as a locked-in prediction plays it. */
async function playClassStep(step) {
  if (!awaiting) return; // (revealed twice over: the answer and the broadcast)
  awaiting = false;
  renderClassVote(step);
  const my = token;
  try {
    await playStep(step, my, false, true);
  } catch (err) {
    if (!(err instanceof Cancelled) && my === token) status(`The step could not play: ${err.message}.`);
  }
}

/**
 * A room opened or ended, or its counts changed. Opened: the class is shown this step, and a
 * prediction still waiting becomes the class's. Ended: a prediction waiting for the class is the
 * learner's again (or, made before, plays the step).
 */
let presentingBefore = false;
presenter.on((room) => {
  const now = Boolean(room);
  const changed = now !== presentingBefore;
  presentingBefore = now;
  if (!lesson) return; // (the first step shown does all this itself)
  const step = lesson.steps[index];
  if (now) shareStep(step);
  if (step.predict && changed && awaiting) {
    renderPredict(step);
    status(waitingWords());
    if (!now && progressOf(lessonId).answers[step.id] !== undefined) {
      awaiting = false;
      const my = token;
      playStep(step, my, false).catch((err) => {
        if (!(err instanceof Cancelled) && my === token) status(`The step could not play: ${err.message}.`);
      });
    }
  } else if (step.predict && now) {
    renderClassVote(step);
    // revealed from the room bar's own "Reveal": the step plays as "Reveal and play" plays it
    if (awaiting && classQuestion(step) && room.revealed) playClassStep(step);
  }
});

// --- task -------------------------------------------------------------------------------------
function renderTask(step) {
  const box = $("task");
  if (!step.task) {
    box.hidden = true;
    return;
  }
  box.hidden = true; // shown once the step has played
  $("task-prompt").replaceChildren(...fragment(step.task.prompt_html));
  try {
    taskTerms = parseCondition(step.task.success);
  } catch {
    taskTerms = null;
  }
  const open = (step.controls || []).filter((c) => !["play", "step", "step_back", "crash"].includes(c));
  const where = open.map((c) => lab.controls.labelOf(c));
  $("task-open").textContent = where.length
    ? `Open in this step: ${where.join(", ")} (with the settings), and “Start a new run”.`
    : "Start a new run when you are ready.";
  const met = progressOf(lessonId).tasks[step.id];
  $("task-met").replaceChildren(...fragment(step.task.met_html));
  $("task-met").hidden = !met;
  $("task-status").textContent = met ? "Met before: you can try other changes." : "";
}

function updateTask() {
  const step = lesson && lesson.steps[index];
  if (!step || !step.task || !played) return;
  $("task").hidden = false;
  const summary = lab.model.summary || {};
  if (taskTerms) {
    const judged = judge(taskTerms, summary);
    const items = judged.map((t) => {
      const li = document.createElement("li");
      li.className = t.holds ? "holds" : "fails";
      const right = /^[a-z_]/.test(t.value) ? `${counterLabel(t.value)} (${t.right})` : t.value;
      li.textContent = `${counterLabel(t.name)} ${OP_WORDS[t.op]} ${right}: now ${t.left} `
        + `${t.holds ? "(holds)" : "(not yet)"}`;
      return li;
    });
    $("task-terms").replaceChildren(...items);
  }
  if (!lab.model.done) return;
  const key = `${lab.model.epoch}:${lab.model.lastSeq}`;
  if ($("task").dataset.judged === key) return;
  $("task").dataset.judged = key;
  if (taskTerms && holds(taskTerms, summary)) {
    saveTask(lessonId, step.id);
    $("task-met").hidden = false;
    $("task-status").textContent = "Task met: this run ended with every condition holding.";
    renderStepList();
  } else {
    $("task-status").textContent = "This run ended without meeting the task: change a setting "
      + "and start a new run.";
  }
}

$("task-start").addEventListener("click", () => lab.controls.startRun());

// --- explorer link ----------------------------------------------------------------------------
/** "Open in the explorer": the same tab keeps the session, so the explorer shows this very run;
 * for an explorer opened elsewhere (a new tab) the run rides along in the query: its run
 * specification and the event it stands at (the run exactly, live changes and all), or, while
 * the specification is being fetched again after a live change, its settings. */
const runText = new RunText(lab, { onChange: () => updateExplorerLink() });

function updateExplorerLink() {
  $("open-explorer").href = explorerHref(lab, runText.text);
}

// --- wiring -----------------------------------------------------------------------------------
lab.on("frame", (frame) => {
  updateTask();
  runText.refresh(frame);
  updateExplorerLink();
});
lab.on("snapshot", (snapshot) => {
  runText.note(snapshot);
  updateTask();
  updateExplorerLink();
});
$("speed").addEventListener("change", () => saveLessonSpeed(Number($("speed").value)));
$("step-prev").addEventListener("click", () => show(index - 1, { push: true }));
$("step-next").addEventListener("click", () => {
  if (index === lesson.steps.length - 1) location.href = "/lessons";
  else show(index + 1, { push: true });
});
$("step-replay").addEventListener("click", () => show(index, { replay: true }));
window.addEventListener("popstate", () => {
  const id = stepIdFromPath();
  const i = lesson.steps.findIndex((s) => s.id === id);
  show(i < 0 ? 0 : i);
});

async function load() {
  lab.controls.restrict([], document.getElementById(LOCK_WHY).textContent.trim(), LOCK_WHY);
  let answer;
  try {
    const r = await fetch(`/lessons/${encodeURIComponent(lessonId)}.json`);
    answer = await r.json();
    if (!r.ok || !answer.lesson) throw new Error(answer?.error?.message || `HTTP ${r.status}`);
  } catch (err) {
    $("step-title").textContent = "This lesson could not be loaded";
    status(String(err.message || err));
    return;
  }
  lesson = answer.lesson;
  const id = stepIdFromPath();
  const i = lesson.steps.findIndex((s) => s.id === id);
  await runner.ready();
  show(i < 0 ? 0 : i, { replace: true, focus: id != null });
}

load();
