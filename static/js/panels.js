/**
 * Panels: the state behind the timeline, in words and numbers.
 *
 * Live counters (the server's summary, grouped and named for a learner, with the message
 * accounting and the account balance explained), the reorder buffer (held / released / skipped sequence
 * numbers), the dedup store (ids remembered, window), the state machine (states, parked,
 * rejected), packets in flight (each a button that opens the packet menu) and a per-message
 * ledger. Everything is written with textContent; elements are reused so focus survives updates.
 */

const LEDGER_ROWS = 30;

function humanize(key) {
  const s = String(key).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Counters in the order a learner reads them, with names that say what they count. */
const COUNTER_GROUPS = [
  ["Messages", ["sent", "processed_unique", "duplicates", "lost", "in_play", "gave_up"]],
  ["On the wire", ["transmissions", "retries", "timeouts", "dropped", "acks_sent", "acks_dropped",
    "network_duplicates", "delivered", "nacks"]],
  ["At the consumer", ["processed", "discarded_duplicates", "out_of_order_arrivals",
    "out_of_order_processed", "stale_drops", "gap_skips", "process_failures", "parked", "rejected",
    "final_state"]],
];
const HIDDEN_COUNTERS = new Set(["balance", "expected_balance", "events"]);
const COUNTER_LABELS = {
  sent: "Sent",
  processed_unique: "Processed",
  duplicates: "Processed again",
  lost: "Lost",
  in_play: "Still in play",
  gave_up: "Given up",
  transmissions: "Data packets sent",
  retries: "Retries",
  timeouts: "Timeouts",
  dropped: "Data packets lost",
  acks_sent: "Acks sent",
  acks_dropped: "Acks lost",
  network_duplicates: "Network copies",
  delivered: "Deliveries",
  nacks: "Nacks",
  processed: "Processings",
  discarded_duplicates: "Discarded by dedup",
  out_of_order_arrivals: "Arrived out of order",
  out_of_order_processed: "Processed out of order",
  stale_drops: "Stale dropped",
  gap_skips: "Gaps skipped",
  process_failures: "Processing failures",
  parked: "Parked now",
  rejected: "Rejected",
  final_state: "Final state",
};

/** Every message sent is processed, lost or still on its way: say it with the numbers. */
export function accounting(s) {
  if (typeof s.sent !== "number" || typeof s.processed_unique !== "number") return "";
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
    if (never) parts.push(`${never} rejected as impossible, never paid (${money(-never * pay)})`);
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

function chips(ul, values, empty) {
  const items = values.length ? values : [];
  ul.replaceChildren(...items.map((v) => {
    const li = document.createElement("li");
    li.textContent = String(v);
    return li;
  }));
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
      machineStates: $("machine-states"),
      machineParked: $("machine-parked"),
      machineRejected: $("machine-rejected"),
      inflight: $("inflight"),
      ledger: $("ledger-body"),
      ledgerTotals: $("ledger-totals"),
    };
    this.counterEls = new Map();
    this._counterShape = "";
    this.flightButtons = new Map();
  }

  render(model) {
    this._counters(model);
    this._reorder(model);
    this._dedup(model);
    this._machine(model);
    this._inflight(model);
    this._ledger(model);
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
    const shape = JSON.stringify(groups);
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
          const dt = document.createElement("dt");
          const dd = document.createElement("dd");
          dt.textContent = COUNTER_LABELS[k] || humanize(k);
          dd.dataset.counter = k;
          dl.append(dt, dd);
          this.counterEls.set(k, dd);
        }
        parts.push(h, dl);
      }
      this.el.counters.replaceChildren(...parts);
    }
    for (const [k, dd] of this.counterEls) {
      const v = summary[k];
      setText(dd, typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : v);
    }
    setText(this.el.accounting, accounting(summary));
    const b = balanceStory(summary, model.view || {});
    setText(this.el.balance, b.text);
    this.el.balance.classList.toggle("bad", b.bad);
  }

  _reorder(model) {
    const on = model.config.ordering === "sequence";
    setText(this.el.reorderNote, on
      ? "Sequence numbers on: out-of-order messages wait here."
      : "Off: choose Ordering → Sequence numbers to hold messages back until earlier ones arrive.");
    const r = (model.view && model.view.reorder) || {};
    const held = Array.isArray(r.held) ? r.held : model.reorder.held;
    setText(this.el.expected, r.expected ?? "–");
    chips(this.el.held, held, "none");
    chips(this.el.released, model.reorder.released, "none yet");
    chips(this.el.skipped, model.reorder.skipped, "none");
    chips(this.el.stale, model.reorder.stale, "none");
    setText(this.el.heldTotal, model.counts.buffer || 0);
  }

  _dedup(model) {
    const on = model.config.semantics === "exactly-once";
    setText(this.el.dedupNote, on
      ? "Exactly-once: every message id processed is remembered; repeats are discarded."
      : "Off: choose Exactly-once to remember processed ids and discard repeats.");
    const d = (model.view && model.view.dedup) || {};
    setText(this.el.dedupSize, d.size ?? 0);
    setText(this.el.dedupWindow, d.window ? d.window : "all");
    setText(this.el.dedupKind, d.store ?? model.config.dedup_store ?? "–");
    chips(this.el.dedupRecent, Array.isArray(d.recent) ? d.recent.slice(-16) : [], "none");
    setText(this.el.dedupDiscarded, model.counts.dedup_discard || 0);
  }

  _machine(model) {
    const on = model.config.ordering === "state-machine";
    setText(this.el.machineNote, on
      ? "State machine on: each message is a lifecycle step; early ones park, impossible ones are rejected."
      : "Off: choose Ordering → State machine to apply messages as lifecycle transitions.");
    const mc = (model.view && model.view.machine) || {};
    const states = Object.entries(mc.states || {}).slice(-12);
    chips(this.el.machineStates, states.map(([e, s]) => `${e}: ${s}`), "none");
    const parked = Array.isArray(mc.parked) ? mc.parked.slice(-12) : [];
    chips(this.el.machineParked, parked.map((p) => `${p.entity} ${p.transition} (message ${p.msg})`), "none");
    setText(this.el.machineRejected, mc.rejected ?? model.counts.transition_rejected ?? 0);
  }

  _inflight(model) {
    const list = model.inFlight().slice(-40);
    const ul = this.el.inflight;
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
      const what = p.kind === "data" ? `message ${p.msg}` : `${p.kind} for message ${p.msg}`;
      b.textContent = `Packet ${p.id}: ${what}${p.attempt > 1 ? `, attempt ${p.attempt}` : ""}`;
      b.setAttribute("aria-haspopup", "menu");
      b.addEventListener("click", () => this.hooks.onPacket(p, b));
      li.append(b);
      ul.append(li);
      this.flightButtons.set(p.id, li);
    }
    ul.dataset.count = String(list.length);
    ul.classList.toggle("is-empty", list.length === 0);
  }

  _ledger(model) {
    const rows = [...model.messages.values()].slice(-LEDGER_ROWS).reverse();
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
      else if (row.gaveUp) processed = "never (gave up)";
      if (row.discarded) processed += `${processed ? "; " : ""}${row.discarded} discarded`;
      setText(cells[5], processed);
      body.rows[i].classList.toggle("bad", row.processed > 1);
    });
    let once = 0;
    let more = 0;
    for (const row of model.messages.values()) {
      if (row.processed === 1) once++;
      else if (row.processed > 1) more++;
    }
    setText(this.el.ledgerTotals, `${model.messages.size} messages; processed exactly once: ${once}; `
      + `processed more than once: ${more}`);
  }
}
