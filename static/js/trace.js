/**
 * Trace files: the events of a run as JSON lines (what `python -m simulator run --events`
 * prints, optionally followed by the summary line of `--json`) or one JSON array. A trace is
 * replayed read-only: every line is checked, and a bad one is refused with its line and field.
 *
 * A trace may begin with a header line (what `--events` and the page's export write first):
 * `{"trace": "delivery-lab", "v": 1, "protocol", "run"}`, the run specification of the run whose
 * events follow (`traceHeader`). The events are read and drawn with the manifest of the
 * trace's protocol (the page asks the server for it when it is not the one shown): an event type
 * that manifest does not know is refused.
 * The counters and the panels' state of a trace are its protocol's to compute, from the events
 * alone (`traceSummary`, `traceView` of its page part: protocols/index.js).
 */

export const MAX_TRACE_EVENTS = 2_000_000;
export const TRACE_FORMAT = "delivery-lab";
export const TRACE_VERSION = 1;
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
 * from 1, t not a number or going back in time, type not an event type of `manifest` (any name
 * without one), msg / packet / attempt / cause not whole numbers (a cause must point to an
 * earlier event).
 */
/**
 * A trace's header, if its first line is one: `{protocol, run}` (checked: a header of another
 * format or version, or without a protocol or run text, is refused naming line 1 and the
 * field); null when the trace starts with an event or is a JSON array.
 */
export function traceHeader(text) {
  const first = String(text).trimStart().split("\n", 1)[0].trim();
  if (!first.startsWith("{") || !first.includes('"trace"')) return null;
  let head;
  try {
    head = JSON.parse(first);
  } catch {
    return null; // not JSON: readTrace says so, with its line
  }
  if (!head || typeof head !== "object" || !("trace" in head) || "seq" in head) return null;
  const where = "line 1 (the header)";
  if (head.trace !== TRACE_FORMAT) {
    throw new TraceError(where, `the field "trace" must be "${TRACE_FORMAT}" (found ${shown(head.trace)})`, "trace");
  }
  if (head.v !== TRACE_VERSION) {
    throw new TraceError(where, `the field "v" must be ${TRACE_VERSION}: this page reads version ${TRACE_VERSION} traces (found ${shown(head.v)})`, "v");
  }
  if (typeof head.protocol !== "string" || !/^[a-z0-9-]{1,32}$/.test(head.protocol)) {
    throw new TraceError(where, `the field "protocol" must name a protocol (found ${shown(head.protocol)})`, "protocol");
  }
  if (typeof head.run !== "string" || !/^v\d+\.[jz][A-Za-z0-9_-]*$/.test(head.run) || head.run.length > 65536) {
    throw new TraceError(where, `the field "run" must be a run specification text (found ${shown(head.run)})`, "run");
  }
  return { protocol: head.protocol, run: head.run };
}

/** The text of a trace: its header line, then one event per line (what `readTrace` reads). */
export function writeTrace(header, events) {
  const head = { trace: TRACE_FORMAT, v: TRACE_VERSION, protocol: header.protocol, run: header.run };
  return [JSON.stringify(head), ...events.map((ev) => JSON.stringify(ev))].join("\n") + "\n";
}

export function readTrace(text, manifest = null) {
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
    if (i === 0 && "trace" in ev && !("seq" in ev)) return; // the header (traceHeader)
    if (!("seq" in ev) && !("type" in ev)) {
      // the summary line `--events --json` prints last: allowed there only
      if (i === items.length - 1 && events.length) return;
      throw new TraceError(where, "not an event: it has no \"seq\" and no \"type\" field");
    }
    checkEvent(where, ev, events.at(-1), manifest);
    events.push(ev);
  });
  if (!events.length) throw new TraceError("the file", "no events found");
  return events;
}

function checkEvent(where, ev, previous, manifest) {
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
  const types = manifest ? Object.keys(manifest.eventTypes) : [];
  const known = typeof ev.type === "string" && (types.length ? types.includes(ev.type)
    : /^[a-z_]+$/.test(ev.type));
  if (!known) {
    const like = types.length
      ? `an event type of the protocol this page runs, such as "${types[0]}"`
      : "an event type (a name in lower case)";
    throw new TraceError(where, `the field "type" must be ${like} (found ${shown(ev.type)})`, "type");
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

