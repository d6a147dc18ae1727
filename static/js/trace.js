/**
 * Trace files: the events of a run as JSON lines (what `python -m simulator run --events`
 * prints) or one JSON array. Read for viewing offline; every line is checked and a bad one is
 * named in the error.
 */

export const MAX_TRACE_EVENTS = 2_000_000;

export function readTrace(text) {
  const trimmed = text.trim();
  if (!trimmed) throw new Error("the file is empty");
  let items;
  if (trimmed.startsWith("[")) {
    items = JSON.parse(trimmed);
    if (!Array.isArray(items)) throw new Error("expected a JSON array of events");
  } else {
    items = [];
    const lines = trimmed.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      try {
        items.push(JSON.parse(line));
      } catch {
        throw new Error(`line ${i + 1} is not JSON`);
      }
    }
  }
  if (items.length > MAX_TRACE_EVENTS) throw new Error(`more than ${MAX_TRACE_EVENTS} events`);
  const events = items.filter((ev) => ev && typeof ev === "object" && "seq" in ev);
  events.forEach((ev, i) => {
    if (!Number.isInteger(ev.seq)) throw new Error(`event ${i + 1}: seq must be a whole number`);
    if (typeof ev.t !== "number") throw new Error(`event ${i + 1}: t must be a number`);
    if (typeof ev.type !== "string") throw new Error(`event ${i + 1}: type must be a string`);
  });
  if (!events.length) throw new Error("no events found");
  events.sort((a, b) => a.seq - b.seq);
  return events;
}
