/**
 * The event log: every event as a sentence, in an ARIA live region (polite).
 *
 * Each entry is an element carrying `data-event-type` and `data-seq`, with the event's
 * plain-language `text` set through textContent (never parsed as HTML). The list is bounded; the
 * newest entries are appended in batches, at most once per animation frame.
 */

import { formatTime } from "./layout.js";

export const LOG_LIMIT = 250;

export class EventLog {
  /** @param {HTMLOListElement} list */
  constructor(list) {
    this.list = list;
    this.queue = [];
  }

  /** Queue events for the next flush (keeps only what could ever be shown). */
  push(events) {
    for (const ev of events) this.queue.push(ev);
    if (this.queue.length > LOG_LIMIT) this.queue.splice(0, this.queue.length - LOG_LIMIT);
  }

  reset(events) {
    this.queue = [];
    this.list.replaceChildren();
    this.push(events);
    this.flush();
  }

  flush() {
    if (!this.queue.length) return;
    const follow = this.list.scrollTop + this.list.clientHeight >= this.list.scrollHeight - 24;
    const frag = document.createDocumentFragment();
    for (const ev of this.queue) frag.append(entry(ev));
    this.queue = [];
    this.list.append(frag);
    const extra = this.list.childElementCount - LOG_LIMIT;
    for (let i = 0; i < extra; i++) this.list.firstElementChild.remove();
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }
}

function entry(ev) {
  const li = document.createElement("li");
  li.dataset.eventType = String(ev.type);
  li.dataset.seq = String(ev.seq);
  li.className = `log-${String(ev.type).replace(/[^a-z_]/g, "")}`;
  const time = document.createElement("span");
  time.className = "log-time";
  time.textContent = formatTime(ev.t);
  const text = document.createElement("span");
  text.className = "log-text";
  text.textContent = typeof ev.text === "string" && ev.text ? ev.text : ev.type;
  li.append(time, " ", text);
  return li;
}
