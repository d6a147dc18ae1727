/**
 * Panels: the state behind the timeline, in words and numbers.
 *
 * Live counters (the server's summary, grouped and named for a learner, with the message
 * accounting and the account balance explained; a replayed trace brings counters computed from
 * its own events), the dead-letter queue, the reorder buffer (held / released / skipped sequence
 * numbers), the dedup store (ids remembered, window), the state machine (its lifecycle diagram
 * with the number of orders in each state, each order's state, parked and rejected transitions),
 * packets in flight (each a button that opens the packet menu) and a per-message ledger. The
 * panel of the mechanism just chosen moves first and is scrolled into view (which setting chooses
 * which panel is the manifest's `mechanisms`). The panels of one protocol (ledger, reorder buffer,
 * dedup store, state machine: `.protocol-panel`) show only when the run's protocol has them (its
 * page part, protocols/index.js, derives what they need). Everything is written with textContent
 * (SVG built with DOM calls); elements are reused so focus survives updates.
 */

import { packetWhat } from "./packetmenu.js";

const LEDGER_ROWS = 30;
const SVG = "http://www.w3.org/2000/svg";

function humanize(key) {
  const s = String(key).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Counters in the order a learner reads them, with names that say what they count. A counter in
 * SUB_COUNTERS is a part of the one above it (drawn indented under it).
 */
const COUNTER_GROUPS = [
  ["Messages", ["sent", "published", "processed_unique", "processed", "once", "duplicated",
    "duplicates", "lost", "false_done", "in_play", "gave_up", "dead_lettered"]],
  ["On the wire", ["transmissions", "retries", "timeouts", "timeouts_processed", "timeouts_lost",
    "timeouts_late", "timeouts_unknown", "dropped", "acks_sent", "acks_dropped",
    "network_duplicates", "network_copies_data", "network_copies_ack", "delivered", "nacks"]],
  ["At the consumer", ["discarded_duplicates", "dedup_records", "out_of_order_arrivals",
    "out_of_order_processed", "stale_drops", "gap_skips", "process_failures", "parked", "applied",
    "rejected", "rejected_duplicates", "rejected_impossible", "effects_lost"]],
];
const SUB_COUNTERS = new Set(["false_done", "timeouts_processed", "timeouts_lost", "timeouts_late",
  "timeouts_unknown", "network_copies_data", "network_copies_ack", "rejected_duplicates",
  "rejected_impossible", "effects_lost"]);
const HIDDEN_COUNTERS = new Set(["balance", "expected_balance", "events", "final_state"]);
const COUNTER_LABELS = {
  sent: "Messages sent",
  published: "Messages published",
  once: "Processed exactly once",
  duplicated: "Processed more than once",
  disconnects: "Connections dropped",
  processed_unique: "Messages processed (distinct)",
  processed: "Processings (including repeats)",
  duplicates: "Processed again (repeats)",
  lost: "Lost",
  false_done: "of which the producer recorded as done, never processed",
  in_play: "Still in play",
  gave_up: "Given up",
  dead_lettered: "Dead-lettered",
  transmissions: "Data packets sent (first sends and retries)",
  retries: "Retries",
  timeouts: "Timeouts",
  timeouts_processed: "where the message had been processed",
  timeouts_lost: "where it was lost on the way",
  timeouts_late: "where it was still on its way or waiting in the consumer",
  timeouts_unknown: "where it is still unknown",
  dropped: "Data packets lost",
  acks_sent: "Acks sent",
  acks_dropped: "Acks lost",
  network_duplicates: "Network copies",
  network_copies_data: "copies of data packets",
  network_copies_ack: "copies of acks",
  delivered: "Deliveries",
  nacks: "Nacks",
  discarded_duplicates: "Discarded by dedup",
  dedup_records: "Dedup keys recorded",
  out_of_order_arrivals: "Arrived out of order",
  out_of_order_processed: "Processed out of order",
  stale_drops: "Stale dropped",
  gap_skips: "Gaps skipped",
  process_failures: "Processing failures",
  parked: "Parked now",
  applied: "Transitions applied",
  rejected: "Transitions rejected",
  rejected_duplicates: "duplicates (harmless)",
  rejected_impossible: "legitimate transitions lost",
  effects_lost: "what the application lost (payments)",
};

/** Every message sent is processed, lost or still on its way: say it with the numbers. */
/** A counter's name as the counters panel shows it ("Retries" for `retries`). */
export function counterLabel(key) {
  if (key === "balance") return "Account balance";
  if (key === "expected_balance") return "Balance if every message were paid once";
  return COUNTER_LABELS[key] || humanize(key);
}

export function accounting(s, trace = false) {
  if (typeof s.published === "number" && typeof s.once === "number" && !trace) {
    // a protocol preset: what the application saw of each message published
    return `Every message published is processed once, more than once, lost or still in play: `
      + `${s.published} published = ${s.once} once + ${s.duplicated ?? 0} more than once + `
      + `${s.lost ?? 0} lost + ${s.in_play ?? 0} still in play.`;
  }
  if (typeof s.sent !== "number" || typeof s.processed_unique !== "number") return "";
  if (trace) {
    return `By the end of the trace: ${s.sent} sent = ${s.processed_unique} processed + `
      + `${s.lost ?? s.sent - s.processed_unique} never processed (lost, or still on their way `
      + "when the trace ends).";
  }
  const inPlay = s.in_play ?? 0;
  const lost = s.lost ?? s.sent - s.processed_unique - inPlay;
  return `Every message sent is processed, lost or still in play: ${s.sent} sent = `
    + `${s.processed_unique} processed + ${lost} lost + ${inPlay} still in play.`;
}

function money(n) {
  return n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "±0";
}

/**
 * The account balance and why it differs from "every sent message paid once": messages still in
 * play are not paid yet, lost ones never will be, and duplicates processed may pay twice.
 */
export function balanceStory(s, view) {
  const balance = s.balance ?? view.balance;
  const expected = s.expected_balance ?? view.expected_balance;
  if (typeof balance !== "number") return { text: "", bad: false };
  if (typeof expected !== "number" || !s.sent) {
    return { text: `Account balance ${balance}.`, bad: false };
  }
  const pay = expected / s.sent;
  const inPlay = s.in_play ?? 0;
  const lost = s.lost ?? 0;
  const parts = [];
  if (inPlay) parts.push(`${inPlay} still in play, not paid yet (${money(-inPlay * pay)})`);
  if (lost) parts.push(`${lost} lost (${money(-lost * pay)})`);
  let extra;
  if (typeof s.applied === "number") {
    // State-machine ordering: only an applied transition pays.
    extra = balance - pay * s.applied;
    const parked = s.parked ?? 0;
    const never = Math.max(0, (s.processed_unique ?? 0) - s.applied - parked);
    if (parked) {
      parts.push(`${parked} parked, not paid until their transition applies (${money(-parked * pay)})`);
    }
    if (never) {
      parts.push(`${never} legitimate ${never === 1 ? "transition" : "transitions"} rejected `
        + `(arrived after the order had moved on): the application lost their payments `
        + `(${money(-never * pay)})`);
    }
    if (extra) parts.push(`paid again for duplicates (${money(extra)})`);
    else if (s.duplicates) {
      parts.push(`${s.duplicates} processed again, rejected by the state machine: no second payment`);
    }
  } else {
    extra = balance - pay * (s.processed_unique ?? 0);
    if (extra) parts.push(`paid again for duplicates (${money(extra)})`);
    else if (s.duplicates) parts.push(`${s.duplicates} processed again but not paid again (idempotent)`);
  }
  const text = balance === expected && !parts.length
    ? `Account balance ${balance}: every sent message paid exactly once.`
    : `Account balance ${balance} (${expected} if each sent message were paid once)`
      + `${parts.length ? `: ${parts.join("; ")}.` : "."}`;
  return { text, bad: lost > 0 || extra !== 0 };
}

/**
 * A list of chips: at most `limit` of the latest values, the older ones summed up as
 * "N earlier" (so a panel stays short enough to sit on one screen beside the timeline).
 */
function chips(ul, values, empty, limit = Infinity) {
  const all = values.length ? values : [];
  const items = all.length > limit ? all.slice(-limit) : all;
  const key = JSON.stringify([all.length, items, empty]);
  if (ul.dataset.key === key) return;
  ul.dataset.key = key;
  ul.replaceChildren(...items.map((v) => {
    const li = document.createElement("li");
    li.textContent = String(v);
    return li;
  }));
  if (all.length > items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = `and ${all.length - items.length} earlier`;
    ul.append(li);
  }
  ul.dataset.count = String(items.length);
  if (!items.length && empty) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = empty;
    ul.append(li);
  }
}

function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

export class Panels {
  /**
   * @param {Document} doc
   * @param {{onPacket: (packet: object, button: HTMLElement) => void}} hooks
   */
  constructor(doc, hooks) {
    const $ = (id) => doc.getElementById(id);
    this.hooks = hooks;
    this.el = {
      counters: $("counters"),
      balance: $("balance"),
      accounting: $("accounting"),
      reorderNote: $("reorder-note"),
      expected: $("reorder-expected"),
      held: $("reorder-held"),
      released: $("reorder-released"),
      skipped: $("reorder-skipped"),
      stale: $("reorder-stale"),
      heldTotal: $("reorder-held-total"),
      dedupNote: $("dedup-note"),
      dedupSize: $("dedup-size"),
      dedupWindow: $("dedup-window"),
      dedupKind: $("dedup-kind"),
      dedupRecent: $("dedup-recent"),
      dedupDiscarded: $("dedup-discarded"),
      machineNote: $("machine-note"),
      machineDiagram: $("machine-diagram"),
      machineStates: $("machine-states"),
      machineParked: $("machine-parked"),
      machineRejected: $("machine-rejected"),
      inflight: $("inflight"),
      ledger: $("ledger-body"),
      ledgerTotals: $("ledger-totals"),
      deadLetter: $("dead-letter"),
      deadLetterList: $("dead-letter-list"),
      glance: $("glance"),
      panels: $("panels"),
      preset: $("preset-panel"),
      presetState: $("preset-state"),
    };
    this.doc = doc;
    this.counterEls = new Map();
    this.emphasis = new Set(); // counters a lesson step asks the learner to watch
    this._counterShape = "";
    this._diagramKey = "";
    this._active = new Set();
    this.flightButtons = new Map();
    this.flightSource = "live";
  }

  /** Emphasise the counters `names` (a lesson step's), none for an empty list. */
  setEmphasis(names) {
    this.emphasis = new Set(names || []);
    this._counterShape = ""; // redrawn at the next render
  }

  render(model) {
    const own = Boolean(model.part.panels);
    if (own !== this._own) {
      this._own = own;
      for (const panel of this.doc.querySelectorAll(".protocol-panel")) panel.hidden = !own;
    }
    this._counters(model);
    this._preset(model);
    this._deadLetter(model);
    this._reorder(model);
    this._dedup(model);
    this._machine(model);
    this._inflight(model);
    this._ledger(model);
    this._mechanisms(model);
  }

  /**
   * The panel of each mechanism in use (reorder buffer, dedup store, state machine) goes first in
   * the panel column, the one chosen last at the very top; when one is newly chosen the column
   * scrolls to it, so it is on screen beside the choices and the timeline.
   */
  _mechanisms(model) {
    const cfg = model.config || {};
    const mechanisms = model.manifest.mechanisms;
    const panelId = (m) => `${m.panel}-panel`;
    // a trace does not say its settings: the mechanisms its events show were in use
    const inUse = model.source === "trace"
      ? (m) => m.events.some((type) => model.counts[type])
      : (m) => cfg[m.setting] === m.value;
    const active = new Set(mechanisms.filter(inUse).map(panelId));
    const fresh = [...active].filter((id) => !this._active.has(id));
    if (fresh.length) this._latest = fresh.at(-1);
    if (!active.has(this._latest)) this._latest = [...active].at(-1);
    for (const id of mechanisms.map(panelId)) {
      const panel = this.doc.getElementById(id);
      if (!panel) continue;
      panel.classList.toggle("is-active", active.has(id));
      panel.classList.toggle("is-latest", id === this._latest);
    }
    this._active = active;
    if (fresh.length) this.reveal(this._latest);
  }

  /**
   * A protocol preset's state in words (the view's `panels`: one block per party, rows of what
   * it holds: packet identifiers in use, stored QoS 2 state, the broker's queue, ...). Elements
   * are kept and only their text changes, so a screen reader is not flooded.
   */
  _preset(model) {
    const { preset, presetState } = this.el;
    if (!preset || !presetState) return;
    const blocks = Array.isArray(model.view?.panels) ? model.view.panels : [];
    preset.hidden = blocks.length === 0;
    if (!blocks.length) return;
    const shape = JSON.stringify(blocks.map((b) => [b.id, b.title, (b.rows || []).map((r) => r[0])]));
    if (shape !== this._presetShape) {
      this._presetShape = shape;
      const parts = [];
      for (const b of blocks) {
        const h = this.doc.createElement("h3");
        h.className = "counter-group";
        h.textContent = String(b.title || b.id || "");
        const dl = this.doc.createElement("dl");
        dl.className = "preset-rows";
        dl.dataset.block = String(b.id || "");
        for (const row of b.rows || []) {
          const dt = this.doc.createElement("dt");
          dt.textContent = String(row[0]);
          const dd = this.doc.createElement("dd");
          dl.append(dt, dd);
        }
        parts.push(h, dl);
      }
      presetState.replaceChildren(...parts);
    }
    const lists = presetState.querySelectorAll("dl");
    blocks.forEach((b, i) => {
      const dds = lists[i] ? lists[i].querySelectorAll("dd") : [];
      (b.rows || []).forEach((row, j) => {
        const text = String(row[1] ?? "");
        if (dds[j] && dds[j].textContent !== text) dds[j].textContent = text;
      });
    });
  }

  /** Scroll the panel column (when it scrolls on its own) so the panel `id` is at its top. */
  reveal(id) {
    const panel = this.doc.getElementById(id);
    const column = this.el.panels;
    if (!panel || !column) return;
    const scrolls = column.scrollHeight > column.clientHeight + 1
      && getComputedStyle(column).overflowY !== "visible";
    if (!scrolls) return;
    const top = panel.getBoundingClientRect().top - column.getBoundingClientRect().top;
    column.scrollTop += top - 2;
  }

  _counters(model) {
    const summary = model.summary || {};
    const seen = new Set();
    const groups = COUNTER_GROUPS.map(([title, keys]) => [title, keys.filter((k) => {
      seen.add(k);
      return typeof summary[k] === "number" || typeof summary[k] === "string";
    })]);
    // anything the server adds later still shows, under its own name
    const rest = Object.keys(summary).filter((k) => !seen.has(k) && !HIDDEN_COUNTERS.has(k)
      && (typeof summary[k] === "number" || typeof summary[k] === "string"));
    if (rest.length) groups.push(["More", rest]);
    // At-most-once never waits for an answer: nothing is ever given up
    const na = model.config.semantics === "at-most-once" && !summary.gave_up ? ["gave_up"] : [];
    const shape = JSON.stringify([groups, na]);
    if (shape !== this._counterShape) {
      this._counterShape = shape;
      this.counterEls.clear();
      const parts = [];
      for (const [title, keys] of groups) {
        if (!keys.length) continue;
        const h = document.createElement("h3");
        h.className = "counter-group";
        h.textContent = title;
        const dl = document.createElement("dl");
        dl.className = "counters";
        for (const k of keys) {
          const row = document.createElement("div");
          row.className = SUB_COUNTERS.has(k) ? "counter sub" : "counter";
          const dt = document.createElement("dt");
          const dd = document.createElement("dd");
          dt.textContent = COUNTER_LABELS[k] || humanize(k);
          dd.dataset.counter = k;
          if (na.includes(k)) {
            row.classList.add("not-applicable");
            dd.dataset.na = "true";
            const why = document.createElement("span");
            why.className = "counter-why";
            why.textContent = "not applicable: at-most-once never waits for an answer";
            dt.append(" ", why);
          }
          row.append(dt, dd);
          dl.append(row);
          this.counterEls.set(k, dd);
        }
        parts.push(h, dl);
      }
      this.el.counters.replaceChildren(...parts);
    }
    for (const [k, dd] of this.counterEls) {
      dd.parentElement.classList.toggle("is-emphasised", this.emphasis.has(k));
      const v = summary[k];
      if (dd.dataset.na) setText(dd, "n/a");
      else setText(dd, typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : v ?? "");
    }
    setText(this.el.accounting, accounting(summary, model.source === "trace"));
    const b = balanceStory(summary, model.view || {});
    setText(this.el.balance, b.text);
    this.el.balance.classList.toggle("is-emphasised",
      this.emphasis.has("balance") || this.emphasis.has("expected_balance"));
    this.el.balance.classList.toggle("bad", b.bad);
    if (this.el.glance) {
      const balance = summary.balance ?? model.view?.balance;
      const expected = summary.expected_balance ?? model.view?.expected_balance;
      let text = "";
      if (typeof balance === "number") {
        text = `Balance ${balance}`;
        if (typeof expected === "number") text += ` (${expected} if each message paid once)`;
        if (typeof summary.lost === "number") text += ` · lost ${summary.lost}`;
        if (typeof summary.in_play === "number") text += ` · in play ${summary.in_play}`;
      }
      setText(this.el.glance, text);
      this.el.glance.classList.toggle("bad", b.bad);
    }
  }

  _deadLetter(model) {
    const list = model.view?.producer?.dead_letter;
    const box = this.el.deadLetter;
    if (!box) return;
    const known = Array.isArray(list);
    box.hidden = !known;
    if (!known) return;
    chips(this.el.deadLetterList, list.slice(-40).map((m) => `message ${m}`), "empty");
  }

  _reorder(model) {
    const on = model.config.ordering === "sequence";
    setText(this.el.reorderNote, model.source === "trace"
      ? "What the trace's reorder-buffer events show."
      : on
        ? "Sequence numbers on: out-of-order messages wait here."
        : "Off: choose Ordering → Sequence numbers to hold messages back until earlier ones arrive.");
    const r = (model.view && model.view.reorder) || {};
    const story = model.views?.reorder;
    if (!story) return;
    const held = Array.isArray(r.held) ? r.held : story.held;
    setText(this.el.expected, r.expected ?? "–");
    chips(this.el.held, held, "none");
    chips(this.el.released, story.released, "none yet", 8);
    chips(this.el.skipped, story.skipped, "none", 8);
    chips(this.el.stale, story.stale, "none", 8);
    setText(this.el.heldTotal, story.heldTotal);
  }

  _dedup(model) {
    const on = model.config.semantics === "exactly-once";
    setText(this.el.dedupNote, model.source === "trace"
      ? "What the trace's dedup events show."
      : on
        ? "Exactly-once: every message id processed is remembered; repeats are discarded."
        : "Off: choose Exactly-once to remember processed ids and discard repeats.");
    const d = (model.view && model.view.dedup) || {};
    setText(this.el.dedupSize, d.size ?? 0);
    setText(this.el.dedupWindow, d.window ? d.window : "all");
    setText(this.el.dedupKind, d.store ?? model.config.dedup_store ?? "–");
    chips(this.el.dedupRecent, Array.isArray(d.recent) ? d.recent.slice(-16) : [], "none", 10);
    setText(this.el.dedupDiscarded, model.summary?.discarded_duplicates ?? 0);
  }

  _machine(model) {
    const on = model.config.ordering === "state-machine";
    setText(this.el.machineNote, model.source === "trace"
      ? "What the trace's lifecycle events show."
      : on
        ? "On: each message is a step in an order's lifecycle; an early step is parked, one "
          + "that can never apply is rejected."
        : "Off: choose Ordering → State machine to apply messages as lifecycle transitions.");
    const mc = (model.view && model.view.machine) || {};
    const states = mc.states && typeof mc.states === "object" ? mc.states : {};
    let counts = mc.counts && typeof mc.counts === "object" ? mc.counts : null;
    if (!counts) {
      counts = {};
      for (const st of Object.values(states)) counts[st] = (counts[st] || 0) + 1;
    }
    this._diagram(mc.diagram, counts);
    const entries = Object.entries(states).sort(([a], [b]) => orderNumber(a) - orderNumber(b));
    chips(this.el.machineStates, entries.map(([e, st]) => `${e}: ${st}`), "no orders yet");
    const parked = Array.isArray(mc.parked) ? mc.parked : [];
    chips(this.el.machineParked, parked.map((p) => `${p.entity} ${p.transition} (message ${p.msg})`),
      "none", 4);
    const total = mc.rejected ?? model.summary?.rejected ?? 0;
    const dup = mc.rejected_duplicates ?? model.summary?.rejected_duplicates;
    const impossible = mc.rejected_impossible ?? model.summary?.rejected_impossible;
    let why = "";
    if (typeof dup === "number" && typeof impossible === "number") {
      const lostPay = model.summary?.effects_lost;
      why = `: ${dup} ${dup === 1 ? "duplicate" : "duplicates"} (harmless), ${impossible} `
        + `legitimate ${impossible === 1 ? "transition" : "transitions"} lost`
        + (typeof lostPay === "number" && impossible ? ` (the application lost ${lostPay})` : "");
    }
    const dd = this.el.machineRejected;
    if (dd.textContent !== `${total}${why}`) {
      const span = document.createElement("span");
      span.className = "fact-why";
      span.textContent = why;
      dd.replaceChildren(String(total), span);
    }
  }

  /** The lifecycle as an SVG graph: one box per state with its number of orders. */
  _diagram(diagram, counts) {
    const box = this.el.machineDiagram;
    if (!box) return;
    const ok = diagram && Array.isArray(diagram.states) && diagram.states.length
      && Array.isArray(diagram.edges);
    const key = JSON.stringify(ok ? [diagram, counts] : counts);
    if (key === this._diagramKey) return;
    this._diagramKey = key;
    if (!ok) {
      box.replaceChildren();
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.replaceChildren(lifecycleSvg(diagram, counts));
  }

  _inflight(model) {
    const list = model.inFlight().slice(-40);
    const ul = this.el.inflight;
    if (this.flightSource !== model.source) {
      // a trace's packets are a record: none of them can be dropped or delayed
      this.flightSource = model.source;
      for (const li of this.flightButtons.values()) li.remove();
      this.flightButtons.clear();
    }
    const keep = new Set(list.map((p) => p.id));
    for (const [id, li] of this.flightButtons) {
      if (!keep.has(id)) {
        li.remove();
        this.flightButtons.delete(id);
      }
    }
    for (const p of list) {
      if (this.flightButtons.has(p.id)) continue;
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "packet-button";
      b.dataset.packet = String(p.id);
      const what = packetWhat(p, model.manifest);
      b.textContent = `Packet ${p.id}: ${what}${p.attempt > 1 ? `, attempt ${p.attempt}` : ""}`;
      b.setAttribute("aria-haspopup", "menu");
      if (model.source === "trace") {
        b.disabled = true;
        b.title = "A trace file is a record: its packets cannot be dropped, duplicated or delayed.";
      }
      b.addEventListener("click", () => this.hooks.onPacket(p, b));
      li.append(b);
      ul.append(li);
      this.flightButtons.set(p.id, li);
    }
    ul.dataset.count = String(list.length);
    ul.classList.toggle("is-empty", list.length === 0);
  }

  _ledger(model) {
    const messages = model.views?.messages;
    if (!messages) return;
    const rows = [...messages.values()].slice(-LEDGER_ROWS).reverse();
    const body = this.el.ledger;
    while (body.rows.length < rows.length) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      tr.append(th);
      for (let i = 0; i < 5; i++) tr.insertCell();
    }
    while (body.rows.length > rows.length) body.deleteRow(-1);
    rows.forEach((row, i) => {
      const cells = body.rows[i].cells;
      setText(cells[0], row.msg);
      setText(cells[1], row.sent);
      setText(cells[2], row.lost || "");
      setText(cells[3], row.duplicated || "");
      setText(cells[4], row.reordered ? "yes" : "");
      let processed = "";
      if (row.processed === 1) processed = "once";
      else if (row.processed > 1) processed = `${row.processed}× (duplicate)`;
      else if (row.deadLettered) processed = "never (dead-lettered)";
      else if (row.falseDone) processed = "never (recorded done by the producer)";
      else if (row.gaveUp) processed = "never (gave up)";
      if (row.discarded) processed += `${processed ? "; " : ""}${row.discarded} discarded`;
      setText(cells[5], processed);
      body.rows[i].classList.toggle("bad", row.processed > 1);
    });
    let once = 0;
    let more = 0;
    for (const row of messages.values()) {
      if (row.processed === 1) once++;
      else if (row.processed > 1) more++;
    }
    setText(this.el.ledgerTotals, `${messages.size} messages; processed exactly once: ${once}; `
      + `processed more than once: ${more}`);
  }
}

function orderNumber(name) {
  const m = /(\d+)$/.exec(String(name));
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * Columns by the longest path from a start state (a state nothing leads to), so each step of the
 * lifecycle is one column to the right; states in the same column are stacked.
 */
function lifecycleLayout(states, edges) {
  const rank = new Map(states.map((st) => [st, 0]));
  for (let pass = 0; pass < states.length; pass++) {
    let changed = false;
    for (const [a, b] of edges) {
      if (!rank.has(a) || !rank.has(b) || a === b) continue;
      if (rank.get(b) < rank.get(a) + 1 && rank.get(a) + 1 < states.length) {
        rank.set(b, rank.get(a) + 1);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const rows = new Map();
  const pos = new Map();
  for (const st of states) {
    const col = rank.get(st);
    const row = rows.get(col) || 0;
    rows.set(col, row + 1);
    pos.set(st, { col, row });
  }
  return { pos, cols: Math.max(...rank.values()) + 1, rows: Math.max(...rows.values()) };
}

function lifecycleSvg(diagram, counts) {
  const states = diagram.states.map(String);
  const edges = diagram.edges.filter((e) => Array.isArray(e) && e.length >= 2)
    .map(([a, b]) => [String(a), String(b)]);
  const { pos, cols, rows } = lifecycleLayout(states, edges);
  const W = 74;
  const H = 38;
  const GX = 16;
  const GY = 16;
  const width = cols * W + (cols - 1) * GX + 4;
  const height = rows * H + (rows - 1) * GY + 4;
  const at = (st) => {
    const p = pos.get(st);
    return { x: 2 + p.col * (W + GX), y: 2 + p.row * (H + GY) };
  };
  const count = (st) => (typeof counts[st] === "number" ? counts[st] : 0);
  const words = (n) => `${n} ${n === 1 ? "order" : "orders"}`;
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", class: "lifecycle",
    "aria-labelledby": "machine-diagram-title",
  });
  const title = svg("title", { id: "machine-diagram-title" });
  const path = edges.map(([a, b]) => `${a} → ${b}`).join(", ");
  title.textContent = `Order lifecycle: ${path}. Orders in each state: `
    + `${states.map((st) => `${st} ${count(st)}`).join(", ")}.`;
  root.append(title);
  const defs = svg("defs");
  const marker = svg("marker", {
    id: "lifecycle-arrow", viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7, markerHeight: 7,
    orient: "auto-start-reverse",
  });
  marker.append(svg("path", { d: "M0,0 L8,4 L0,8 z", class: "arrow-head" }));
  defs.append(marker);
  root.append(defs);
  for (const [a, b] of edges) {
    if (!pos.has(a) || !pos.has(b) || a === b) continue;
    const p = at(a);
    const q = at(b);
    const [x1, y1] = [p.x + W / 2, p.y + H / 2];
    const [x2, y2] = [q.x + W / 2, q.y + H / 2];
    const cut = (dx, dy) => {
      // where the line from a box's centre along (dx, dy) leaves the box
      const sx = dx ? (W / 2 + 2) / Math.abs(dx) : Infinity;
      const sy = dy ? (H / 2 + 2) / Math.abs(dy) : Infinity;
      return Math.min(sx, sy);
    };
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len = Math.hypot(dx, dy) || 1;
    const ux = dx / len;
    const uy = dy / len;
    const c = cut(ux, uy);
    root.append(svg("line", {
      x1: x1 + ux * c, y1: y1 + uy * c, x2: x2 - ux * c, y2: y2 - uy * c,
      class: "edge", "marker-end": "url(#lifecycle-arrow)",
    }));
  }
  for (const st of states) {
    const p = at(st);
    const n = count(st);
    const g = svg("g", { class: n ? "state has-orders" : "state", "data-state": st });
    const t = svg("title");
    t.textContent = `${st}: ${words(n)}`;
    g.append(t);
    g.append(svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 6 }));
    const name = svg("text", { x: p.x + W / 2, y: p.y + 15, class: "state-name" });
    name.textContent = st;
    const num = svg("text", { x: p.x + W / 2, y: p.y + 31, class: "state-count" });
    num.textContent = words(n);
    g.append(name, num);
    root.append(g);
  }
  return root;
}
