/**
 * Details of one mark: what happened, when, to which message and packet, and its causal chain
 * (root cause first). Shown next to the mark on hover or keyboard focus; text only. Names and
 * words come from the manifest (each event type's `name`, its variants' notes, the hindsight's
 * verdicts). With a `view` (the timeline), it says what the current lens allows: in a node's view
 * (the producer's) no hindsight (no timeout explanations, a false "done" reads as the ack the
 * producer takes it for); in the observer's view an explained event (a timeout) says what it
 * really was once the run has explained it.
 */

import { formatTime } from "./layout.js";

/**
 * What an event is called (`manifest`: the run's, manifest.js), seen through `view` (the timeline:
 * its lens and the run's explanations); without a view, as the observer sees it.
 */
export function eventName(ev, manifest, view = null) {
  let name = manifest.name(ev.type);
  const observer = !view || view.observer;
  const h = manifest.hindsight;
  if (h && ev.type === h.explains && view && observer) {
    const why = view.explanationOf(ev);
    const verdict = why && why[h.field];
    if (verdict) name += `: ${h.verdicts[verdict] || verdict}`;
  }
  if (h && ev.type === h.event && ev[h.field]) name += `: ${h.verdicts[ev[h.field]] || ev[h.field]}`;
  const variant = manifest.variant(ev, observer);
  if (variant && variant.note) name += ` (${variant.note})`;
  return name;
}

/** The plain-language sentence of an event under `view`'s lens. */
export function eventText(ev, manifest, view = null) {
  if (view && !view.observer) {
    // what the observer knows of it is not what this view's node knows: say it the node's way
    const hidden = manifest.hiddenVariant(ev);
    if (hidden && typeof hidden.hidden_text === "string") {
      return hidden.hidden_text.replaceAll("{msg}", String(ev.msg));
    }
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
    const manifest = model.manifest;
    title.textContent = `${eventName(ev, manifest, view)} · ${facts.join(" · ")}`;
    const text = document.createElement("p");
    text.textContent = eventText(ev, manifest, view);
    const parts = [title, text];
    const why = view && view.observer ? view.explanationOf(ev) : null;
    if (why) {
      const hindsight = document.createElement("p");
      hindsight.className = "details-hindsight";
      hindsight.textContent = `In hindsight (${formatTime(why.t)}): ${manifest.verdictText(why)}.`;
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
      li.textContent = `${formatTime(e.t)} ${eventName(e, manifest, view)}`;
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
