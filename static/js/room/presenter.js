/**
 * The presenter's side of a room (docs/rooms.md): "Present to a class" opens one, and the room
 * bar above the run shows how the class joins (the code, read aloud or typed; the address; its
 * QR code, large for a projector), how many are here, the live tally of a question, and the
 * presenter's controls: ask, reveal, release the class to explore, call it back, end the room.
 * The message the presenter focuses on the timeline is the class's pointer.
 *
 * The room belongs to the session, not to the connection: a reload or a lost network brings the
 * room back with the `session` message, so nothing here is kept in the browser. What the page
 * knows of the room is the presenter's view (from `room_open` or `session`: it alone has the
 * join, QR and projector paths and the tally) with every later `room` broadcast laid over it.
 * The lesson page builds on this (`presenter`, below): a lesson step's prediction becomes a class
 * vote. All text here is set as text: questions and choices are whatever a presenter typed.
 */

import { lab } from "../main.js";

const $ = (id) => document.getElementById(id);
const FOCUS_EVERY_MS = 300; // the class's pointer moves at most this often
const MIN_CHOICES = 2;
const MAX_CHOICES = 6;
const MAX_QUESTION = 300; // the server's limits (server/rooms.py)
const MAX_CHOICE = 160;

let room = null; // the presenter's view of the room, updated by broadcasts; null: no room
let tally = null; // the latest counts of the open question ({question, counts, total, correct})
const listeners = new Set();

/** A refusal, in the page's words, where the page says what went wrong. */
function refused(answer) {
  const error = (answer && answer.error) || {};
  lab.notify(lab.controls.explain(error), "error");
}

/** Send a room control; a refusal is shown, and answered with null. */
async function control(name, payload = {}) {
  const answer = await lab.send(name, payload);
  if (!answer || !answer.ok) {
    refused(answer);
    return null;
  }
  return answer;
}

// --- the room's state ---------------------------------------------------------------------------
/** The presenter's view, from `room_open`'s answer or a `session` (null: no room any more). */
function takeView(view) {
  const before = room;
  room = view && view.role === "presenter" && !view.closed ? { ...view } : null;
  tally = room ? countsOf(room, room.tally) : null;
  render();
  if (before && !room) lab.notify("The room ended while this page was away.");
  if (room && !before) {
    sendFocus(lab.timeline.focusMsg, true);
    if (room.lesson && !onLessonPage()) control("room_lesson", { lesson: null });
  }
}

/** A `room` broadcast: the counts, the mode, the question; `closed` when the room ended. */
function takeBroadcast(data) {
  if (!room || !data || data.code !== room.code) return;
  if (data.closed) {
    ended();
    return;
  }
  const asked = data.question && (!room.question || room.question.id !== data.question.id);
  room = { ...room, ...data };
  if (asked) tally = null;
  if (data.results) tally = countsOf(room, data.results);
  render();
}

/** The presenter's live tally (`room_tally`, sent to the presenter only). */
function takeTally(results) {
  if (!room || !results) return;
  const counts = countsOf(room, results);
  if (!counts) return;
  tally = counts;
  render();
}

/** Results that belong to the room's open question (an older question's are ignored). */
function countsOf(r, results) {
  if (!r || !r.question || !results || results.question !== r.question.id) return null;
  return results;
}

function ended() {
  const inBar = $("room-bar").contains(document.activeElement);
  room = null;
  tally = null;
  render();
  lab.notify("The room has ended: the class no longer follows this run.");
  if (inBar) $("present").focus(); // (the focus was in what just went away)
}


function onLessonPage() {
  return Boolean(document.getElementById("lesson"));
}

// --- the bar ------------------------------------------------------------------------------------
function render() {
  const bar = $("room-bar");
  bar.hidden = !room;
  $("present").hidden = Boolean(room);
  if (!room) {
    showLargeQr(false);
    $("room-ask-form").hidden = true;
    confirmClose(false);
  } else {
    renderJoin();
    renderMode();
    renderQuestion();
  }
  for (const fn of listeners) fn(room, tally);
}

function renderJoin() {
  const url = new URL(room.join_path || `/room/${room.code}`, location.origin).href;
  setText($("room-code"), room.shown);
  const link = $("room-join-url");
  if (link.href !== url) link.href = url;
  setText(link, url); // (absolute: what students type, and what a test opens)
  const qr = $("room-qr");
  const qrUrl = room.qr_path || `/room/${room.code}/qr.svg`;
  if (qr.getAttribute("src") !== qrUrl) {
    qr.src = qrUrl;
    $("room-qr-big").src = qrUrl;
  }
  qr.alt = `QR code of the join address for room ${room.shown}`;
  $("room-qr-big").alt = qr.alt;
  setText($("room-qr-big-code"), room.shown);
  setText($("room-qr-big-url"), url);
  $("room-screen-link").href = room.screen_path || `/room/${room.code}/screen`;
  const n = room.students || 0;
  setText($("room-students"), n === 0 ? "No students yet"
    : `${n} ${n === 1 ? "student" : "students"} online`);
}

function renderMode() {
  const released = room.mode === "released";
  $("room-release").hidden = released;
  $("room-call-back").hidden = !released;
  setText($("room-mode-status"), released
    ? "Students explore their own copy of your run, from where it stood."
    : "Students see your run live; they can watch and vote.");
}

function renderQuestion() {
  const q = room.question;
  $("room-tally-box").hidden = !q;
  if (!q) return;
  renderTally($("room-tally"), {
    id: q.id, text: q.text, choices: q.choices, counts: tally && tally.counts,
    voted: tally ? tally.total : room.voted || 0, students: room.students || 0,
    revealed: room.revealed, correct: room.revealed && room.results ? room.results.correct : null,
  });
  const reveal = $("room-reveal");
  reveal.hidden = Boolean(room.revealed);
}

/**
 * A question's tally in `box`: the question, one bar per choice with its count, "N of M voted",
 * and, once revealed, the right choice marked. The list is built once per question and then only
 * its numbers change, so a screen reader hears the counts, not the whole list again.
 * @param {HTMLElement} box
 * @param {{id: *, text?: string, choices: string[], counts?: number[]|null, voted: number,
 *          students: number, revealed?: boolean, correct?: number|null, asked?: boolean}} t
 */
export function renderTally(box, t) {
  const key = `${t.id}|${t.choices.length}|${t.text || ""}`;
  if (box.dataset.question !== key) {
    box.dataset.question = key;
    const head = document.createElement("p");
    head.className = "tally-head";
    if (t.text) {
      const question = document.createElement("span");
      question.className = "tally-question";
      question.textContent = t.text;
      head.append(question, " ");
    }
    const summary = document.createElement("span");
    summary.className = "tally-summary";
    head.append(summary);
    const list = document.createElement("ol");
    list.className = "tally-list";
    t.choices.forEach((text, i) => {
      const li = document.createElement("li");
      li.className = "tally-choice";
      const label = document.createElement("span");
      label.className = "tally-label";
      label.textContent = text;
      label.title = text; // (a long choice is cut to one line in the bar)
      const track = document.createElement("span");
      track.className = "tally-track";
      track.setAttribute("aria-hidden", "true");
      const fill = document.createElement("span");
      fill.className = "tally-fill";
      track.append(fill);
      const count = document.createElement("span");
      count.className = "tally-count";
      li.append(label, track, count);
      list.append(li);
      li.dataset.choice = String(i);
    });
    box.replaceChildren(head, list);
  }
  const counts = t.counts || t.choices.map(() => 0);
  const most = Math.max(1, ...counts);
  const voted = t.voted || 0;
  box.querySelectorAll(".tally-choice").forEach((li, i) => {
    const n = counts[i] || 0;
    const right = t.revealed && t.correct === i;
    li.classList.toggle("is-correct", right);
    li.querySelector(".tally-fill").style.width = `${Math.round((100 * n) / most)}%`;
    setText(li.querySelector(".tally-count"), `${n}${right ? " ✓ right" : ""}`);
  });
  const who = t.students === 1 ? "1 student" : `${t.students} students`;
  setText(box.querySelector(".tally-summary"), t.asked === false
    ? "Not asked yet."
    : `${voted} of ${Math.max(voted, t.students)} voted${t.revealed ? " · revealed" : ""}`
      + (t.students === 0 ? " (no students online)" : voted > t.students ? ` (${who} online)` : ""));
  // a question with a right answer greys the others once revealed; one on the spot (no right
  // answer: the run will tell) keeps its bars as they are
  box.classList.toggle("is-revealed", Boolean(t.revealed) && Number.isInteger(t.correct));
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// --- opening and ending -------------------------------------------------------------------------
$("present").addEventListener("click", async () => {
  const button = $("present");
  button.disabled = true;
  const answer = await control("room_open");
  button.disabled = false;
  if (!answer) return;
  takeView(answer.room);
  $("room-title").focus();
  lab.notify(`Room ${answer.room.shown} is open: students join with the code or the QR code.`);
});

function confirmClose(on) {
  $("room-close-confirm").hidden = !on;
  $("room-close").hidden = on;
  $("room-close").setAttribute("aria-expanded", on ? "true" : "false");
}
$("room-close").addEventListener("click", () => {
  confirmClose(true);
  $("room-close-really").focus();
});
$("room-close-cancel").addEventListener("click", () => {
  confirmClose(false);
  $("room-close").focus();
});
$("room-close-really").addEventListener("click", async () => {
  const answer = await control("room_close");
  if (answer && room) ended();
});

// --- the QR code, large ---------------------------------------------------------------------
function showLargeQr(on) {
  $("room-qr-overlay").hidden = !on;
  $("room-qr-large").setAttribute("aria-pressed", on ? "true" : "false");
  setText($("room-qr-large"), on ? "Hide large" : "Show large");
}
$("room-qr-large").addEventListener("click", () => {
  const on = $("room-qr-overlay").hidden;
  showLargeQr(on);
  if (on) $("room-qr-hide").focus();
});
$("room-qr-hide").addEventListener("click", () => {
  showLargeQr(false);
  $("room-qr-large").focus();
});
$("room-qr-overlay").addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    e.preventDefault();
    showLargeQr(false);
    $("room-qr-large").focus();
  }
});

// --- release and call back ----------------------------------------------------------------------
$("room-release").addEventListener("click", async () => {
  const answer = await control("room_release");
  if (!answer || !room) return;
  room = { ...room, mode: "released", release: answer.release };
  render();
  $("room-call-back").focus();
  lab.notify("The class is released: each student can explore from where your run stood.");
});
$("room-call-back").addEventListener("click", async () => {
  const answer = await control("room_call_back");
  if (!answer || !room) return;
  room = { ...room, mode: "following" };
  render();
  $("room-release").focus();
  const n = answer.moved || 0;
  lab.notify(`Everyone follows your run again${n ? ` (${n} ${n === 1 ? "page" : "pages"} brought back)` : ""}.`);
});

// --- asking -----------------------------------------------------------------------------------
/** Ask the class; the tally starts at zero until the counts come in. */
async function ask(payload) {
  const answer = await control("room_ask", payload);
  if (!answer || !room) return null;
  room = { ...room, question: answer.question, voted: 0, revealed: false, results: null };
  tally = null;
  render();
  return answer;
}

async function reveal() {
  const answer = await control("room_reveal");
  if (!answer || !room) return null;
  room = { ...room, revealed: true, results: answer.results };
  tally = countsOf(room, answer.results) || tally;
  render();
  return answer;
}

function openAskForm(on) {
  const form = $("room-ask-form");
  form.hidden = !on;
  $("room-ask").setAttribute("aria-expanded", on ? "true" : "false");
  if (on) {
    if (!$("room-choices").children.length) {
      for (let i = 0; i < MIN_CHOICES; i++) addChoice("");
    }
    $("room-ask-error").textContent = "";
    $("room-question").focus();
  }
}

function addChoice(value) {
  const list = $("room-choices");
  if (list.children.length >= MAX_CHOICES) return null;
  const li = document.createElement("li");
  const input = document.createElement("input");
  input.type = "text";
  input.className = "room-choice";
  input.maxLength = MAX_CHOICE;
  input.autocomplete = "off";
  input.value = value;
  const remove = document.createElement("button");
  remove.type = "button";
  remove.className = "room-choice-remove";
  remove.textContent = "Remove";
  remove.addEventListener("click", () => {
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    numberChoices();
    next?.querySelector("input")?.focus();
  });
  li.append(input, remove);
  list.append(li);
  numberChoices();
  return input;
}

/** Each choice's accessible name says its number; the counts decide what can be added or removed. */
function numberChoices() {
  const items = [...$("room-choices").children];
  items.forEach((li, i) => {
    li.querySelector("input").setAttribute("aria-label", `Choice ${i + 1}`);
    const remove = li.querySelector("button");
    remove.setAttribute("aria-label", `Remove choice ${i + 1}`);
    remove.disabled = items.length <= MIN_CHOICES;
  });
  $("room-choice-add").disabled = items.length >= MAX_CHOICES;
}

$("room-ask").addEventListener("click", () => openAskForm($("room-ask-form").hidden));
$("room-ask-cancel").addEventListener("click", () => {
  openAskForm(false);
  $("room-ask").focus();
});
$("room-choice-add").addEventListener("click", () => addChoice("")?.focus());
$("room-ask-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const error = $("room-ask-error");
  const text = $("room-question").value.trim();
  const choices = [...document.querySelectorAll("#room-choices .room-choice")]
    .map((i) => i.value.trim()).filter(Boolean);
  if (!text) {
    error.textContent = "Write the question first.";
    $("room-question").focus();
    return;
  }
  if (choices.length < MIN_CHOICES) {
    error.textContent = `Give at least ${MIN_CHOICES} choices.`;
    document.querySelector("#room-choices .room-choice")?.focus();
    return;
  }
  error.textContent = "";
  const answer = await ask({ text: text.slice(0, MAX_QUESTION), choices });
  if (!answer) return;
  $("room-question").value = "";
  $("room-choices").replaceChildren();
  openAskForm(false);
  $("room-ask").focus();
});

// --- the quick question ---------------------------------------------------------------------
/** The message the quick question is about: the box beside it, else the timeline's focus. */
function nextMessage() {
  const typed = Number($("room-next-msg").value);
  if ($("room-next-msg").value.trim() !== "" && Number.isInteger(typed) && typed > 0) return typed;
  return lab.timeline.focusMsg;
}

function syncNextLabel() {
  const n = nextMessage();
  setText($("room-ask-next"), `Ask: what happens next to message ${n ?? "…"}?`);
}

/**
 * What may happen next to a message under the run's rules: each a true, possible outcome (so
 * the vote is about which one this run will show, not about spotting a choice that cannot
 * happen). Only choices the current semantics, ordering and settings allow are offered.
 */
export function nextChoices(config) {
  const c = config || {};
  if (!c.semantics) return ["It arrives once", "It is lost", "It arrives twice"]; // another protocol
  const out = [];
  const copies = (c.duplicate || 0) > 0;
  const lossy = (c.loss || 0) > 0;
  // a second copy: the network's, or a resend after a lost ack, a lost packet or a slow trip
  const twice = copies || lossy || (c.ack_loss || 0) > 0 || 2 * (c.latency_max || 0) >= (c.timeout || Infinity);
  out.push("It arrives once and is processed once");
  if (c.semantics === "at-most-once") {
    if (lossy) out.push("It is lost, and nobody sends it again");
    if (copies) out.push("The network copies it: it is processed twice");
  } else {
    if (lossy) out.push("It is lost, and the producer sends it again after a timeout");
    if (c.max_retries >= 0 && lossy) out.push("The producer gives up on it: it is never processed");
    if (twice && c.semantics === "at-least-once") out.push("It arrives twice and is processed twice");
    if (twice && c.semantics === "exactly-once") {
      out.push("A second copy arrives and is discarded as a duplicate");
    }
  }
  if (c.ordering === "sequence") out.push("It waits in the reorder buffer for an earlier message");
  if (c.ordering === "state-machine" && c.transitions === "from-to") {
    out.push("It is parked until its order reaches the state it needs");
  }
  // a network that neither loses nor copies: a crash (the presenter can cause one) still can
  if (out.length < MIN_CHOICES) out.push("It is lost in a crash before it is processed");
  return out.slice(0, MAX_CHOICES);
}

$("room-next-msg").addEventListener("input", syncNextLabel);
$("room-ask-next").addEventListener("click", async () => {
  const n = nextMessage();
  if (!n) {
    lab.notify("Focus a message on the timeline (or type its number) to ask about it.", "error");
    $("room-next-msg").focus();
    return;
  }
  const answer = await ask({ text: `What happens next to message ${n}?`, choices: nextChoices(lab.model.config) });
  if (answer) lab.notify(`Asked the class what happens next to message ${n}.`);
});

$("room-reveal").addEventListener("click", () => reveal());

// --- the presenter's pointer -----------------------------------------------------------------
let sentFocus; // the focus the class last heard (undefined: nothing sent yet)
let focusTimer = null;
let focusAt = 0;

/** Tell the class which message is focused: at once, then at most every FOCUS_EVERY_MS. */
function sendFocus(message, force = false) {
  if (!room) return;
  const value = Number.isInteger(message) && message > 0 ? message : null;
  if (!force && value === sentFocus) return;
  if (force && value === null && sentFocus === undefined) return;
  const wait = FOCUS_EVERY_MS - (performance.now() - focusAt);
  if (wait > 0) {
    clearTimeout(focusTimer);
    focusTimer = setTimeout(() => sendFocus(lab.timeline.focusMsg), wait);
    return;
  }
  focusAt = performance.now();
  sentFocus = value;
  lab.send("room_focus", { message: value }).then((answer) => {
    if (answer && !answer.ok && room) refused(answer);
  });
}

lab.timeline.listeners.add((timeline) => {
  if (document.activeElement !== $("room-next-msg")) {
    const value = timeline.focusMsg == null ? "" : String(timeline.focusMsg);
    if ($("room-next-msg").value !== value) $("room-next-msg").value = value;
  }
  syncNextLabel();
  sendFocus(timeline.focusMsg);
});

// --- wiring -----------------------------------------------------------------------------------
lab.on("session", (s) => {
  const view = s && s.room;
  if (view && view.role !== "presenter") return; // a student's or a screen's page
  if (!view && !room) return;
  sentFocus = undefined;
  takeView(view || null);
});
lab.on("room", takeBroadcast);
lab.on("room_tally", takeTally);
syncNextLabel();
render();

/**
 * What the lesson page uses: the room (null without one), asking and revealing, and hearing of
 * every change (`on(fn)`: fn(room, tally), also when the room opens or ends).
 */
export const presenter = {
  get room() { return room; },
  get tally() { return tally; },
  ask,
  reveal,
  on(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};
