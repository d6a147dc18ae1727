/**
 * Panels: the state behind the timeline, in words and numbers.
 *
 * Live counters (the server's summary), the reorder buffer (held / released / skipped sequence
 * numbers), the dedup store (ids remembered, window), the state machine (states, parked,
 * rejected), packets in flight (each a button that opens the packet menu) and a per-message
 * ledger. Everything is written with textContent; elements are reused so focus survives updates.
 */

const LEDGER_ROWS = 30;

function humanize(key) {
  const s = String(key).replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
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
    const dl = this.el.counters;
    const entries = [];
    for (const [k, v] of Object.entries(model.summary || {})) {
      if (typeof v === "number" || typeof v === "boolean" || typeof v === "string") {
        entries.push([k, v]);
      } else if (v && typeof v === "object" && !Array.isArray(v)) {
        for (const [k2, v2] of Object.entries(v)) {
          if (typeof v2 === "number") entries.push([`${k} ${k2}`, v2]);
        }
      }
    }
    const keys = new Set(entries.map(([k]) => k));
    for (const [k, pair] of this.counterEls) {
      if (!keys.has(k)) {
        pair.dt.remove();
        pair.dd.remove();
        this.counterEls.delete(k);
      }
    }
    for (const [k, v] of entries) {
      let pair = this.counterEls.get(k);
      if (!pair) {
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = humanize(k);
        dd.dataset.counter = k;
        dl.append(dt, dd);
        pair = { dt, dd };
        this.counterEls.set(k, pair);
      }
      setText(pair.dd, typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : v);
    }
    const view = model.view || {};
    if (typeof view.balance === "number") {
      const ok = view.expected_balance == null || view.balance === view.expected_balance;
      setText(this.el.balance, `Account balance ${view.balance}`
        + (view.expected_balance != null ? ` (expected ${view.expected_balance})` : ""));
      this.el.balance.classList.toggle("bad", !ok);
    } else {
      setText(this.el.balance, "");
    }
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
