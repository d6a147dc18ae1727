/**
 * A student's page in a room (docs/rooms.md): the presenter's run on the explorer's own timeline,
 * panels and log (main.js builds them and connects as a follower, because <body> says
 * `data-room` / `data-view="student"`); this module only steers them.
 *
 * While the student follows the presenter, every run control is locked read-only with the reason,
 * and the presenter's pointer (`room_focus`) focuses its message on the timeline, as the "Focus
 * message" box does. The open question is a vote (a second vote replaces the first until the
 * reveal); the results show once the presenter reveals them. When the presenter releases the
 * class the page asks for a fork of the run by itself (`room_explore`) and unlocks every control:
 * the run is the student's own. "Call back" (or "Follow the presenter again") locks them again.
 * Everything comes back after a reload: main.js keeps the member token, and the `session` message
 * says what this member watches, which forks it keeps and how it voted. When the presenter ends
 * the room, the page offers the run it shows in the explorer (`/?run=...&at=...`).
 *
 * Text from the server (questions, choices) goes in with textContent; the only HTML inserted is a
 * lesson's narration, which the server sanitised (as on the lesson page).
 */

import { explorerHref, RunText } from "../links.js";
import { lab } from "../main.js";
import { barTrack, choiceHead, LETTERS, loadLesson, shares } from "./shared.js";

const $ = (id) => document.getElementById(id);
const body = document.body;
const CODE = body.dataset.room || "";
const LOCK_WHY = "room-lock-why";
const CLOSED_WHY = "room-closed-why";
const FOLLOWING = $(LOCK_WHY).textContent.replace(/\s+/g, " ").trim();
const CLOSED = "The presenter has ended this room: nothing here can change the run any more. "
  + "Continue it in the explorer.";
const VOTE_IN = "Your vote is in (you can change it until the reveal)";
const TOKEN_KEY = "delivery-lab-token"; // this tab's own explorer session (connection.js)
const SHOWN = $("room-code").textContent.trim() || CODE;

let room = null; // the room as the server last said (public state, `closed` once it ended)
let you = null; // this member: {member, watching, forks, vote}
let voteFor = null; // the question `you.vote` answers
let picked = false; // a choice is checked that has not been sent
let locked = undefined; // the reason the controls are locked for (null: open)
let autoExplored = 0; // the release this page asked a fork of by itself
let exploring = false; // a room_explore / room_follow is on its way
let focusKey = null; // the presenter's pointer last applied
let renderedQuestion = null;
let resultsKey = null;
let lessonKey = null;
// The run specification of the run shown, for "Continue this run in the explorer" once the room
// ends: a snapshot's; a new fork's from its `watch`; the room's run's from the `room` message
// that ends it. Only a student's own changes to their fork are fetched again (a presenter's
// change would have the whole class ask at once).
const runText = new RunText(lab, { onChange: () => updateContinueLink(), wanted: () => onFork() });
let refusal = null; // why the server refused to let this page in

/** Sanitised HTML (a lesson's narration) as nodes. */
function fragment(html) {
  const t = document.createElement("template");
  t.innerHTML = html || "";
  return [...t.content.childNodes];
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

const watching = () => (you && typeof you.watching === "string" ? you.watching : "room");
const onFork = () => watching() !== "room";
const forkRelease = () => (onFork() ? Number(watching().split(":")[1]) : null);
const released = () => Boolean(room && !room.closed && room.mode === "released");

// --- locking ----------------------------------------------------------------------------------
/**
 * Following (or after the end): every control that would change the run is locked with the
 * reason, and a click on a packet says it instead of opening the fault menu. On a fork: all open.
 */
function applyLock() {
  const closed = Boolean(room && room.closed);
  const reason = closed ? CLOSED : onFork() ? null : FOLLOWING;
  const why = closed ? CLOSED_WHY : LOCK_WHY;
  body.classList.toggle("is-following", !closed && !onFork());
  body.classList.toggle("is-exploring", !closed && onFork());
  body.classList.toggle("is-closed", closed);
  if (reason) {
    // a new reason replaces the old one on every control (title and description)
    if (locked && locked !== reason) lab.controls.setReadOnly(null);
    lab.controls.setReadOnly(reason, why); // (again after a reconnect: rebuilt controls too)
    lab.controls.restrict([], reason, why);
  } else if (locked !== null) {
    lab.controls.restrict(null);
    lab.controls.setReadOnly(null);
  }
  if (reason !== locked && lab.model.config && Object.keys(lab.model.config).length) {
    lab.controls.syncAll(lab.model); // the run's settings shown again in the inputs
  }
  locked = reason;
  lab.scheduleUi();
}

// --- the presenter's pointer ------------------------------------------------------------------
function applyFocus(focus, force = false) {
  const key = JSON.stringify(focus || null);
  if (!force && key === focusKey) return;
  focusKey = key;
  if (onFork()) return; // on a run of its own the student's own focus stands
  const message = focus && Number.isInteger(focus.message) ? focus.message : null;
  const packet = focus && Number.isInteger(focus.packet) ? focus.packet : null;
  lab.timeline.setFocusMsg(message);
  lab.timeline.setEmphasisPackets(packet != null ? [packet] : []);
  lab.scheduleUi();
}

// --- what the page says ------------------------------------------------------------------------
function renderBadge() {
  const badge = $("room-badge");
  let state = "following";
  let text = "Following the presenter";
  if (refusal) {
    state = "refused";
    text = "Not in the room";
  } else if (!room) {
    state = "joining";
    text = "Joining…";
  } else if (room.closed) {
    state = "closed";
    text = "Room ended";
  } else if (onFork()) {
    state = "exploring";
    text = "Exploring your own run";
  }
  badge.dataset.state = state;
  setText(badge, text);
}

function renderStatus() {
  let text;
  if (refusal) text = refusal;
  else if (!room) text = `Joining room ${SHOWN}…`;
  else if (room.closed) text = "The presenter has ended the room.";
  else if (onFork()) {
    const n = forkRelease();
    text = n !== room.release
      ? "You are back on your run from an earlier release: play, step and change it as you like."
      : "Released: this run is your own. Play, step, change the settings, break things. "
        + "The presenter will call the class back.";
  } else if (released()) {
    text = exploring ? "The presenter released the class: making your own copy of the run…"
      : "The presenter released the class. You are watching the presenter's run; explore your "
        + "own whenever you like.";
  } else {
    text = "Following the presenter's run live.";
    if (room.question && !room.revealed) text += " A question is open: vote below.";
  }
  if (room && !room.closed && !room.presenter) text += " The presenter is not connected right now.";
  setText($("room-status"), text);
}

// --- the vote ---------------------------------------------------------------------------------
function myVote() {
  const q = room && room.question;
  return q && voteFor === q.id && you && Number.isInteger(you.vote) ? you.vote : null;
}

function renderQuestion() {
  const q = room && !room.closed ? room.question : null;
  const open = Boolean(q && !room.revealed);
  $("vote").hidden = !open;
  if (!q) {
    renderedQuestion = null;
    return;
  }
  if (renderedQuestion !== q.id) {
    renderedQuestion = q.id;
    picked = false;
    delete $("vote-status").dataset.kind; // a refusal was about the question before
    setText($("vote-question"), q.text);
    const items = q.choices.map((choice, i) => {
      const label = document.createElement("label");
      label.className = "radio vote-choice";
      const input = document.createElement("input");
      input.type = "radio";
      input.name = "vote";
      input.value = String(i);
      input.id = `vote-${i}`;
      const span = document.createElement("span");
      span.className = "vote-choice-text";
      const letter = document.createElement("span");
      letter.className = "vote-letter";
      letter.textContent = LETTERS[i] || String(i + 1); // as the projector names them
      span.append(letter, " ", choice);
      label.append(input, span);
      return label;
    });
    $("vote-choices").replaceChildren(...items);
  }
  if (!open) return;
  const mine = myVote();
  for (const input of document.querySelectorAll("input[name=vote]")) {
    const i = Number(input.value);
    if (!picked) input.checked = i === mine;
    input.closest("label").classList.toggle("is-mine", i === mine);
  }
  setText($("vote-send"), mine == null ? "Send my vote" : "Change my vote");
  const status = $("vote-status");
  if (status.dataset.kind === "error") return; // the refusal stays until the next try
  if (picked) setText(status, mine == null ? "Not sent yet." : "Not sent yet: your earlier vote still counts.");
  else setText(status, mine == null ? "" : VOTE_IN);
}

$("vote-choices").addEventListener("change", () => {
  const chosen = document.querySelector("input[name=vote]:checked");
  picked = Boolean(chosen) && Number(chosen.value) !== myVote();
  delete $("vote-status").dataset.kind;
  renderQuestion();
});

$("vote").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = room && room.question;
  const status = $("vote-status");
  if (!q) return;
  const chosen = document.querySelector("input[name=vote]:checked");
  if (!chosen) {
    status.dataset.kind = "error";
    setText(status, "Choose an answer first.");
    document.querySelector("input[name=vote]")?.focus();
    return;
  }
  delete status.dataset.kind;
  setText(status, "Sending…");
  $("vote-send").disabled = true;
  const answer = await lab.send("room_vote", { question: q.id, choice: Number(chosen.value) });
  $("vote-send").disabled = false;
  if (answer && answer.ok) {
    you = { ...you, ...answer.you };
    voteFor = q.id;
    picked = false;
  } else {
    status.dataset.kind = "error";
    setText(status, `Your vote was not taken: ${lab.controls.explain((answer && answer.error) || {})}`);
  }
  renderQuestion();
});

function renderResults() {
  const q = room && !room.closed ? room.question : null;
  const r = room && room.results;
  const show = Boolean(q && room.revealed && r && r.question === q.id && Array.isArray(r.counts));
  $("vote-results").hidden = !show;
  if (!show) {
    resultsKey = null;
    return;
  }
  const mine = myVote();
  const key = JSON.stringify([q.id, r.counts, r.correct, mine]);
  if (key === resultsKey) return;
  resultsKey = key;
  setText($("vote-results-title"), "Results");
  setText($("vote-results-question"), q.text);
  const { total, each } = shares(r, q.choices.length);
  const rows = q.choices.map((choice, i) => {
    const { n, share } = each[i];
    const li = document.createElement("li");
    li.className = "vote-bar";
    li.classList.toggle("is-correct", r.correct === i);
    li.classList.toggle("is-mine", mine === i);
    const head = choiceHead(i, choice, { head: "vote-bar-head", letter: "vote-bar-letter",
      text: "vote-bar-choice" });
    const tags = [];
    if (r.correct === i) tags.push("correct answer");
    if (mine === i) tags.push("your vote");
    if (tags.length) {
      const tag = document.createElement("span");
      tag.className = "vote-bar-tags";
      tag.textContent = tags.join(" · ");
      head.append(" ", tag);
    }
    const track = barTrack(share);
    const count = document.createElement("p");
    count.className = "vote-bar-count";
    count.textContent = `${n} ${n === 1 ? "vote" : "votes"} · ${share}%`;
    li.append(head, track, count);
    return li;
  });
  $("vote-bars").replaceChildren(...rows);
  let said;
  if (mine == null) said = "You did not vote on this question.";
  else if (r.correct == null) said = `You voted “${q.choices[mine]}”.`;
  else if (mine === r.correct) said = `You voted “${q.choices[mine]}”: right.`;
  else said = `You voted “${q.choices[mine]}”; the answer is “${q.choices[r.correct]}”.`;
  setText($("vote-results-you"), `${said} ${total} ${total === 1 ? "student" : "students"} voted.`);
}

// --- the lesson step the presenter is on --------------------------------------------------------

const phone = window.matchMedia("(max-width: 760px)");

async function renderLesson() {
  const l = room && !room.closed ? room.lesson : null;
  const key = l ? `${l.lesson}/${l.step}` : null;
  if (key === lessonKey) return;
  lessonKey = key;
  const box = $("room-lesson");
  if (!l) {
    box.hidden = true;
    return;
  }
  const lesson = await loadLesson(l.lesson);
  if (lessonKey !== key) return; // the presenter moved on meanwhile
  const i = lesson ? lesson.steps.findIndex((s) => s.id === l.step) : -1;
  if (i < 0) {
    box.hidden = true;
    lessonKey = null;
    return;
  }
  const step = lesson.steps[i];
  const wasHidden = box.hidden;
  setText($("room-lesson-title"), lesson.title);
  setText($("room-step-count"), `Step ${i + 1} of ${lesson.steps.length}`);
  setText($("room-step-title"), step.title);
  $("room-step-narration").replaceChildren(...fragment(step.narration_html));
  if (wasHidden) box.open = !phone.matches; // on a phone the timeline comes first: folded
  box.hidden = false;
}

// --- release, explore, call back ---------------------------------------------------------------
function renderActions() {
  const rel = released();
  const w = watching();
  const forks = (you && Array.isArray(you.forks)) ? you.forks : [];
  const current = room ? room.release : 0;
  const explore = $("room-explore");
  explore.hidden = !rel || w === `fork:${current}`;
  setText(explore, forks.includes(current) ? "Back to my own run" : "Explore my own run");
  const older = forks.filter((n) => n < current);
  const earlier = older.length ? Math.max(...older) : null;
  const back = $("room-earlier");
  back.hidden = !rel || earlier == null || w === `fork:${earlier}`;
  if (earlier != null) back.dataset.release = String(earlier);
  $("room-follow").hidden = !rel || w === "room";
  for (const b of [explore, back, $("room-follow")]) b.disabled = exploring;
  $("room-lock-why").hidden = Boolean(!room || room.closed || onFork());
}

async function moveTo(name, payload) {
  if (exploring) return;
  exploring = true;
  render();
  const answer = await lab.send(name, payload);
  exploring = false;
  if (answer && answer.ok) {
    you = { ...you, ...answer.you };
    applyLock();
    if (!onFork()) applyFocus(room && room.focus, true);
  } else {
    lab.notify(lab.controls.explain((answer && answer.error) || {}), "error");
  }
  render();
}

/** Released and watching the room's run without a fork of this release: ask for one. A student
 * who went back to following after exploring (a fork of this release kept) stays there. */
function maybeExplore() {
  if (!released() || !you || onFork() || exploring) return;
  if ((you.forks || []).includes(room.release) || autoExplored === room.release) return;
  autoExplored = room.release;
  moveTo("room_explore", {});
}

$("room-explore").addEventListener("click", () => moveTo("room_explore", {}));
$("room-earlier").addEventListener("click", (e) => {
  const release = Number(e.currentTarget.dataset.release);
  if (Number.isInteger(release)) moveTo("room_explore", { release });
});
$("room-follow").addEventListener("click", () => moveTo("room_follow", {}));

// --- the end of the room: the run, in the explorer --------------------------------------------
function updateContinueLink() {
  $("room-continue").href = explorerHref(lab, runText.text);
}

$("room-continue").addEventListener("click", () => {
  // The explorer resumes this tab's own session if it has one (and then ignores the run in the
  // address): the run of the room is what was asked for, so start the explorer afresh.
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage off: nothing kept either
  }
});

// --- everything -------------------------------------------------------------------------------
function render() {
  renderBadge();
  renderStatus();
  renderQuestion();
  renderResults();
  renderActions();
  renderLesson();
  const closed = Boolean(room && room.closed);
  if (closed) updateContinueLink();
  body.classList.toggle("is-refused", Boolean(refusal));
  $("room-refused").hidden = !refusal;
  $("room-closed").hidden = !closed;
}

function takeRoom(data) {
  const before = room;
  room = { ...(room || {}), ...data };
  delete room.you;
  delete room.role;
  const q = room.question;
  if (!q || (voteFor !== null && voteFor !== q.id)) {
    voteFor = q ? q.id : null; // a new question: no vote on it yet
    if (you) you = { ...you, vote: null };
  } else if (voteFor === null) {
    voteFor = q.id;
  }
  if (you && room.mode === "following" && you.watching !== "room") {
    you = { ...you, watching: "room" }; // called back (the `watch` event says so too)
  }
  return before;
}

lab.on("session", (s) => {
  const r = s && s.room;
  if (!r) return;
  refusal = null;
  room = null;
  you = r.you ? { ...r.you } : null;
  voteFor = r.question ? r.question.id : null;
  takeRoom(r);
  applyLock();
  applyFocus(room.focus, true);
  render();
  maybeExplore();
});

lab.on("room", (data) => {
  if (!data || typeof data !== "object") return;
  if (data.closed && typeof data.run === "string" && !onFork()) runText.text = data.run;
  const before = takeRoom(data);
  applyLock();
  if (before && before.mode !== room.mode && room.mode === "following") applyFocus(room.focus, true);
  render();
  if (room.closed && !(before && before.closed)) $("room-closed-title").focus();
  maybeExplore();
});

lab.on("watch", (w) => {
  if (!w || typeof w.watching !== "string") return;
  const forks = new Set((you && you.forks) || []);
  if (w.watching.startsWith("fork:")) forks.add(Number(w.watching.slice(5)));
  you = { ...(you || {}), watching: w.watching, forks: [...forks].sort((a, b) => a - b) };
  runText.text = typeof w.run === "string" ? w.run : null; // a snapshot follows otherwise
  applyLock();
  if (w.watching === "room") applyFocus(room && room.focus, true);
  render();
});

lab.on("room_focus", (focus) => {
  if (room) room.focus = focus || null;
  applyFocus(focus || null);
});

lab.on("snapshot", (snapshot) => {
  runText.note(snapshot);
  if (room && room.closed) updateContinueLink();
});
lab.on("frame", (frame) => {
  runText.refresh(frame);
  if (room && room.closed) updateContinueLink();
});

/**
 * The server refuses to let the page in (no room has this code, the room has ended, too many
 * wrong codes, the room is full) with an `error` before any `session`: until the room answers,
 * that error is the room's status.
 */
lab.on("error", (err) => {
  if (room || !err || typeof err.message !== "string" || !err.message) return;
  refusal = err.message.charAt(0).toUpperCase() + err.message.slice(1);
  render();
});

applyLock();
render();
