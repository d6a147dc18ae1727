/**
 * Trace files: the events of a run as JSON lines (what `python -m simulator run --events`
 * prints, optionally followed by the summary line of `--json`) or one JSON array. A trace is
 * replayed read-only: every line is checked, and a bad one is refused with its line and field.
 * From the events alone this module also computes the counters (`traceSummary`, the rules of
 * docs/events.md "Counting from the stream") and what the panels show (`traceView`).
 */

export const MAX_TRACE_EVENTS = 2_000_000;
const PAYMENT = 10; // what one processing (or one applied transition) pays into the account
const WHOLE_FIELDS = ["msg", "packet", "attempt", "cause"];

/** A trace refused: `line` (1-based, or the array item) and `field` say where. */
export class TraceError extends Error {
  constructor(where, message, field = null) {
    super(`${where}: ${message}`);
    this.where = where;
    this.field = field;
  }
}

function shown(value) {
  if (value === undefined) return "nothing";
  const s = JSON.stringify(value);
  return s.length > 40 ? `${s.slice(0, 37)}…` : s;
}

/**
 * Read a trace; returns its events in seq order. Throws a TraceError naming the line and the
 * field of the first problem: not JSON, not an event, seq not a whole number or not consecutive
 * from 1, t not a number or going back in time, type not a text, msg / packet / attempt / cause
 * not whole numbers (a cause must point to an earlier event).
 */
export function readTrace(text) {
  const trimmed = String(text).trim();
  if (!trimmed) throw new TraceError("the file", "it is empty");
  const items = []; // [where, value]
  if (trimmed.startsWith("[")) {
    let array;
    try {
      array = JSON.parse(trimmed);
    } catch {
      throw new TraceError("the file", "it starts like a JSON array but is not valid JSON");
    }
    if (!Array.isArray(array)) throw new TraceError("the file", "expected a JSON array of events");
    array.forEach((v, i) => items.push([`item ${i + 1} of the array`, v]));
  } else {
    const lines = String(text).split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      let value;
      try {
        value = JSON.parse(line);
      } catch {
        throw new TraceError(`line ${i + 1}`, "this line is not JSON");
      }
      items.push([`line ${i + 1}`, value]);
    }
  }
  if (items.length > MAX_TRACE_EVENTS + 1) {
    throw new TraceError("the file", `more than ${MAX_TRACE_EVENTS} events`);
  }
  const events = [];
  items.forEach(([where, ev], i) => {
    if (!ev || typeof ev !== "object" || Array.isArray(ev)) {
      throw new TraceError(where, `expected an event object, found ${shown(ev)}`);
    }
    if (!("seq" in ev) && !("type" in ev)) {
      // the summary line `--events --json` prints last: allowed there only
      if (i === items.length - 1 && events.length) return;
      throw new TraceError(where, "not an event: it has no \"seq\" and no \"type\" field");
    }
    checkEvent(where, ev, events.at(-1));
    events.push(ev);
  });
  if (!events.length) throw new TraceError("the file", "no events found");
  return events;
}

function checkEvent(where, ev, previous) {
  if (!Number.isInteger(ev.seq) || ev.seq < 1) {
    throw new TraceError(where, `the field "seq" must be a whole number from 1 (found ${shown(ev.seq)})`,
      "seq");
  }
  const want = previous ? previous.seq + 1 : 1;
  if (ev.seq !== want) {
    const why = previous
      ? "events are missing or out of order"
      : "a trace holds a run from its first event";
    throw new TraceError(where, `the field "seq" is ${ev.seq} but ${want} was expected: ${why}`, "seq");
  }
  if (typeof ev.t !== "number" || !Number.isFinite(ev.t) || ev.t < 0) {
    throw new TraceError(where, `the field "t" must be a time in milliseconds, 0 or more (found ${shown(ev.t)})`,
      "t");
  }
  if (previous && ev.t < previous.t) {
    throw new TraceError(where, `the field "t" is ${ev.t} but the event before happened at ${previous.t}: `
      + "time never goes back in a run", "t");
  }
  if (typeof ev.type !== "string" || !/^[a-z_]+$/.test(ev.type)) {
    throw new TraceError(where, `the field "type" must be an event type such as "send" (found ${shown(ev.type)})`,
      "type");
  }
  for (const f of WHOLE_FIELDS) {
    if (ev[f] == null) continue;
    if (!Number.isInteger(ev[f]) || ev[f] < 0) {
      throw new TraceError(where, `the field "${f}" must be a whole number or null (found ${shown(ev[f])})`, f);
    }
  }
  if (ev.cause != null && ev.cause >= ev.seq) {
    throw new TraceError(where, `the field "cause" (${ev.cause}) must point to an earlier event than ${ev.seq}`,
      "cause");
  }
  for (const f of ["lane", "text", "kind"]) {
    if (ev[f] != null && typeof ev[f] !== "string") {
      throw new TraceError(where, `the field "${f}" must be a text (found ${shown(ev[f])})`, f);
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
    consumer: { crashed: false },
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
