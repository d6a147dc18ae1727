/**
 * The projector's view of a room (docs/rooms.md): main.js connects as a follower (<body> says
 * `data-view="screen"`) and draws the presenter's run; this page shows how to join, the
 * presenter's pointer on the timeline, the open question with how many voted, the distribution of
 * the votes only once the presenter reveals it (the server sends no counts before that), and the
 * lesson step. It casts no votes and changes nothing: every run control is locked (and hidden).
 * Text from the server goes in with textContent.
 */

import { lab } from "../main.js";
import { barTrack, choiceHead, loadLesson, shares } from "./shared.js";

const $ = (id) => document.getElementById(id);
const body = document.body;
const LOCK_WHY = "screen-lock-why";
const READ_ONLY = $(LOCK_WHY).textContent.replace(/\s+/g, " ").trim();
const SHOWN = $("screen-code").textContent.trim();

let room = null;
let refusal = null;
let focusKey = null;
let lessonKey = null;
let choicesKey = null;

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function lock() {
  lab.controls.setReadOnly(READ_ONLY, LOCK_WHY);
  lab.controls.restrict([], READ_ONLY, LOCK_WHY);
}

function applyFocus(focus) {
  const key = JSON.stringify(focus || null);
  if (key === focusKey) return;
  focusKey = key;
  const message = focus && Number.isInteger(focus.message) ? focus.message : null;
  const packet = focus && Number.isInteger(focus.packet) ? focus.packet : null;
  lab.timeline.setFocusMsg(message);
  lab.timeline.setEmphasisPackets(packet != null ? [packet] : []);
  lab.scheduleUi();
}

function renderStatus() {
  let text;
  if (refusal) text = refusal;
  else if (!room) text = `Joining room ${SHOWN}…`;
  else if (room.closed) text = "This room has ended.";
  else if (room.mode === "released") text = "The class is exploring: everyone has a run of their own.";
  else if (!room.presenter) text = "Waiting for the presenter…";
  else text = "Following the presenter's run.";
  setText($("screen-status"), text);
  body.dataset.mode = room ? (room.closed ? "closed" : room.mode) : "joining";
  const n = room ? room.students || 0 : 0;
  setText($("screen-people"), room && !room.closed ? `${n} ${n === 1 ? "student" : "students"} here` : "");
}

function renderQuestion() {
  const q = room && !room.closed ? room.question : null;
  const box = $("screen-question");
  box.hidden = !q;
  body.classList.toggle("has-question", Boolean(q));
  if (!q) {
    choicesKey = null;
    return;
  }
  const r = room.revealed && room.results && room.results.question === q.id ? room.results : null;
  const key = JSON.stringify([q.id, q.text, q.choices, r]);
  setText($("screen-voted"), r ? `${r.total} voted` : `${room.voted || 0} voted`);
  if (key === choicesKey) return;
  choicesKey = key;
  setText($("screen-question-text"), q.text);
  box.classList.toggle("is-revealed", Boolean(r));
  const counts = r ? shares(r, q.choices.length).each : [];
  const items = q.choices.map((choice, i) => {
    const li = document.createElement("li");
    li.className = "screen-choice";
    const head = choiceHead(i, choice, { head: "screen-choice-head", letter: "screen-letter",
      text: "screen-choice-text" });
    li.append(head);
    if (r) {
      // the distribution: only once the presenter has revealed it
      const { n, share } = counts[i];
      li.classList.toggle("is-correct", r.correct === i);
      if (r.correct === i) {
        const tag = document.createElement("span");
        tag.className = "screen-correct";
        tag.textContent = "correct";
        head.append(" ", tag);
      }
      const track = barTrack(share);
      const count = document.createElement("p");
      count.className = "screen-count";
      count.textContent = `${n} · ${share}%`;
      li.append(track, count);
    }
    return li;
  });
  $("screen-choices").replaceChildren(...items);
}


async function renderLesson() {
  const l = room && !room.closed ? room.lesson : null;
  const key = l ? `${l.lesson}/${l.step}` : null;
  if (key === lessonKey) return;
  lessonKey = key;
  if (!l) {
    $("screen-lesson").hidden = true;
    return;
  }
  const lesson = await loadLesson(l.lesson);
  if (lessonKey !== key) return;
  const i = lesson ? lesson.steps.findIndex((s) => s.id === l.step) : -1;
  if (i < 0) {
    $("screen-lesson").hidden = true;
    lessonKey = null;
    return;
  }
  setText($("screen-step-title"), lesson.steps[i].title);
  setText($("screen-lesson-name"), `${lesson.title} · step ${i + 1} of ${lesson.steps.length}`);
  $("screen-lesson").hidden = false;
}

function render() {
  renderStatus();
  renderQuestion();
  renderLesson();
}

lab.on("session", (s) => {
  const r = s && s.room;
  if (!r) return;
  refusal = null;
  room = { ...r };
  lock(); // (again: a reconnect rebuilds the controls)
  focusKey = null;
  applyFocus(room.focus);
  render();
});

lab.on("room", (data) => {
  if (!data || typeof data !== "object") return;
  room = { ...(room || {}), ...data };
  render();
});

lab.on("room_focus", (focus) => {
  if (room) room.focus = focus || null;
  applyFocus(focus || null);
});

// a refused join (no such room, too many screens) comes as an `error` before any session
lab.on("error", (err) => {
  if (room || !err || typeof err.message !== "string" || !err.message) return;
  refusal = err.message.charAt(0).toUpperCase() + err.message.slice(1);
  render();
});

lab.timeline.setPresenter(true); // large marks for the back row (not remembered as a choice)
lock();
render();
