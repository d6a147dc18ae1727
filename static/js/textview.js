/**
 * The timeline as text: a real <table> of the run, one group of rows per message (its happenings
 * in order, with time, place and the plain-language sentence), for screen readers, keyboard users
 * and anyone who wants to copy the story into notes.
 *
 * It is a snapshot taken when opened (and on Refresh, or when the view or focused message
 * changes), so reading it is not disturbed by a playing run. It follows the timeline's lens (a
 * node's view, the producer's, leaves out what only an observer knows) and its focused message;
 * lanes and names are the manifest's. Everything is set with textContent.
 */

import { eventName, eventText } from "./details.js";
import { formatTime } from "./layout.js";

const MAX_MESSAGES = 40;
const MAX_ROWS = 2000;

function el(doc, tag, text, attrs = {}) {
  const node = doc.createElement(tag);
  if (text != null) node.textContent = text;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export class TextView {
  /**
   * @param {Document} doc
   * @param {import("./state.js").RunModel} model
   * @param {import("./timeline.js").Timeline} view  the timeline: lens, focused message, explanations
   */
  constructor(doc, model, view) {
    this.doc = doc;
    this.model = model;
    this.view = view;
    this.root = doc.getElementById("textview");
    this.button = doc.getElementById("open-textview");
    this.shownFor = "";
    this._build();
    this.button.addEventListener("click", () => (this.isOpen() ? this.close() : this.open()));
    this.root.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.preventDefault();
        this.close();
      }
    });
  }

  _build() {
    const d = this.doc;
    const head = el(d, "div", null, { class: "textview-head" });
    this.title = el(d, "h2", "The run as text", { id: "textview-title", tabindex: "-1" });
    const refresh = el(d, "button", "Refresh", { type: "button" });
    refresh.addEventListener("click", () => this.render());
    const copy = el(d, "button", "Copy as text", { type: "button" });
    copy.addEventListener("click", () => this.copy());
    const close = el(d, "button", "Close text view", { type: "button" });
    close.addEventListener("click", () => this.close());
    head.append(this.title, refresh, copy, close);
    this.note = el(d, "p", "", { class: "help", id: "textview-note", role: "status" });
    this.table = el(d, "table", null, { class: "textview-table" });
    this.caption = el(d, "caption", "");
    const thead = el(d, "thead");
    const tr = el(d, "tr");
    for (const name of ["Message", "Time", "Where", "What happened", "In plain words"]) {
      tr.append(el(d, "th", name, { scope: "col" }));
    }
    thead.append(tr);
    this.table.append(this.caption, thead);
    const scroll = el(d, "div", null, { class: "textview-scroll" });
    scroll.append(this.table);
    this.root.setAttribute("aria-labelledby", "textview-title");
    this.root.replaceChildren(head, this.note, scroll);
  }

  isOpen() {
    return !this.root.hidden;
  }

  /** Open (or refresh) the text view and move the keyboard focus into it. */
  open() {
    this.render();
    this.root.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.title.focus();
    this.root.scrollIntoView({ block: "nearest" });
  }

  close() {
    if (!this.isOpen()) return;
    this.root.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.button.focus();
  }

  /** Re-render when open and the lens or the focused message changed since the last render. */
  refreshIfOpen() {
    if (this.isOpen() && this._key() !== this.shownFor) this.render();
  }

  _key() {
    return `${this.view.lens}|${this.view.focusMsg ?? ""}`;
  }

  /** The groups to show: [{msg, events}] for the latest messages (or the focused one). */
  groups() {
    const view = this.view;
    const focus = view.focusMsg;
    const hindsight = this.model.manifest.hindsight;
    const byMsg = new Map();
    const other = [];
    for (const ev of this.model.events) {
      if (!view.shows(ev)) continue;
      if (ev.msg == null) {
        if (!hindsight || ev.type !== hindsight.event) other.push(ev);
        continue;
      }
      if (focus != null && ev.msg !== focus) continue;
      let list = byMsg.get(ev.msg);
      if (!list) {
        list = [];
        byMsg.set(ev.msg, list);
      }
      list.push(ev);
    }
    const msgs = [...byMsg.keys()].sort((a, b) => a - b);
    const shown = msgs.slice(-MAX_MESSAGES);
    const groups = shown.map((msg) => ({ msg, events: byMsg.get(msg) }));
    if (focus == null && other.length) {
      const from = groups.length ? groups[0].events[0].t : -Infinity;
      const rest = other.filter((ev) => ev.t >= from);
      if (rest.length) groups.push({ msg: null, events: rest });
    }
    return { groups, total: msgs.length };
  }

  render() {
    const d = this.doc;
    const view = this.view;
    const manifest = this.model.manifest;
    const { groups, total } = this.groups();
    this.shownFor = this._key();
    const bodies = [];
    let rows = 0;
    for (const g of groups) {
      const events = g.events.slice(0, Math.max(0, MAX_ROWS - rows));
      if (!events.length) break;
      rows += events.length;
      const tbody = el(d, "tbody");
      if (g.msg != null) tbody.dataset.msg = String(g.msg);
      else tbody.dataset.msg = "none";
      events.forEach((ev, i) => {
        const tr = el(d, "tr");
        tr.dataset.seq = String(ev.seq);
        tr.dataset.eventType = ev.type;
        if (i === 0) {
          const name = g.msg != null ? `Message ${g.msg}` : "Whole run";
          tr.append(el(d, "th", name, { scope: "rowgroup", rowspan: String(events.length) }));
        }
        tr.append(
          el(d, "td", formatTime(ev.t)),
          el(d, "td", manifest.laneLabel(view.eventLane(ev)) || ""),
          el(d, "td", eventName(ev, manifest, view)),
          el(d, "td", eventText(ev, manifest, view)),
        );
        tbody.append(tr);
      });
      bodies.push(tbody);
    }
    for (const old of [...this.table.tBodies]) old.remove();
    this.table.append(...bodies);
    const partial = manifest.lens;
    const lens = !view.observer && partial
      ? `${partial.label}: only what the ${manifest.nodeLabel(partial.id).toLowerCase()} can know`
      : "Observer's view: everything, with hindsight";
    const which = view.focusMsg != null
      ? `message ${view.focusMsg}`
      : total > groups.filter((g) => g.msg != null).length
        ? `the latest ${MAX_MESSAGES} of ${total} messages`
        : `${total} message${total === 1 ? "" : "s"}`;
    this.caption.textContent = `What happened to each message, in order (${which}). ${lens}.`;
    this.note.textContent = groups.length
      ? `As of t = ${formatTime(this.model.now)}. Refresh to include what happened since.`
      : "Nothing has happened yet: press Play, then Refresh.";
  }

  /** The table as plain text: a heading line per message, one indented line per happening. */
  asText() {
    const lines = [this.caption.textContent];
    for (const tbody of this.table.tBodies) {
      const msg = tbody.dataset.msg;
      lines.push("", msg === "none" ? "Whole run" : `Message ${msg}`);
      for (const tr of tbody.rows) {
        const cells = [...tr.cells].filter((c) => c.tagName === "TD").map((c) => c.textContent);
        lines.push(`  ${cells.join("  ")}`);
      }
    }
    return lines.join("\n");
  }

  async copy() {
    const text = this.asText();
    try {
      await navigator.clipboard.writeText(text);
      this.note.textContent = "Copied the table as plain text.";
    } catch {
      // no clipboard access: select the table so the usual copy keys work
      const range = this.doc.createRange();
      range.selectNodeContents(this.table);
      const sel = this.doc.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      this.note.textContent = "The table is selected: press Ctrl+C (or ⌘C) to copy it.";
    }
  }
}
