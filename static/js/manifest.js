/**
 * The manifest: the shape of a run as its protocol declares it, sent by the server in the
 * `session` message (docs/protocols.md, "What the page reads from the manifest").
 *
 * The page learns everything protocol-shaped from here: the lanes in order and their labels, the
 * nodes (and the lane each is drawn on), which event types put a packet on the wire or end its
 * flight, the mark each event gets (`markOf`, with the event type's variants), the legend's rows,
 * the node actions (crash and restart buttons), the lens (the partial view beside the observer's),
 * the hindsight rule (which event explains which) and the mechanisms' panels. Colours are named by
 * the keys of the drawing library's PALETTE and resolved here. Nothing here draws or touches the
 * DOM; an empty or missing manifest gives an empty shape (no lanes, no marks), never an error.
 */

import { arrowOf, PALETTE } from "./glyphs.js";

const NO_META = Object.freeze({});

function list(value) {
  return Array.isArray(value) ? value : [];
}

function text(value, fallback = "") {
  return typeof value === "string" ? value : fallback;
}

/** Whether `ev` has every field of `when` (an array there means "one of"). */
export function matches(when, ev) {
  if (!when || typeof when !== "object") return true;
  for (const [field, want] of Object.entries(when)) {
    const got = ev[field];
    if (Array.isArray(want) ? !want.includes(got) : got !== want) return false;
  }
  return true;
}

function colour(name, fallback) {
  if (typeof name !== "string") return fallback;
  return PALETTE[name] || (name.startsWith("#") ? name : fallback);
}

export class Manifest {
  /** @param {object|null} raw  the manifest as the server sent it */
  constructor(raw = null) {
    const m = raw && typeof raw === "object" ? raw : {};
    this.raw = m;
    this.protocol = text(m.protocol);
    this.title = text(m.title);
    this.lanes = list(m.lanes).filter((l) => l && typeof l.id === "string")
      .map((l) => ({
        id: l.id, label: text(l.label, l.id), optional: Boolean(l.optional), narrow: Boolean(l.narrow),
      }));
    this._laneLabels = new Map(this.lanes.map((l) => [l.id, l.label]));
    this.nodes = list(m.nodes).filter((n) => n && typeof n.id === "string")
      .map((n) => ({
        id: n.id, lane: text(n.lane, n.id), label: text(n.label, n.id), role: text(n.role),
        crashable: n.crashable !== false,
      }));
    this._nodes = new Map(this.nodes.map((n) => [n.id, n]));
    this.links = list(m.links);
    this.packetKinds = list(m.packet_kinds).filter((k) => typeof k === "string");
    this.eventTypes = m.event_types && typeof m.event_types === "object" ? m.event_types : {};
    this.fields = Array.isArray(m.fields) ? new Set(m.fields) : null;

    this.marks = {};
    const marks = m.marks && typeof m.marks === "object" ? m.marks : {};
    for (const [key, mark] of Object.entries(marks)) {
      if (!mark || typeof mark !== "object") continue;
      const color = colour(mark.color, PALETTE.white);
      this.marks[key] = Object.freeze({
        ...mark, key, colorName: mark.color, color,
        overviewColor: colour(mark.overview_color, color),
      });
    }
    this.crossingMark = Object.values(this.marks).find((k) => k.line === "crossing") || null;

    this.starts = new Set();
    this.ends = new Set();
    this.lost = new Set();
    for (const [type, meta] of Object.entries(this.eventTypes)) {
      if (!meta || typeof meta !== "object") continue;
      if (meta.packet === "start") this.starts.add(type);
      if (meta.packet === "end") this.ends.add(type);
      if (meta.packet === "end" && meta.lost) this.lost.add(type);
    }
    this._arrows = new Map();

    this.nodeActions = list(m.node_actions)
      .filter((a) => a && typeof a.node === "string")
      .map((a) => ({
        node: a.node, label: this.nodeLabel(a.node),
        actions: list(a.actions).filter((x) => typeof x === "string"),
      }));
    this.lens = this._lens(m.lens);
    this.hindsight = this._hindsight(m.hindsight);
    this.openHeads = new Set(list(m.open_heads));
    this.mechanisms = list(m.mechanisms).filter((x) => x && typeof x.panel === "string")
      .map((x) => ({ panel: x.panel, setting: x.setting, value: x.value, events: list(x.events) }));
  }

  /** The partial view beside the observer's: a node's knowledge (by default the sender's). */
  _lens(lens) {
    const given = lens && typeof lens === "object" ? lens : {};
    const id = text(given.node) || this.nodes.find((n) => n.role === "sender")?.id;
    if (!id) return null;
    const who = this.nodeLabel(id);
    const label = text(given.label, `${who}'s view`);
    const lanes = Array.isArray(given.lanes) ? given.lanes : [this.laneOf(id)];
    return {
      id, label, lanes: new Set(lanes),
      says: text(given.says, `${label}: only what the ${who.toLowerCase()} can know; other lanes dimmed.`),
    };
  }

  _hindsight(h) {
    if (!h || typeof h !== "object" || !h.event || !h.explains) return null;
    const words = (x) => (x && typeof x === "object" ? x : {});
    return {
      event: h.event, explains: h.explains, field: text(h.field, "verdict"),
      detail: text(h.detail, "detail"), marks: words(h.marks), verdicts: words(h.verdicts),
      details: words(h.details),
    };
  }

  /** The lanes always shown, in order (optional ones appear once an event uses them). */
  baseLanes() {
    return this.lanes.filter((l) => !l.optional).map((l) => l.id);
  }

  /** Lanes in drawing order: the manifest's (optional ones when `seen`), then any others seen. */
  laneOrder(seen) {
    const known = this.lanes.filter((l) => !l.optional || seen.has(l.id)).map((l) => l.id);
    const extra = [...seen].filter((lane) => !this._laneLabels.has(lane));
    return known.concat(extra);
  }

  laneLabel(lane) {
    return this._laneLabels.get(lane) ?? lane ?? "";
  }

  node(id) {
    return this._nodes.get(id) || null;
  }

  nodeLabel(id) {
    return this._nodes.get(id)?.label ?? id;
  }

  /** The lane a node is drawn on (a lane's own id is its lane). */
  laneOf(id) {
    return this._nodes.get(id)?.lane ?? id;
  }

  /** What the manifest says of an event type (an empty object for a type it does not know). */
  meta(type) {
    const meta = this.eventTypes[type];
    return meta && typeof meta === "object" ? meta : NO_META;
  }

  /** An event type's name, for the details and the text view. */
  name(type) {
    return text(this.meta(type).name, type);
  }

  knows(type) {
    return Object.hasOwn(this.eventTypes, type);
  }

  mark(key) {
    return (key && this.marks[key]) || null;
  }

  /**
   * The variant of its event type that applies to `ev` (null: none). A view that does not see
   * observer marks (`observer` false) skips the variants that would show one.
   */
  variant(ev, observer = true) {
    for (const v of list(this.meta(ev.type).variants)) {
      if (!v || !matches(v.when, ev)) continue;
      if (!observer && this.marks[v.mark]?.observer) continue;
      return v;
    }
    return null;
  }

  /** The mark an event gets (null: none), as the observer sees it or, `observer` false, not. */
  markOf(ev, observer = true) {
    const v = this.variant(ev, observer);
    const key = v ? v.mark : this.meta(ev.type).mark;
    return key && this.marks[key] ? key : null;
  }

  /** The variant an observer would see but a partial view does not (its `hidden_text`). */
  hiddenVariant(ev) {
    const v = this.variant(ev, true);
    return v && this.marks[v.mark]?.observer ? v : null;
  }

  /** Whether only an observer of the whole run can know this event. */
  observerOnly(ev) {
    return Boolean(ev && (ev.observer || this.meta(ev.type).observer));
  }

  /** The arrow ({color, width, dash}) of packets that an event of `type` put on the wire. */
  arrowFor(type) {
    let arrow = this._arrows.get(type);
    if (!arrow) {
      arrow = arrowOf(this.mark(this.meta(type).mark));
      this._arrows.set(type, arrow);
    }
    return arrow;
  }

  /** The event type that put an in-flight packet (a snapshot's `in_flight` entry) on the wire. */
  startTypeOf(packet) {
    for (const type of this.starts) {
      const when = this.meta(type).in_flight;
      if (when && matches(when, packet)) return type;
    }
    return this.starts.values().next().value ?? null;
  }

  /** The explanation event type's verdict and detail in words: "it was lost (a crash lost it)". */
  verdictText(ev) {
    const h = this.hindsight;
    const verdict = h && ev ? ev[h.field] : null;
    if (!verdict) return "";
    const base = h.verdicts[verdict] || verdict;
    const why = h.details[ev[h.detail]];
    return why ? `${base} (${why})` : base;
  }

  /**
   * The legend: every mark, in the manifest's order, with its words and what its sample draws
   * (`arrow`: the arrow drawn with it; `cut`: the mark ends that arrow, as a loss does).
   */
  legend() {
    return Object.values(this.marks).map((mark) => {
      let arrow = null;
      let cut = false;
      if (mark.cuts && this.marks[mark.cuts]) {
        arrow = arrowOf(this.marks[mark.cuts]);
        cut = true;
      } else if (mark.arrow) {
        arrow = arrowOf(mark);
      }
      return {
        key: mark.key, label: text(mark.label, mark.key), help: text(mark.help),
        observer: Boolean(mark.observer), mark, arrow, cut,
      };
    });
  }
}
