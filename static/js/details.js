/**
 * Details of one mark: what happened, when, to which message and packet, and its causal chain
 * (root cause first). Shown next to the mark on hover or keyboard focus; text only.
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
};

export function eventName(ev) {
  let name = NAMES[ev.type] || ev.type;
  if (ev.duplicate) name += " (duplicate)";
  return name;
}

export class Details {
  /** @param {HTMLElement} box  @param {HTMLElement} stage */
  constructor(box, stage) {
    this.box = box;
    this.stage = stage;
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
    title.textContent = `${eventName(ev)} · ${facts.join(" · ")}`;
    const text = document.createElement("p");
    text.textContent = ev.text || "";
    const chain = [...model.chain(seq)].sort((a, b) => a - b).slice(0, 14);
    const list = document.createElement("ol");
    list.className = chain.length > 7 ? "details-chain two-columns" : "details-chain";
    for (const s of chain) {
      const e = model.get(s);
      if (!e) continue;
      const li = document.createElement("li");
      li.textContent = `${formatTime(e.t)} ${eventName(e)}`;
      if (s === seq) li.className = "current";
      list.append(li);
    }
    const head = document.createElement("p");
    head.className = "details-sub";
    head.textContent = "Causal chain";
    box.replaceChildren(title, text, head, list);
    box.hidden = false;
    // Keep the chain visible: put the box below the mark when most of its chain came before it
    // (time flows down), above it otherwise; beside the mark when neither fits.
    const all = [...model.chain(seq)];
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
