/**
 * The protocols' own parts of the page, by the name a manifest gives (`manifest.protocol`).
 *
 * A part may bring `views()` (what it derives from the events beyond the event store: a ledger, a
 * reorder buffer's story), `traceSummary(events)` and `traceView(events)` (the counters and the
 * panels' state of a replayed trace) and `panels` (whether the page's protocol-specific panels
 * apply). A protocol without a part of its own gets the generic one: no extra views, counters
 * that count each event type, no protocol-specific panels; everything drawn on the timeline comes
 * from its manifest either way.
 */

import { classic } from "./classic.js";

const PARTS = { classic };

/** Counters of a trace for a protocol the page has no part for: events per type. */
function countTypes(events) {
  const out = {};
  for (const ev of events) out[ev.type] = (out[ev.type] || 0) + 1;
  out.events = events.length ? events.at(-1).seq : 0;
  return out;
}

const GENERIC = Object.freeze({
  views: () => null,
  traceSummary: countTypes,
  traceView: () => ({ in_flight: [] }),
  panels: false,
});

/** The page part of the protocol called `name` (the generic part when it has none). */
export function pagePart(name) {
  return Object.hasOwn(PARTS, name) ? PARTS[name] : GENERIC;
}
