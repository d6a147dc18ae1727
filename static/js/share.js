/**
 * Share and export a run: a link that opens this very run where the page shows it, and the
 * run's events as a trace file whose header is its run specification (trace.js).
 *
 * Both ask the server (`share {position}`) for the run specification text: the settings, the
 * seed, the scripted faults and every live change, and the position (the last event the page
 * shows). A link is `/?run=<text>&at=<seq>` (main.js opens it: `open_run`); a trace file is
 * what `python -m simulator run --events` writes, the header first, and opens under Advanced
 * settings as a read-only replay.
 */

import { writeTrace } from "./trace.js";

/** The link to the run the page shows, at its last event (`{url, seq}`), or a refusal. */
export async function runLink(lab) {
  const answer = await lab.send("share", { position: lab.model.lastSeq || 0 });
  if (!answer || answer.ok === false) return { error: answer && answer.error };
  const url = new URL("/", location.href);
  url.searchParams.set("run", answer.run);
  url.searchParams.set("at", String(answer.seq));
  return { url: url.href, seq: answer.seq };
}

/**
 * The run's events as a trace (`{blob, filename, count}`): every event from the first, which the
 * page holds for runs up to its limit; a run it holds only the end of is refused with why.
 */
export async function runTrace(lab) {
  const model = lab.model;
  if (!model.events.length) return { error: { message: "the run has no events yet" } };
  if (model.firstSeq !== 1) {
    return {
      error: {
        message: `this page holds the run's events from ${model.firstSeq} on only; `
          + "the command line writes a whole trace of any length (python -m simulator run --events)",
      },
    };
  }
  const answer = await lab.send("share", { position: model.lastSeq });
  if (!answer || answer.ok === false) return { error: answer && answer.error };
  const text = writeTrace({ protocol: answer.protocol, run: answer.run }, model.events);
  const seed = model.config && model.config.seed;
  return {
    blob: new Blob([text], { type: "application/x-ndjson" }),
    filename: `delivery-lab-${answer.protocol}-seed${seed ?? "x"}-${answer.seq}.jsonl`,
    count: model.events.length,
  };
}

/** Hand `blob` to the browser as a download named `filename`. */
export function download(blob, filename) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
