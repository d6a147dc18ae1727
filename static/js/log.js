/**
 * The event log: every event as a sentence, in an ARIA live region (polite).
 *
 * Each entry is an element carrying `data-event-type` and `data-seq`, with the event's
 * plain-language `text` set through textContent (never parsed as HTML). A setting change is
 * written from its `changes` in the page's words (the field's label and the choice's wording, as
 * the settings show them), not the server's field names. The list is bounded; the newest entries
 * are appended in batches, at most once per animation frame.
 */

import { formatTime } from "./layout.js";

export const LOG_LIMIT = 250;

function plainValue(v) {
  if (Array.isArray(v)) return v.length ? v.join(" ") : "none";
  if (v === null || v === undefined) return "none";
  return String(v);
}

/**
 * A `config_change` in the page's words: "Settings changed: Dedup store: Durable → In memory".
 * The notes the server adds after the list of changes (what the change does to the run now) are
 * kept: from `ev.notes` when present, else from its text after the first "; ".
 */
export function describeConfigChange(ev, words = {}) {
  const label = words.label || ((name) => name);
  const choice = words.choice || ((name, value) => plainValue(value));
  const changes = ev && ev.changes && typeof ev.changes === "object" ? ev.changes : null;
  if (!changes || !Object.keys(changes).length) return typeof ev?.text === "string" ? ev.text : "";
  const parts = Object.entries(changes).map(([name, pair]) => {
    const [before, after] = Array.isArray(pair) ? pair : [undefined, pair];
    const from = before === undefined ? "" : `${choice(name, before)} → `;
    return `${label(name)}: ${from}${choice(name, after)}`;
  });
  let notes = [];
  if (Array.isArray(ev.notes)) notes = ev.notes.filter((n) => typeof n === "string" && n);
  else if (typeof ev.text === "string" && ev.text.startsWith("Settings changed:")) {
    const i = ev.text.indexOf("; ");
    if (i >= 0) notes = [ev.text.slice(i + 2)];
  }
  return `Settings changed: ${parts.join("; ")}.${notes.length ? ` ${capital(notes.join("; "))}.` : ""}`;
}

function capital(s) {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export class EventLog {
  /**
   * @param {HTMLOListElement} list
   * @param {{label?: (name: string) => string, choice?: (name: string, value: any) => string,
   *          settingChange?: (ev: object) => boolean}} words
   *   how the page names a setting and a choice, and which events change settings (the
   *   manifest's event types drawn as a `config` line)
   */
  constructor(list, words = {}) {
    this.list = list;
    this.words = words;
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
    for (const ev of this.queue) frag.append(entry(ev, this.words));
    this.queue = [];
    this.list.append(frag);
    const extra = this.list.childElementCount - LOG_LIMIT;
    for (let i = 0; i < extra; i++) this.list.firstElementChild.remove();
    if (follow) this.list.scrollTop = this.list.scrollHeight;
  }
}

function entry(ev, words) {
  const li = document.createElement("li");
  li.dataset.eventType = String(ev.type);
  li.dataset.seq = String(ev.seq);
  li.className = `log-${String(ev.type).replace(/[^a-z_]/g, "")}`;
  const time = document.createElement("span");
  time.className = "log-time";
  time.textContent = formatTime(ev.t);
  const text = document.createElement("span");
  text.className = "log-text";
  const said = words.settingChange?.(ev) ? describeConfigChange(ev, words) : ev.text;
  text.textContent = typeof said === "string" && said ? said : String(ev.type);
  li.append(time, " ", text);
  return li;
}
