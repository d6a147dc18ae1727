/**
 * Details of one mark: what happened, when, to which message and packet, and its causal chain
 * (root cause first). Shown next to the mark on hover or keyboard focus; text only. With a `view`
 * (the timeline), it says what the current lens allows: in the producer's view no hindsight (no
 * timeout explanations, a false "done" reads as the ack the producer takes it for); in the
 * observer's view a timeout says what it really was once the run has explained it.
 */

import { formatTime } from "./layout.js";

const NAMES = {
  send: "Send", retry: "Retry", drop: "Drop", timeout: "Timeout", ack_send: "Ack sent",
  nack: "Nack sent", ack_deliver: "Answer received", ack_drop: "Ack lost",
  net_duplicate: "Network duplicate", deliver: "Delivered", process: "Processed",
  process_fail: "Processing failed", dedup_discard: "Discarded by dedup", buffer: "Held",
  release: "Released", gap_skip: "Gap skipped", stale_drop: "Stale dropped",
  transition_applied: "Transition applied", transition_parked: "Transition parked",
  transition_rejected: "Transition rejected", give_up: "Give up", crash: "Crash",
  restart: "Restart", config_change: "Setting changed", fault_injected: "Injected fault",
  timeout_explained: "Timeout explained", dead_letter: "Dead-lettered",
  dedup_record: "Dedup key recorded",
};

const VERDICTS = {
  processed: "it had been processed",
  lost: "it was lost",
  late: "it was late, processed after",
};

const DETAILS = {
  answer_lost: "its answer was lost",
  answer_slow: "its answer was still on its way",
  dropped: "the network dropped what was sent",
  crash: "a crash lost it",
  skipped: "the reorder buffer skipped it",
  failed: "processing failed",
  on_its_way: "a copy was still travelling",
  waiting: "a copy was waiting in the consumer",
};

/** A verdict in words: "it had been processed (its answer was lost)". */
export function verdictText(ev) {
  if (!ev || !ev.verdict) return "";
  const base = VERDICTS[ev.verdict] || ev.verdict;
  const why = DETAILS[ev.detail];
  return why ? `${base} (${why})` : base;
}

/**
 * What an event is called, seen through `view` (the timeline: its lens and the run's
 * explanations); without a view, as the observer sees it.
 */
export function eventName(ev, view = null) {
  let name = NAMES[ev.type] || ev.type;
  const producer = view && view.lens === "producer";
  if (ev.type === "ack_deliver" && ev.false_done && !producer) name += " (false “done”)";
  if (ev.type === "timeout" && view && !producer) {
    const why = view.explanationOf(ev);
    if (why && why.verdict) name += `: ${VERDICTS[why.verdict] || why.verdict}`;
  }
  if (ev.type === "timeout_explained" && ev.verdict) name += `: ${VERDICTS[ev.verdict] || ev.verdict}`;
  if (ev.duplicate) name += " (duplicate)";
  return name;
}

/** The plain-language sentence of an event under `view`'s lens. */
export function eventText(ev, view = null) {
  const producer = view && view.lens === "producer";
  if (producer && ev.type === "ack_deliver" && ev.false_done) {
    return `An ack for message ${ev.msg} reached the producer: it records the message as done.`;
  }
  return ev.text || "";
}

export class Details {
  /** @param {HTMLElement} box  @param {HTMLElement} stage */
  constructor(box, stage) {
    this.box = box;
    this.stage = stage;
    this.view = null; // the timeline, once the toolbar is bound: lens and explanations
  }

  hide() {
    this.box.hidden = true;
  }

  show(model, seq, x, y) {
    const ev = model.get(seq);
    if (!ev) {
      this.hide();
      return;
    }
    const box = this.box;
    const title = document.createElement("p");
    title.className = "details-title";
    const facts = [formatTime(ev.t)];
    if (ev.msg != null) facts.push(`message ${ev.msg}`);
    if (ev.packet != null) facts.push(`packet ${ev.packet}`);
    if (ev.attempt != null) facts.push(`attempt ${ev.attempt}`);
    if (ev.seqno != null) facts.push(`seqno ${ev.seqno}`);
    if (ev.reason) facts.push(`reason: ${ev.reason}`);
    const view = this.view;
    const shows = (e) => !view || view.shows(e);
    title.textContent = `${eventName(ev, view)} · ${facts.join(" · ")}`;
    const text = document.createElement("p");
    text.textContent = eventText(ev, view);
    const parts = [title, text];
    const why = view && view.lens !== "producer" ? view.explanationOf(ev) : null;
    if (why) {
      const hindsight = document.createElement("p");
      hindsight.className = "details-hindsight";
      hindsight.textContent = `In hindsight (${formatTime(why.t)}): ${verdictText(why)}.`;
      parts.push(hindsight);
    }
    const full = [...model.chain(seq)].filter((s) => s === seq || shows(model.get(s)));
    const chain = full.sort((a, b) => a - b).slice(0, 14);
    const list = document.createElement("ol");
    list.className = chain.length > 7 ? "details-chain two-columns" : "details-chain";
    for (const s of chain) {
      const e = model.get(s);
      if (!e) continue;
      const li = document.createElement("li");
      li.textContent = `${formatTime(e.t)} ${eventName(e, view)}`;
      if (s === seq) li.className = "current";
      list.append(li);
    }
    const head = document.createElement("p");
    head.className = "details-sub";
    head.textContent = "Causal chain";
    box.replaceChildren(...parts, head, list);
    box.hidden = false;
    // Keep the chain visible: put the box below the mark when most of its chain came before it
    // (time flows down), above it otherwise; beside the mark when neither fits.
    const all = full;
    const before = all.filter((s) => s < seq).length;
    const w = this.stage.clientWidth;
    const h = this.stage.clientHeight;
    const bw = box.offsetWidth;
    const bh = box.offsetHeight;
    const below = y + 18;
    const above = y - 18 - bh;
    let top = before >= all.length / 2 ? below : above;
    if (top + bh > h - 4) top = above;
    if (top < 4) top = below;
    let left = Math.min(Math.max(4, x - bw / 2), w - bw - 4);
    if (top + bh > h - 4 || top < 4) {
      top = Math.min(Math.max(4, y - bh / 2), h - bh - 4);
      left = x + 16 + bw < w ? x + 16 : Math.max(4, x - bw - 16);
    }
    box.style.left = `${left}px`;
    box.style.top = `${top}px`;
  }
}
