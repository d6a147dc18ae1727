/**
 * What the page knows of the classic protocol (producer, network, consumer) beyond its manifest:
 * the views of a run that only this protocol has, derived from its events as they arrive.
 *
 * - the per-message ledger (transmissions sent, data packets lost, network copies of its data
 *   packets, reordered, processed once / twice / never and why) shown in the Messages panel;
 * - the reorder buffer's story (numbers held, released, skipped, stale) shown in its panel;
 * - for a replayed trace, the counters (`traceSummary`, the rules of docs/events.md "Counting from
 *   the stream", the same as simulator/summary.py) and what the panels show (`traceView`).
 *
 * Like the classic protocol's own module on the server, this part names the protocol's event
 * types; nothing else in the page does (they come from the manifest).
 */

const PAYMENT = 10; // what one processing (or one applied transition) pays into the account

/**
 * One message's row: transmissions sent, data packets lost, `duplicated` = extra copies of its
 * data packets the network made (each copy counted once, not again when it is delivered), ...
 */
function newLedgerRow(msg) {
  return {
    msg, seqno: null, sent: 0, lost: 0, duplicated: 0, reordered: false,
    processed: 0, discarded: 0, acked: false, gaveUp: false, deadLettered: false, falseDone: false,
    lastT: 0,
  };
}

/** The classic views of a run: `messages` (the ledger) and `reorder` (the buffer's story). */
export class ClassicViews {
  constructor() {
    this.messages = new Map();
    this.maxDeliveredMsg = 0;
    this.reorder = { held: [], released: [], skipped: [], stale: [], heldTotal: 0 };
  }

  add(ev) {
    this._ledger(ev);
    switch (ev.type) {
      case "buffer":
      case "release":
      case "gap_skip":
      case "stale_drop":
        this._reorder(ev);
        break;
      default:
        break;
    }
  }

  trim() {
    if (this.messages.size > 50_000) {
      const keep = [...this.messages.entries()].slice(-25_000);
      this.messages = new Map(keep);
    }
  }

  _row(msg) {
    let row = this.messages.get(msg);
    if (!row) {
      row = newLedgerRow(msg);
      this.messages.set(msg, row);
    }
    return row;
  }

  _ledger(ev) {
    if (ev.msg == null) return;
    const row = this._row(ev.msg);
    row.lastT = ev.t;
    if (ev.seqno != null) row.seqno = ev.seqno;
    switch (ev.type) {
      case "send":
      case "retry":
        row.sent++;
        break;
      case "drop":
        if (!ev.kind || ev.kind === "data") row.lost++;
        break;
      case "net_duplicate":
        if (!ev.kind || ev.kind === "data") row.duplicated++;
        break;
      case "deliver":
        // a copy's delivery is not a second copy: `duplicated` counts net_duplicate events only
        if (!ev.duplicate) {
          if (this.maxDeliveredMsg > ev.msg) row.reordered = true;
          this.maxDeliveredMsg = Math.max(this.maxDeliveredMsg, ev.msg);
        }
        break;
      case "buffer":
        row.reordered = true;
        break;
      case "process":
        row.processed++;
        break;
      case "dedup_discard":
        row.discarded++;
        break;
      case "ack_deliver":
        if (ev.kind !== "nack") row.acked = true;
        if (ev.false_done) row.falseDone = true;
        break;
      case "give_up":
        row.gaveUp = true;
        break;
      case "dead_letter":
        row.deadLettered = true;
        break;
      default:
        break;
    }
  }

  _reorder(ev) {
    const r = this.reorder;
    if (Array.isArray(ev.held)) r.held = ev.held.slice();
    if (ev.type === "buffer") r.heldTotal++;
    if (ev.type === "release" && ev.seqno != null) {
      r.released.push(ev.seqno);
      if (r.released.length > 24) r.released.shift();
    }
    if (ev.type === "gap_skip" && Array.isArray(ev.skipped)) {
      r.skipped.push(...ev.skipped);
      if (r.skipped.length > 48) r.skipped.splice(0, r.skipped.length - 48);
    }
    if (ev.type === "stale_drop" && ev.seqno != null) {
      r.stale.push(ev.seqno);
      if (r.stale.length > 24) r.stale.shift();
    }
  }
}

/**
 * The counters of a trace, computed from its events only. `lost` here is every message sent and
 * never processed by the end of the trace: a trace says nothing about what happened after it.
 */
export function traceSummary(events) {
  const c = {};
  let processedUnique = 0;
  let oooArrivals = 0;
  let oooProcessed = 0;
  let balance = 0;
  let copiesData = 0;
  let copiesAck = 0;
  let falseDone = 0;
  const verdicts = { processed: 0, lost: 0, late: 0 };
  const rejected = { duplicate: 0, impossible: 0 };
  let effectsLost = 0;
  let machine = false;
  const parked = new Set();
  for (const ev of events) {
    const t = ev.type;
    c[t] = (c[t] || 0) + 1;
    switch (t) {
      case "process":
        if (!ev.duplicate) processedUnique++;
        if (ev.out_of_order) oooProcessed++;
        if (typeof ev.balance === "number") balance = ev.balance;
        break;
      case "deliver":
        if (ev.out_of_order) oooArrivals++;
        break;
      case "net_duplicate":
        if (!ev.kind || ev.kind === "data") copiesData++;
        else copiesAck++;
        break;
      case "ack_deliver":
        if (ev.false_done) falseDone++;
        break;
      case "timeout_explained":
        if (ev.verdict in verdicts) verdicts[ev.verdict]++;
        break;
      case "transition_applied":
        machine = true;
        parked.delete(ev.msg);
        if (typeof ev.balance === "number") balance = ev.balance;
        break;
      case "transition_parked":
        machine = true;
        parked.add(ev.msg);
        break;
      case "transition_rejected":
        machine = true;
        parked.delete(ev.msg);
        if (ev.reason === "duplicate") rejected.duplicate++;
        else {
          rejected.impossible++;
          if (ev.lost_effect) effectsLost += PAYMENT;
        }
        break;
      default:
        break;
    }
  }
  const n = (type) => c[type] || 0;
  const sent = n("send");
  const timeouts = n("timeout");
  const explained = verdicts.processed + verdicts.lost + verdicts.late;
  const out = {
    sent,
    processed_unique: processedUnique,
    processed: n("process"),
    duplicates: n("process") - processedUnique,
    lost: Math.max(0, sent - processedUnique),
    false_done: falseDone,
    gave_up: n("give_up"),
    dead_lettered: n("dead_letter"),
    transmissions: sent + n("retry"),
    retries: n("retry"),
    timeouts,
    timeouts_processed: verdicts.processed,
    timeouts_lost: verdicts.lost,
    timeouts_late: verdicts.late,
    timeouts_unknown: Math.max(0, timeouts - explained),
    dropped: n("drop"),
    acks_sent: n("ack_send"),
    acks_dropped: n("ack_drop"),
    network_duplicates: n("net_duplicate"),
    network_copies_data: copiesData,
    network_copies_ack: copiesAck,
    delivered: n("deliver"),
    nacks: n("nack"),
    discarded_duplicates: n("dedup_discard"),
    dedup_records: n("dedup_record"),
    out_of_order_arrivals: oooArrivals,
    out_of_order_processed: oooProcessed,
    stale_drops: n("stale_drop"),
    gap_skips: n("gap_skip"),
    process_failures: n("process_fail"),
    events: events.length ? events.at(-1).seq : 0,
    expected_balance: PAYMENT * sent,
    balance,
  };
  if (machine) {
    Object.assign(out, {
      parked: parked.size,
      applied: n("transition_applied"),
      rejected: n("transition_rejected"),
      rejected_duplicates: rejected.duplicate,
      rejected_impossible: rejected.impossible,
      effects_lost: effectsLost,
    });
  }
  return out;
}

/** What the panels show for a trace: the state the events leave behind. */
export function traceView(events) {
  const states = {};
  const parked = new Map();
  const deadLetter = [];
  let held = [];
  let rejected = 0;
  let rejectedDuplicates = 0;
  let rejectedImpossible = 0;
  let balance = 0;
  for (const ev of events) {
    switch (ev.type) {
      case "transition_applied":
      case "transition_parked":
      case "transition_rejected":
        if (ev.entity && typeof ev.state === "string") states[ev.entity] = ev.state;
        if (ev.type === "transition_parked") {
          parked.set(ev.msg, { entity: ev.entity, transition: ev.transition, msg: ev.msg });
        } else {
          parked.delete(ev.msg);
        }
        if (ev.type === "transition_rejected") {
          rejected++;
          if (ev.reason === "duplicate") rejectedDuplicates++;
          else rejectedImpossible++;
        }
        if (ev.type === "transition_applied" && typeof ev.balance === "number") balance = ev.balance;
        break;
      case "process":
        if (typeof ev.balance === "number") balance = ev.balance;
        break;
      case "buffer":
      case "release":
      case "gap_skip":
        if (Array.isArray(ev.held)) held = ev.held.slice();
        break;
      case "dead_letter":
        if (ev.msg != null) deadLetter.push(ev.msg);
        break;
      default:
        break;
    }
  }
  const counts = {};
  for (const s of Object.values(states)) counts[s] = (counts[s] || 0) + 1;
  const sent = events.filter((e) => e.type === "send").length;
  return {
    in_flight: [],
    producer: { dead_letter: deadLetter },
    reorder: { expected: null, held },
    dedup: {},
    machine: {
      states, counts, parked: [...parked.values()], rejected,
      rejected_duplicates: rejectedDuplicates, rejected_impossible: rejectedImpossible,
    },
    balance,
    expected_balance: PAYMENT * sent,
  };
}

/** The classic protocol's part of the page (see protocols/index.js). */
export const classic = Object.freeze({
  views: () => new ClassicViews(),
  traceSummary,
  traceView,
  panels: true, // the ledger, dead-letter, reorder buffer, dedup store and state machine panels
});
