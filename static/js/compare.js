/**
 * Compare: the run side by side under two or three sets of rules, on the same faults
 * (docs/compare.md).
 *
 * The server works the columns out (`compare`: each a new run from this run's first settings,
 * seed and scripted faults, with the column's own change, all cut at the same instant); this
 * module shows them as timelines next to each other on one clock of its own. Play, step, step
 * back and the speed move every column together (a step goes to the next instant anything
 * happens in any column); scrolling or zooming one column moves the others. Under the columns,
 * one line per column says in words what its rules did so far (duplicates, dedup discards,
 * losses, the balance), so the difference reads at a glance. A column is read-only: its packets
 * cannot be dropped, only looked at (hover a mark for its details and causal chain).
 *
 * `bindCompare(lab)` wires the "Compare with..." fold of the timeline tools and the comparison
 * section, and gives `lab.compare(columns, why)` to a lesson step that shows a comparison.
 */

import { Details } from "./details.js";
import { formatTime } from "./layout.js";
import { Manifest } from "./manifest.js";
import { pagePart } from "./protocols/index.js";
import { RunModel } from "./state.js";
import { Timeline } from "./timeline.js";

const SPEEDS = [0.5, 1, 2, 4, 8];
const SEMANTICS = ["at-most-once", "at-least-once", "exactly-once"];
const ORDERINGS = [["none", "no reordering"], ["sequence", "sequence numbers"],
  ["state-machine", "state machine"]];
const $ = (id) => document.getElementById(id);

/**
 * What the run shown may be compared with: the three semantics and the three orderings where its
 * protocol reads them, each of its protocol's options with two or three values, and each other
 * model. Each choice is `{id, label, columns}`; `columns` is what `compare` takes.
 */
export function comparisons(manifest, config, protocols) {
  const raw = manifest.raw || {};
  const fields = new Set(Array.isArray(raw.fields) ? raw.fields : []);
  const here = raw.protocol;
  const out = [];
  if (fields.has("semantics")) {
    out.push({ id: "semantics", label: "the three delivery semantics",
      columns: SEMANTICS.map((s) => ({ settings: { semantics: s } })) });
  }
  if (fields.has("ordering")) {
    out.push({ id: "ordering", label: "the three orderings",
      columns: ORDERINGS.map(([o]) => ({ settings: { ordering: o } })) });
  }
  const given = config && config.options && typeof config.options === "object" ? config.options : {};
  for (const f of Array.isArray(raw.options) ? raw.options : []) {
    const values = optionValues(f);
    if (!values) continue;
    const labels = f.choice_labels || {};
    const words = values.map((v) => (f.kind === "bool" ? (v ? "on" : "off") : labels[v] ?? String(v)));
    out.push({ id: `options.${f.name}`, label: `${f.label}: ${words.join(", ")}`,
      columns: values.map((v) => ({ settings: { options: { ...given, [f.name]: v } } })) });
  }
  for (const p of Array.isArray(protocols) ? protocols : []) {
    if (!p || p.name === here) continue;
    out.push({ id: `protocol.${p.name}`, label: `this run in another model: ${p.title}`,
      columns: [{}, { protocol: p.name }] });
  }
  return out;
}

/** The values of an option worth a column each (two or three), or null. */
function optionValues(f) {
  if (!f || typeof f !== "object") return null;
  if (f.kind === "bool") return [false, true];
  if (f.kind === "choice" && Array.isArray(f.choices) && f.choices.length <= 3
      && f.choices.length >= 2) return f.choices.slice();
  if (f.kind === "int" && Number.isInteger(f.minimum) && Number.isInteger(f.maximum)
      && f.maximum - f.minimum >= 1 && f.maximum - f.minimum <= 2) {
    const out = [];
    for (let v = f.minimum; v <= f.maximum; v++) out.push(v);
    return out;
  }
  return null;
}

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * One column's line in words, from its events shown so far: how many messages were processed,
 * how many a second time, what dedup discarded or the state machine rejected, what is lost (once
 * the column has ended) or still on its way, and the balance against what was paid.
 */
export function describeColumn(label, manifest, events, ended) {
  const meta = (manifest.raw && manifest.raw.event_types) || {};
  const msgs = new Set();
  const processed = new Set();
  let again = 0;
  for (const ev of events) {
    if (ev.msg != null) msgs.add(ev.msg);
    const m = meta[ev.type];
    if (m && m.mark === "process") {
      if (ev.duplicate) again++;
      else processed.add(ev.msg);
    }
  }
  const parts = [`${processed.size} of ${plural(msgs.size, "message")} processed`];
  parts.push(again ? `${plural(again, "duplicate")} processed` : "no duplicate processed");
  const s = manifest.protocol === "classic" ? pagePart("classic").traceSummary(events) : null;
  if (s && s.discarded_duplicates) parts.push(`${s.discarded_duplicates} discarded by dedup`);
  if (s && s.rejected_duplicates) {
    parts.push(`${s.rejected_duplicates} rejected by the state machine`);
  }
  const missing = msgs.size - processed.size;
  if (missing) parts.push(ended ? `${missing} lost` : `${missing} not processed yet`);
  else if (ended) parts.push("none lost");
  if (s && msgs.size) {
    // mid-run the balance trails what was paid by what is still on its way: say so, no verdict
    const off = s.balance - s.expected_balance;
    if (!ended) parts.push(`balance ${s.balance} of ${s.expected_balance} paid so far`);
    else if (off === 0) parts.push(`balance ${s.balance}, exactly what was paid`);
    else parts.push(`balance ${s.balance}, ${Math.abs(off)} ${off > 0 ? "more" : "less"} than was paid`);
  }
  return `${label}: ${parts.join(", ")}.`;
}

/** One column: its run's events, a model fed up to the shared clock, a timeline drawing it. */
class Column {
  constructor(data, holder, hooks) {
    this.data = data;
    this.events = Array.isArray(data.events) ? data.events : [];
    this.manifest = new Manifest(data.manifest);
    this.model = new RunModel(this.manifest);
    this.model.source = "trace";
    this.end = this.events.length ? this.events.at(-1).t : 0;
    this.shown = 0; // how many of `events` the model holds
    const fig = document.createElement("figure");
    fig.className = "compare-column";
    const cap = document.createElement("figcaption");
    cap.className = "compare-label";
    cap.textContent = data.label;
    const stage = document.createElement("div");
    stage.className = "compare-stage";
    const canvas = document.createElement("canvas");
    canvas.tabIndex = 0;
    canvas.setAttribute("aria-label", `Timeline: ${data.label}`);
    stage.append(canvas);
    fig.append(cap, stage);
    holder.append(fig);
    this.figure = fig;
    this.details = new Details(hooks.detailsEl(fig), stage);
    this.timeline = new Timeline(canvas, this.model, {
      reducedMotion: hooks.reducedMotion,
      onHover: (seq, x, y) => {
        if (seq == null) this.details.hide();
        else this.details.show(this.model, seq, x, y);
      },
      onFollowChange: (on) => hooks.onFollow(this, on),
      onViewport: (tl) => hooks.onViewport(this, tl),
    });
  }

  /** Show the events up to `t` (the shared clock), `playing` at `speed`. */
  show(t, playing, speed) {
    const m = this.model;
    const upTo = countUpTo(this.events, t);
    const status = { now: t, playing, done: upTo >= this.events.length && Boolean(this.data.done) };
    if (upTo < this.shown) {
      m.applySnapshot({ events: this.events.slice(0, upTo), config: this.data.config,
        speed, ...status });
      this.timeline.sync({ reset: true });
    } else {
      m.speed = speed;
      m.applyFrame({ events: this.events.slice(this.shown, upTo), ...status });
      this.timeline.sync();
    }
    this.shown = upTo;
  }

  shownEvents() {
    return this.events.slice(0, this.shown);
  }
}

/** How many of `events` (in time order) happen at or before `t`. */
function countUpTo(events, t) {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid].t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class CompareView {
  constructor(lab) {
    this.lab = lab;
    this.root = $("compare-view");
    this.columns = [];
    this.t = 0;
    this.playing = false;
    this.speed = 1;
    this.raf = 0;
    this.lastWall = 0;
    this.view = null; // {top, scale}: the viewport every column shares
    this.motion = window.matchMedia("(prefers-reduced-motion: reduce)");
    this._tick = this._tick.bind(this);
    const speed = $("compare-speed");
    for (const s of SPEEDS) speed.add(new Option(`${s}×`, String(s), s === 1, s === 1));
    speed.addEventListener("change", () => {
      this.speed = Number(speed.value) || 1;
      this._show();
    });
    $("compare-play").addEventListener("click", () => this.togglePlay());
    $("compare-step").addEventListener("click", () => this.step());
    $("compare-step-back").addEventListener("click", () => this.stepBack());
    $("compare-close").addEventListener("click", () => this.close());
    $("compare-follow").addEventListener("click", () => this._setFollow(true));
    this.root.addEventListener("keydown", (e) => this._key(e));
    document.addEventListener("visibilitychange", () => {
      if (document.hidden && this.playing) this.pause();
    });
  }

  get open() {
    return !this.root.hidden;
  }

  /** The instants anything happens in any column, in order (a step goes to the next). */
  get instants() {
    if (!this._instants) {
      const all = new Set();
      for (const c of this.columns) for (const ev of c.events) all.add(ev.t);
      this._instants = [...all].sort((a, b) => a - b);
    }
    return this._instants;
  }

  get end() {
    return Math.max(0, ...this.columns.map((c) => c.end));
  }

  /** Ask the server for `columns` of the run shown and show them. `why`: a heading's words. */
  async show(columns, why = "") {
    const status = $("compare-status");
    status.textContent = "Working the columns out…";
    const answer = await this.lab.send("compare", { columns });
    if (!answer || answer.ok === false) {
      const err = (answer && answer.error) || {};
      const text = `No comparison: ${this.lab.controls.explain(err)}.`;
      status.textContent = text;
      this.lab.notify(text, "error");
      return answer;
    }
    status.textContent = "";
    if (this.lab.model.playing) await this.lab.send("pause");
    this._build(answer, why);
    return answer;
  }

  _build(answer, why) {
    this.pause();
    const holder = $("compare-columns");
    holder.replaceChildren();
    this.view = null;
    this._instants = null;
    const hooks = {
      reducedMotion: () => this.motion.matches,
      detailsEl: (fig) => {
        const el = document.createElement("div");
        el.className = "details";
        el.hidden = true;
        fig.querySelector(".compare-stage").append(el);
        return el;
      },
      onFollow: (col, on) => this._setFollow(on, col),
      onViewport: (col, tl) => this._viewport(col, tl),
    };
    this.columns = answer.columns.map((data) => new Column(data, holder, hooks));
    holder.dataset.count = String(this.columns.length);
    $("compare-title").textContent = why || "Side by side: the same run, the same faults";
    const first = this.columns[0].data.config || {};
    $("compare-shared").textContent = answer.same_protocol
      ? `Every column is a new run of this run's first settings: seed ${first.seed}, the same `
        + "scripted faults, the same random fate for every packet the columns have in common. "
        + "So the same packets are lost at the same moments, and every difference comes from "
        + "the rules alone (a retry one column makes draws its own fate). Live changes and "
        + "faults injected by hand are not carried over."
      : `The models send different packets over different hops, so only the faults that name a `
        + `message are the same in every column (such as “message 3's first delivery to the `
        + `consumer is lost”), rewritten in each model's packets; random losses fall on each `
        + `model's own packets. Seed ${first.seed}; live changes are not carried over.`;
    const notes = $("compare-notes");
    notes.replaceChildren();
    for (const c of this.columns) {
      for (const n of c.data.notes || []) {
        const li = document.createElement("li");
        li.textContent = `Not carried to ${c.data.label}: ${n}.`;
        notes.append(li);
      }
    }
    notes.hidden = !notes.children.length;
    $("compare-cut").textContent = answer.until != null
      ? `The columns are cut at ${formatTime(answer.until)}, the same instant in each.` : "";
    this.root.hidden = false;
    document.body.classList.add("comparing");
    this.t = 0;
    $("compare-summary").dataset.key = ""; // other columns: their words are written afresh
    this._show();
    for (const c of this.columns) c.timeline.resize();
    this.root.scrollIntoView({ block: "start" });
    $("compare-play").focus();
  }

  close() {
    this.pause();
    this.root.hidden = true;
    document.body.classList.remove("comparing");
    $("compare-columns").replaceChildren();
    this.columns = [];
    this.lab.notify("Comparison closed. The live run is paused where it was.");
  }

  togglePlay() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (!this.columns.length) return;
    if (this.t >= this.end) this.t = 0; // played to the end: from the start again
    this.playing = true;
    this.lastWall = performance.now();
    this._show();
    if (!this.raf) this.raf = requestAnimationFrame(this._tick);
  }

  pause() {
    this.playing = false;
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    this._show();
  }

  /** To the next instant anything happens in any column. */
  step() {
    this.pause();
    const next = this.instants.find((t) => t > this.t + 1e-9);
    if (next != null) this.t = next;
    this._show();
  }

  /** Back to the previous instant anything happened in any column (or the start). */
  stepBack() {
    this.pause();
    const list = this.instants;
    let prev = 0;
    for (const t of list) {
      if (t < this.t - 1e-9) prev = t;
      else break;
    }
    this.t = prev;
    this._show();
  }

  _tick(wall) {
    this.raf = 0;
    if (!this.playing) return;
    const dt = Math.min(250, Math.max(0, wall - this.lastWall));
    this.lastWall = wall;
    this.t = Math.min(this.end, this.t + dt * this.speed);
    if (this.t >= this.end) this.playing = false;
    this._show();
    if (this.playing) this.raf = requestAnimationFrame(this._tick);
  }

  _show() {
    for (const c of this.columns) c.show(this.t, this.playing, this.speed);
    const play = $("compare-play");
    play.textContent = this.playing ? "Pause" : "Play";
    play.setAttribute("aria-pressed", String(this.playing));
    $("compare-time").textContent = `${formatTime(this.t)} of ${formatTime(this.end)}`;
    this._summarise();
  }

  /** The summary row: a line per column, in words, worked out again only when a column shows
   * more or fewer events (not on every animation frame of a play). */
  _summarise() {
    const list = $("compare-summary");
    const key = this.columns.map((c) => c.shown).join();
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    const lines = this.columns.map((c) => describeColumn(c.data.label, c.manifest,
      c.shownEvents(), c.data.done && c.shown >= c.events.length));
    list.replaceChildren(...lines.map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }

  _setFollow(on, from = null) {
    for (const c of this.columns) if (c !== from) c.timeline.setFollow(on);
    $("compare-follow").setAttribute("aria-pressed", String(on));
  }

  /** One column's viewport moved (a scroll, a zoom, follow): every other column goes there. */
  _viewport(col, tl) {
    const { top, scale } = tl.layout;
    const v = this.view;
    if (v && v.top === top && v.scale === scale) return;
    if (v && col.synced && col.synced.top === top && col.synced.scale === scale) return;
    this.view = { top, scale };
    for (const c of this.columns) {
      c.synced = { top, scale };
      if (c === col) continue;
      c.timeline.layout.scale = scale;
      c.timeline.layout.top = top;
      c.timeline.invalidate();
    }
  }

  _key(e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    const typing = t instanceof HTMLElement && (t.tagName === "INPUT" || t.tagName === "SELECT");
    if (typing) return;
    const onButton = t instanceof HTMLElement && (t.tagName === "BUTTON" || t.tagName === "SUMMARY");
    if (e.key === " " && !onButton) this.togglePlay();
    else if (e.key === "ArrowRight") this.step();
    else if (e.key === "ArrowLeft") this.stepBack();
    else return;
    e.preventDefault(); // the live run's shortcuts stay off while the comparison has focus
  }
}

/** The "Compare with..." fold: its choices follow the run shown; `lab.compare` for lessons. */
export function bindCompare(lab) {
  const view = new CompareView(lab);
  const select = $("compare-what");
  const fill = () => {
    const session = lab.session;
    const list = comparisons(lab.model.manifest, lab.model.config, session && session.protocols);
    const key = list.map((c) => c.id).join();
    if (select.dataset.key === key) return list;
    select.dataset.key = key;
    const was = select.value;
    select.replaceChildren(...list.map((c) => new Option(c.label, c.id)));
    if (list.some((c) => c.id === was)) select.value = was;
    $("compare-open").disabled = !list.length;
    return list;
  };
  lab.on("session", fill);
  lab.on("snapshot", fill);
  $("compare-open").addEventListener("click", () => {
    if (document.body.classList.contains("replaying")) {
      // a trace file is shown: the comparison would be of the live run behind it
      $("compare-status").textContent = "A trace is shown (read-only): go back to the live run "
        + "to compare it.";
      return;
    }
    const choice = fill().find((c) => c.id === select.value);
    if (choice) view.show(choice.columns, `Side by side: ${choice.label}`);
  });
  lab.compare = (columns, why) => view.show(columns, why);
  lab.comparison = view;
  // a read-only view of the comparison for tests and curious learners, like `window.__lab`
  Object.defineProperty(window, "__compare", {
    value: Object.freeze({
      get open() { return view.open; },
      get t() { return view.t; },
      get playing() { return view.playing; },
      get end() { return view.end; },
      instants: () => view.instants.slice(),
      columns: () => view.columns.map((c) => ({
        label: c.data.label, protocol: c.data.protocol, done: c.data.done, shown: c.shown,
        total: c.events.length, now: c.model.now, held: c.model.events.length,
        drawn: Number(c.timeline.canvas.dataset.events || 0), top: c.timeline.layout.top,
        scale: c.timeline.layout.scale, follow: c.timeline.follow,
      })),
      events: (i) => view.columns[i].events.map((e) => ({ ...e })),
      summary: () => [...document.querySelectorAll("#compare-summary li")].map((li) => li.textContent),
    }),
  });
  return view;
}
