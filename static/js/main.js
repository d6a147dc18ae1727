/**
 * The page: wires connection -> state -> timeline / panels / log, and controls -> connection.
 *
 * The page learns the run's shape from the manifest in the server's `session` message (lanes,
 * marks, node actions, ...: manifest.js); the model, the timeline, the legend and the controls
 * take it from there. Data flows one way: the server's snapshots and frames update the RunModel; one
 * requestAnimationFrame pass then redraws what changed (timeline, panels, log). A snapshot of
 * the epoch already shown (a repair) is merged into it; any other replaces it, and the older
 * history it leaves out is fetched and put in front. Controls only send requests; what they
 * change comes back as frames. A solo run is paused while its tab is hidden. `window.__lab` is a
 * read-only view of the model for tests and curious learners.
 */

import { Connection } from "./connection.js";
import { Controls } from "./controls.js";
import { Details } from "./details.js";
import { exportImage } from "./exportimage.js";
import { bindCompare } from "./compare.js";
import { bindExperiments } from "./experiments.js";
import { formatTime } from "./layout.js";
import { buildLegend } from "./legend.js";
import { EventLog } from "./log.js";
import { Manifest } from "./manifest.js";
import { PacketMenu } from "./packetmenu.js";
import { Panels } from "./panels.js";
import { MAX_EVENTS, RunModel } from "./state.js";
import { TextView } from "./textview.js";
import { Timeline } from "./timeline.js";
import { bindTimelineTools } from "./tools.js";
import { download, runLink, runTrace } from "./share.js";
import { readTrace, traceHeader } from "./trace.js";

const $ = (id) => document.getElementById(id);
const model = new RunModel();
const motionQuery = window.matchMedia("(prefers-reduced-motion: reduce)");
let mode = "live"; // or "trace": a trace file is shown and live frames are ignored
let uiPending = false;
let pausedWhileHidden = false;
let session = null;
const hooks = new Map(); // "session" | "snapshot" | "frame" -> Set of listeners (see `lab`)
const emit = (name, value) => {
  for (const fn of hooks.get(name) || []) fn(value);
};

/**
 * A room's page (docs/rooms.md) says so on <body>: `data-room` (its code) and `data-view`
 * (`student` or `screen`). It connects as a follower with the member token this browser got
 * there before (so a reload keeps its vote and forks), not with a session of its own.
 */
const ROOM = document.body.dataset.room || null;
const MEMBER_KEY = ROOM ? `delivery-lab-member-${ROOM}` : null;
const roomAuth = ROOM ? () => {
  const auth = { room: ROOM, view: document.body.dataset.view || "student" };
  const member = localStorage.getItem(MEMBER_KEY);
  if (member && auth.view === "student") auth.member = member;
  return auth;
} : undefined;

const conn = new Connection({
  auth: roomAuth,
  onNewStream() {
    model.epoch = null; // the next snapshot replaces the run shown (it is another run)
    menu.close(false); // a packet of the run left behind cannot be acted on
  },
  onRoom(name, data) {
    // the room this page is in, as it changes (opened here after `session`, or ended): a run a
    // room watches is not paused when this tab is hidden
    if (name === "room" && session && data && typeof data === "object") {
      session.room = data.closed ? undefined : { ...session.room, ...data };
    }
    emit(name, data);
  },
  onSession(s) {
    const member = s && s.room && s.room.you && s.room.you.member;
    if (MEMBER_KEY && typeof member === "string") localStorage.setItem(MEMBER_KEY, member);
    session = s;
    applyManifest(s && s.manifest);
    controls.setProtocols(s && s.protocols);
    controls.build(s && s.schema);
    scheduleUi(); // (a rebuilt control is locked again while a trace is replayed)
    openFromQuery(s);
    emit("session", s);
  },
  onSnapshot(s) {
    if (mode !== "live") return;
    applyManifest(s && s.manifest); // a new run may be of another protocol (a preset)
    if (model.canMerge(s)) {
      // the run we already show, seen again (a repair): keep its history, add what is new
      log.push(model.mergeSnapshot(s));
      timeline.sync();
      controls.syncAll(model);
      scheduleUi();
      emit("snapshot", s);
      return;
    }
    const events = model.applySnapshot(s);
    timeline.sync({ reset: true });
    log.reset(events.slice(-120));
    controls.syncAll(model);
    details.hide();
    scheduleUi();
    fetchHistory();
    emit("snapshot", s);
  },
  onFrame(f) {
    if (mode !== "live") return;
    const newEpoch = f.epoch !== model.epoch;
    if (newEpoch) model.epoch = f.epoch;
    const added = model.applyFrame(f);
    log.push(added);
    timeline.sync();
    if (added.some(settingChange)) controls.sync(model);
    scheduleUi();
    emit("frame", f);
  },
  onStatus(status) {
    $("connection").textContent = status === "connected" ? "Connected" : "Reconnecting…";
    $("connection").dataset.status = status;
  },
  onServerError(err) {
    if (err && err.message) notify(controls.explain(err), "error");
    emit("error", err);
  },
});

const send = (name, payload) => conn.request(name, payload);

/**
 * A run in the address, as the lesson page's "Open in the explorer" writes it: `?run=<run
 * specification>&at=<event seq>` (the run exactly, rebuilt where it stood), or settings
 * (`/?semantics=exactly-once&messages=3`: a new run with them, paused at t = 0). A tab with a
 * session of its own already shows its run (the same tab keeps its session). The query is then
 * dropped from the address, so a reload does not open it again.
 */
function openFromQuery(s) {
  const query = new URLSearchParams(location.search);
  if (!s || ROOM || ![...query.keys()].length || !Array.isArray(s.schema)) return;
  history.replaceState(null, "", location.pathname + location.hash);
  if (s.resumed) return;
  if (query.has("run")) {
    // a run specification (`?run=v1...&at=SEQ`): the very run, live changes and all, rebuilt
    // where it stood
    const at = Number(query.get("at"));
    const payload = { run: query.get("run") };
    if (query.get("at") !== null && Number.isInteger(at) && at >= 0) payload.position = at;
    send("open_run", payload).then((answer) => {
      if (!answer || !answer.ok) {
        notify(`The run in the address could not be opened: ${controls.explain((answer && answer.error) || {})}`, "error");
      }
    });
    return;
  }
  const config = {};
  for (const f of s.schema) {
    if (!query.has(f.name)) continue;
    const raw = query.get(f.name);
    if (f.kind === "choice") config[f.name] = raw;
    else if (f.kind === "faults") config[f.name] = raw.split(/[\s,]+/).filter(Boolean);
    else if (raw.trim() !== "" && Number.isFinite(Number(raw))) config[f.name] = Number(raw);
  }
  if (!Object.keys(config).length) return;
  send("start", { config }).then((answer) => {
    if (answer && answer.ok) return send("reset", {});
    notify(`The settings in the address were not taken: ${controls.explain(answer.error || {})}`, "error");
    return null;
  });
}

/**
 * The run's shape, from the server's manifest: the model derives its packets and lanes from it,
 * the timeline draws by it, the legend lists its marks, the controls offer its node actions and
 * settings. A session that brings the same manifest again (a reconnect) changes nothing.
 */
let manifestKey = null;
function applyManifest(raw) {
  if (!raw || typeof raw !== "object") return;
  const key = JSON.stringify(raw);
  if (key === manifestKey) return;
  manifestKey = key;
  const manifest = new Manifest(raw);
  model.setManifest(manifest);
  buildLegend($("legend-list"), manifest);
  controls.setManifest(manifest);
  showPreset(manifest.raw.preset);
  timeline.sync({ reset: true });
}

/** A protocol preset's honest line above its settings, and what it simplifies. */
function showPreset(preset) {
  const honest = $("preset-honest");
  const simplifies = $("preset-simplifies");
  const given = preset && typeof preset === "object" ? preset : null;
  if (honest) {
    honest.textContent = given && typeof given.honest === "string" ? given.honest : "";
    honest.hidden = !honest.textContent;
  }
  if (simplifies) {
    $("preset-simplifies-text").textContent = given && typeof given.simplifies === "string"
      ? given.simplifies : "";
    simplifies.hidden = !given;
  }
}
const READ_ONLY = "A trace file is a record of a run that already happened: it cannot be played, "
  + "stepped or changed. Go back to the live run to use this.";

/**
 * A snapshot carries only the run's latest events: when the one just shown does not reach back to
 * event 1 (a reload or a late join into a long run), fetch the older ones once and put them in
 * front, so the timeline shows the whole run. Runs longer than the model keeps are left as they are.
 */
let historyEpoch = null; // the epoch whose history is being fetched
async function fetchHistory() {
  const epoch = model.epoch;
  if (mode !== "live" || epoch == null || model.firstSeq <= 1 || !model.events.length) return;
  if (model.lastSeq > MAX_EVENTS || historyEpoch === epoch) return;
  historyEpoch = epoch;
  try {
    const events = await conn.fetchHistory(epoch);
    if (!events || mode !== "live" || model.epoch !== epoch) return;
    if (model.prependHistory(events) > 0) {
      timeline.sync();
      log.reset(model.recent(120));
      scheduleUi();
    }
  } finally {
    if (historyEpoch === epoch) historyEpoch = null;
  }
}

function notify(text, kind = "info") {
  const box = $("notice");
  box.textContent = text;
  box.dataset.kind = kind;
}

const controls = new Controls(document, { send, model, notify, onChange: () => scheduleUi() });
const details = new Details($("details"), $("stage"));
const menu = new PacketMenu($("packet-menu"), { send, model, notify });
const settingChange = (ev) => model.manifest.meta(ev.type).line === "config";
const log = new EventLog($("event-log"), {
  label: (name) => controls.labelOf(name),
  choice: (name, value) => controls.choiceOf(name, value),
  settingChange,
});
const panels = new Panels(document, {
  onPacket(packet, button) {
    if (mode !== "live") return;
    if (!controls.allows("packet")) {
      notify(controls.restriction, "error");
      return;
    }
    const r = button.getBoundingClientRect();
    menu.open(packet, r.left, r.bottom, button);
  },
});
const timeline = new Timeline($("timeline"), model, {
  reducedMotion: () => motionQuery.matches,
  onHover(seq, x, y) {
    if (seq == null) details.hide();
    else details.show(model, seq, x, y);
  },
  onSelectPacket(packet, clientX, clientY) {
    if (mode !== "live") {
      notify(READ_ONLY, "error");
      return;
    }
    if (!controls.allows("packet")) {
      notify(controls.restriction, "error");
      return;
    }
    menu.open(packet, clientX, clientY, $("timeline"));
  },
  onFollowChange(on) {
    $("follow").setAttribute("aria-pressed", on ? "true" : "false");
  },
});
bindTimelineTools(document, timeline, { details, textView: new TextView(document, model, timeline) });

/** One UI pass per animation frame at most; nothing runs while the tab is hidden. */
function scheduleUi() {
  if (uiPending || document.hidden) return;
  uiPending = true;
  requestAnimationFrame(() => {
    uiPending = false;
    log.flush();
    $("stage-hint").hidden = mode !== "live" || model.events.length > 0;
    panels.render(model);
    controls.sync(model);
    $("clock").textContent = `t = ${formatTime(model.now)}`
      + `${model.done ? " · finished" : model.playing ? "" : " · paused"}`;
  });
}

$("follow").addEventListener("click", () => timeline.setFollow(!timeline.follow));
$("zoom-in").addEventListener("click", () => timeline.zoom(1.4));
$("zoom-out").addEventListener("click", () => timeline.zoom(1 / 1.4));
motionQuery.addEventListener("change", () => timeline.invalidate());

/** The timeline as shown, with its legend, saved as a picture for slides (exportimage.js). */
async function saveImage(kind) {
  const status = $("share-status");
  try {
    const { blob, filename } = await exportImage(kind, lab);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    status.textContent = `Saved ${filename}: the timeline as shown, with its legend.`;
    status.dataset.kind = "info";
  } catch (err) {
    status.textContent = `The timeline was not saved as ${kind.toUpperCase()}: ${err.message}.`;
    status.dataset.kind = "error";
  }
}
$("export-svg").addEventListener("click", () => saveImage("svg"));
$("export-png").addEventListener("click", () => saveImage("png"));

/**
 * Beside the choices (every layout but the phone's), the timeline and the panel column end at the
 * bottom of the window whatever sits above them (the transport wrapping into two rows, the
 * timeline tools, the trace banner), so the choices, the timeline and the panel of the chosen
 * mechanism are on one screen. On a phone the page scrolls and the stage keeps its CSS height.
 */
const sideBySide = window.matchMedia("(min-width: 761px)");
const STAGE_MIN = 220;
let fitPending = false;
function fitStage() {
  fitPending = false;
  const stage = $("stage");
  const column = $("panels");
  if (!sideBySide.matches) {
    stage.style.removeProperty("height");
    column.style.removeProperty("max-height");
    return;
  }
  const bottom = window.innerHeight - 12;
  const top = (el) => el.getBoundingClientRect().top + window.scrollY;
  const h = Math.max(STAGE_MIN, Math.floor(bottom - top(stage)));
  if (stage.style.height !== `${h}px`) stage.style.height = `${h}px`;
  const ph = Math.max(STAGE_MIN, Math.floor(bottom - top(column)));
  if (column.style.maxHeight !== `${ph}px`) column.style.maxHeight = `${ph}px`;
}
function scheduleFit() {
  if (fitPending) return;
  fitPending = true;
  requestAnimationFrame(fitStage);
}
window.addEventListener("resize", scheduleFit);
sideBySide.addEventListener("change", scheduleFit);
const fitObserver = new ResizeObserver(scheduleFit);
for (const el of document.querySelectorAll(".top, .transport, .choices, .timeline-tools, #trace-banner, #lesson, #room-bar")) {
  fitObserver.observe(el);
}
fitStage();

// A reload or navigation also hides the page: that must not pause the run it comes back to.
let leaving = false;
window.addEventListener("pagehide", () => {
  leaving = true;
});
window.addEventListener("pageshow", () => {
  leaving = false;
});

document.addEventListener("visibilitychange", async () => {
  if (leaving) return;
  if (document.hidden) {
    const solo = !session || !session.room;
    if (solo && model.playing && mode === "live" && !lab.keepPlayingWhenHidden) {
      pausedWhileHidden = true;
      await send("pause");
    }
  } else {
    if (pausedWhileHidden) {
      pausedWhileHidden = false;
      await send("resume");
    }
    timeline.invalidate();
    scheduleUi();
  }
});

/**
 * Open a trace file: a read-only replay. The live run is paused and left alone; the trace's own
 * counters and panel state are computed from its events; every control that would change a run
 * is disabled with the reason; a banner says so and leads back. A malformed file is refused
 * (the page stays as it was) with the line and field at fault.
 */
$("trace-file").addEventListener("change", async (e) => {
  const file = e.target.files && e.target.files[0];
  if (!file) return;
  let events;
  try {
    const text = await file.text();
    // a trace of another protocol than the one shown is read and drawn with that protocol's
    // manifest (the live run's comes back with the next snapshot)
    const header = traceHeader(text);
    let manifest = model.manifest;
    if (header && header.protocol !== manifest.protocol) {
      const answer = await send("get_manifest", { protocol: header.protocol });
      if (!answer || answer.ok === false) {
        throw new Error(`line 1 (the header): the field "protocol": ${(answer && answer.error
          && answer.error.message) || "this server does not know it"}`);
      }
      manifest = new Manifest(answer.manifest);
    }
    events = readTrace(text, manifest);
    if (manifest !== model.manifest) applyManifest(manifest.raw);
  } catch (err) {
    const why = `This file was not opened: ${err.message}.`;
    $("trace-error").textContent = why;
    $("trace-file").setAttribute("aria-invalid", "true");
    notify(why, "error");
    return;
  }
  $("trace-error").textContent = "";
  $("trace-file").setAttribute("aria-invalid", "false");
  const menuPaused = !$("packet-menu").hidden;
  menu.close(false); // (it resumes a run it paused: pause it again below)
  if (mode === "live" && (model.playing || menuPaused)) await send("pause");
  mode = "trace";
  const last = events.at(-1);
  const part = model.part; // the counters and panels of a trace are its protocol's
  model.applySnapshot({
    events, now: last.t, playing: false, done: true, config: {},
    summary: part.traceSummary(events), state: part.traceView(events),
  });
  model.source = "trace";
  controls.setReadOnly(READ_ONLY, "trace-why");
  timeline.sync({ reset: true });
  log.reset(events.slice(-120));
  details.hide();
  $("trace-name").textContent = `${file.name}: ${events.length} events, `
    + `${formatTime(last.t)} of simulated time.`;
  $("trace-banner").hidden = false;
  $("trace-banner").focus(); // scrolls the page back up to say what is shown
  document.body.classList.add("replaying");
  notify(`Replaying the trace ${file.name} (read-only). The live run is paused, not lost.`);
  scheduleUi();
});

/** Share and export (the fold in the timeline's tools): a link to the run, its trace. */
function shareStatus(text, kind = "info") {
  $("share-status").textContent = text;
  $("share-status").dataset.kind = kind;
}
$("share-run").addEventListener("click", async () => {
  const got = await runLink(lab);
  if (got.error) {
    shareStatus(`No link: ${controls.explain(got.error || {})}.`, "error");
    return;
  }
  const field = $("share-link");
  field.value = got.url;
  field.hidden = false;
  field.select();
  let copied = false;
  try {
    await navigator.clipboard.writeText(got.url);
    copied = true;
  } catch {
    // no clipboard here (a page not in focus, a browser that refuses): the link is selected
  }
  shareStatus(copied ? `Link copied: it opens this run at event ${got.seq}.`
    : `The link is selected: copy it to open this run at event ${got.seq}.`);
});
$("export-trace").addEventListener("click", async () => {
  const got = await runTrace(lab);
  if (got.error) {
    shareStatus(`No trace: ${controls.explain(got.error || {})}.`, "error");
    return;
  }
  download(got.blob, got.filename);
  shareStatus(`Saved ${got.filename}: ${got.count} events, the run's specification first.`);
});

$("trace-live").addEventListener("click", async () => {
  mode = "live";
  $("trace-banner").hidden = true;
  document.body.classList.remove("replaying");
  $("trace-file").value = "";
  $("trace-error").textContent = "";
  controls.setReadOnly(null);
  model.source = "live";
  conn.refresh();
  notify("Back to the live run.");
  scheduleUi();
});

/**
 * What another page built on this one (the lesson page, static/js/lessons/; the room pages,
 * static/js/room/) uses: the connection's requests, the model, the controls, the timeline and
 * panels, and `on(name, fn)` to hear every `session`, `snapshot` (after it is applied) and `frame`
 * (in order, after it is applied), every `error` the server sends, and the room events `room`,
 * `room_tally`, `room_focus` and `watch` (docs/rooms.md).
 * `keepPlayingWhenHidden`: a run playing to a bounded stop (a lesson step) is not paused when
 * the tab is hidden.
 */
export const lab = {
  model, controls, timeline, panels, send, notify, scheduleUi,
  get session() { return session; },
  get connected() { return Boolean(conn.socket && conn.socket.connected); },
  keepPlayingWhenHidden: false,
  on(name, fn) {
    if (!hooks.has(name)) hooks.set(name, new Set());
    hooks.get(name).add(fn);
    return () => hooks.get(name).delete(fn);
  },
};

Object.defineProperty(window, "__lab", {
  value: Object.freeze({
    get epoch() { return model.epoch; },
    get lastSeq() { return model.lastSeq; },
    get firstSeq() { return model.firstSeq; },
    get eventCount() { return model.events.length; },
    get now() { return model.now; },
    get playing() { return model.playing; },
    get speed() { return model.speed; },
    get done() { return model.done; },
    get gaps() { return model.gaps; },
    get repeats() { return model.repeats; },
    get crossings() { return model.crossings; },
    get mode() { return mode; },
    get follow() { return timeline.follow; },
    get scale() { return timeline.layout.scale; },
    get draws() { return timeline.drawCount; },
    get lastDrawMs() { return timeline.frameTimes.at(-1) ?? 0; },
    counts: () => ({ ...model.counts }),
    config: () => ({ ...model.config }),
    summary: () => JSON.parse(JSON.stringify(model.summary || {})),
    view: () => JSON.parse(JSON.stringify(model.view || {})),
    seqs: () => model.events.map((e) => e.seq),
    events: (type) => model.events.filter((e) => !type || e.type === type).map((e) => ({ ...e })),
    inFlight: () => model.inFlight().map((p) => ({ id: p.id, msg: p.msg, kind: p.kind })),
    packetPoint: (id) => timeline.packetClientPoint(id),
    marks: () => timeline.hits.length,
    onScreen: () => {
      const [t0, t1] = timeline.layout.visible();
      const [lo, hi] = model.eventRange(t0, t1);
      return hi - lo;
    },
    frameStats: () => timeline.stats(),
    connection: () => ({ ...conn.stats, epoch: conn.epoch, streamSeq: conn.streamSeq }),
    focus: (seq, at) => timeline.focusMark(seq, at),
    drawn: () => timeline.drawnMarks(),
    renderer: () => timeline.state(),
    manifest: () => JSON.parse(JSON.stringify(model.manifest.raw)),
    blip: () => conn.blip(),
    loseFrames: (ms) => conn.loseFrames(ms),
    failRequests: (name, n) => conn.failRequests(name, n),
  }),
});

bindExperiments(lab);
bindCompare(lab);
conn.connect();
