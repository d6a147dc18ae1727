/**
 * The timeline: a canvas sequence diagram of the run.
 *
 * Draws only what is on screen (events found by binary search on time, packets by send time),
 * switches to a batched, decimated drawing when a zoomed-out view holds thousands of marks, and
 * runs its requestAnimationFrame loop only while something moves (a playing, visible run with
 * motion allowed). Marks drawn in the last frame are kept for hit testing (hover, click, focus).
 *
 * Whose knowledge it shows (`lens`): the observer's view (default) shows everything, a timeout
 * marked by what it really was once the run explains it; the producer's view shows what the
 * producer can know: every timeout alike, no hindsight, the other lanes dimmed. A focused
 * message dims every other one; a pinned causal chain stays lit while the run plays. Presenter
 * size scales text, glyphs and strokes; the canvas backing store follows the device pixel ratio
 * (browser zoom included), so it stays sharp.
 */

import {
  ARROW_STYLE, GLYPH_OFFSET, GLYPH_TABLE, GLYPHS, glyphKey, PALETTE, TIMEOUT_VERDICT,
} from "./glyphs.js";
import { formatTime, LANE_LABELS, Layout } from "./layout.js";
import { lowerBound } from "./state.js";

const LOD_EVENTS = 2000;
const GLYPH_R = 7;
export const PRESENTER_SCALE = 1.5;
const MAX_EXTRAPOLATE_MS = 2500;
const DIM = 0.22;
const HIDDEN_LANE = 0.38;
const LOD_TYPES = ["send", "retry", "ack_send", "nack", "net_duplicate"];
const LOD_MARKS = [
  ["drop", PALETTE.vermillion], ["ack_drop", PALETTE.green], ["timeout", PALETTE.yellow],
  ["give_up", PALETTE.vermillion], ["dedup_discard", PALETTE.white], ["crash", PALETTE.vermillion],
  ["dead_letter", PALETTE.orange],
];
const LOD_MARK_INDEX = Object.fromEntries(LOD_MARKS.map(([type], i) => [type, i]));
/** Lanes the producer sees in the producer's view; the others are dimmed. */
const PRODUCER_LANES = new Set(["producer"]);

export function describeChanges(changes) {
  return Object.entries(changes || {})
    .map(([name, pair]) => (Array.isArray(pair) ? `${name}: ${pair[0]} → ${pair[1]}` : name))
    .join(", ");
}

export class Timeline {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {import("./state.js").RunModel} model
   * @param {{reducedMotion: () => boolean, onHover?: Function, onSelectPacket?: Function,
   *          onFollowChange?: Function}} hooks
   */
  constructor(canvas, model, hooks) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.model = model;
    this.hooks = hooks;
    this.layout = new Layout();
    this.follow = true;
    this.highlight = null;
    this.focusSeq = null;
    this.selected = null; // the last mark selected (kept after the canvas loses focus: to pin it)
    this.lens = "observer";
    this.focusMsg = null;
    this.pinSeq = null;
    this._pinned = null;
    this._pinnedAt = -1;
    this.ui = 1;
    this.glyphR = GLYPH_R;
    this.drawn = new Map();
    this.listeners = new Set();
    this.hits = [];
    this.raf = 0;
    this.displayNow = 0;
    this.baseNow = 0;
    this.baseWall = 0;
    this.frameTimes = [];
    this.drawCount = 0;
    this._tick = this._tick.bind(this);
    this._pointers = new Map();
    this._bindInput();
    // The backing store is sized in device pixels (exactly, where the browser reports them), so
    // lines stay sharp at any zoom; a change of devicePixelRatio alone (zoom, another screen)
    // resizes it too.
    const observer = new ResizeObserver((entries) => {
      const box = entries[0] && entries[0].devicePixelContentBoxSize;
      this.resize(box && box[0] ? [box[0].inlineSize, box[0].blockSize] : null);
    });
    try {
      observer.observe(canvas, { box: "device-pixel-content-box" });
    } catch {
      observer.observe(canvas);
    }
    this._watchDpr();
    this.resize();
  }

  _watchDpr() {
    const dpr = window.devicePixelRatio || 1;
    const query = window.matchMedia(`(resolution: ${dpr}dppx)`);
    query.addEventListener("change", () => {
      this.resize();
      this._watchDpr();
    }, { once: true });
  }

  /** Size the canvas: CSS size for layout, device pixels for the backing store. */
  resize(devicePx = null) {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, rect.width);
    const h = Math.max(160, rect.height);
    // the exact device-pixel size where the browser reports one that agrees with the ratio
    // (it snaps fractional sizes), else CSS size x devicePixelRatio
    const exact = (px, css) => (
      px != null && Math.abs(px - css * dpr) <= 2 ? px : Math.round(css * dpr));
    const pw = exact(devicePx && rect.width >= 200 ? devicePx[0] : null, w);
    const ph = exact(devicePx && rect.height >= 160 ? devicePx[1] : null, h);
    if (this.canvas.width !== pw) this.canvas.width = pw;
    if (this.canvas.height !== ph) this.canvas.height = ph;
    this.dpr = dpr;
    this.pixelScale = [pw / w, ph / h];
    this.layout.setSize(w, h);
    this.invalidate();
  }

  /** Presenter size: text, glyphs and strokes `PRESENTER_SCALE` times larger. */
  setPresenter(on) {
    const ui = on ? PRESENTER_SCALE : 1;
    if (ui === this.ui) return;
    this.ui = ui;
    this.layout.setUi(ui);
    this._changed();
  }

  // ------------------------------------------------------- lens, focus, pin

  /** "observer" (everything, with hindsight) or "producer" (only what the producer can know). */
  setLens(lens) {
    const next = lens === "producer" ? "producer" : "observer";
    if (next === this.lens) return;
    this.lens = next;
    if (this.focusSeq != null && !this.shows(this.model.get(this.focusSeq))) {
      this.focusSeq = null;
      this._hover(null);
    }
    this._changed();
  }

  /** Dim every message but `msg` (null: none). */
  setFocusMsg(msg) {
    const next = Number.isInteger(msg) && msg > 0 ? msg : null;
    if (next === this.focusMsg) return;
    this.focusMsg = next;
    this._changed();
  }

  /** Keep the causal chain of event `seq` lit while the run plays (null: unpin). */
  pin(seq) {
    const next = seq != null && this.model.get(seq) ? seq : null;
    if (next === this.pinSeq) return;
    this.pinSeq = next;
    this._pinned = null;
    this._changed();
  }

  clearFilters() {
    this.focusSeq = null;
    this._hover(null);
    this.pinSeq = null;
    this._pinned = null;
    this.focusMsg = null;
    this._changed();
  }

  /** Tell the toolbar and the text view that the lens, focus, pin, size or selection changed. */
  _changed() {
    this.invalidate();
    for (const fn of this.listeners) fn(this);
  }

  /** Whether an event is shown under the current lens (the producer sees no hindsight). */
  shows(ev) {
    if (!ev) return false;
    if (this.lens === "producer" && (ev.observer || ev.type === "timeout_explained")) return false;
    return true;
  }

  /** The `timeout_explained` event of a timeout, once the run has explained it. */
  explanationOf(ev) {
    if (!ev || ev.type !== "timeout") return null;
    for (const kid of this.model.children.get(ev.seq) || []) {
      const e = this.model.get(kid);
      if (e && e.type === "timeout_explained") return e;
    }
    return null;
  }

  /** The glyph drawn for an event under the current lens (null: not drawn). */
  markKey(ev) {
    if (!this.shows(ev)) return null;
    const key = glyphKey(ev);
    if (!key) return null;
    if (this.lens === "producer") {
      // the producer takes a false "done" for a real ack
      return key === "false_done" ? "ack_deliver" : key;
    }
    if (key === "timeout") {
      const why = this.explanationOf(ev);
      return (why && TIMEOUT_VERDICT[why.verdict]) || key;
    }
    return key;
  }

  /** The chain lit now: the hovered one, else the pinned one (recomputed as the run grows). */
  _chain() {
    if (this.highlight) return this.highlight;
    if (this.pinSeq == null) return null;
    if (!this._pinned || this._pinnedAt !== this.model.version) {
      this._pinned = this.model.chain(this.pinSeq);
      this._pinnedAt = this.model.version;
    }
    return this._pinned;
  }

  /** Whether a filter (hover, pin or focus) is dimming marks. */
  _filtering(chain) {
    return Boolean(chain) || this.focusMsg != null;
  }

  _litEvent(ev, chain) {
    if (chain) return chain.has(ev.seq);
    if (this.focusMsg != null) return ev.msg === this.focusMsg;
    return true;
  }

  _litPacket(p, chain) {
    if (chain) return chain.has(p.sendSeq) || (p.endSeq != null && chain.has(p.endSeq));
    if (this.focusMsg != null) return p.msg === this.focusMsg;
    return true;
  }

  /** Alpha for marks on a lane: dimmed in the producer's view when the producer cannot see it. */
  _laneAlpha(lane) {
    return this.lens === "producer" && !PRODUCER_LANES.has(lane) ? HIDDEN_LANE : 1;
  }

  /** The model changed (a frame or snapshot arrived). */
  sync({ reset = false } = {}) {
    if (reset) {
      this.displayNow = this.model.now;
      this.highlight = null;
      this.focusSeq = null;
      this._pinned = null;
      if (this.pinSeq != null && !this.model.get(this.pinSeq)) this.pinSeq = null;
      this._changed();
    }
    this.baseNow = this.model.now;
    this.baseWall = performance.now();
    if (this.model.now > this.displayNow || !this.model.playing || reset) {
      this.displayNow = this.model.now;
    }
    if (this.layout.lanes.join() !== this.model.lanes.join()) this.layout.setLanes(this.model.lanes);
    this.invalidate();
  }

  setFollow(on) {
    if (this.follow === on) return;
    this.follow = on;
    this.hooks.onFollowChange?.(on);
    this.invalidate();
  }

  zoom(factor, y = this.layout.height * 0.5) {
    this.layout.zoomAt(factor, y);
    this.invalidate();
  }

  invalidate() {
    if (!this.raf && !document.hidden) this.raf = requestAnimationFrame(this._tick);
  }

  /** Something is moving: a visible, playing run whose packets may be animated. */
  animating() {
    const m = this.model;
    return !document.hidden && m.playing && !m.done && !this.hooks.reducedMotion();
  }

  _tick() {
    this.raf = 0;
    const m = this.model;
    if (this.animating()) {
      const elapsed = Math.min(performance.now() - this.baseWall, MAX_EXTRAPOLATE_MS);
      const est = this.baseNow + elapsed * (m.speed || 1);
      if (est > this.displayNow) this.displayNow = est;
    } else {
      this.displayNow = m.now;
    }
    this.placeViewport();
    const start = performance.now();
    this.draw();
    this.frameTimes.push(performance.now() - start);
    if (this.frameTimes.length > 240) this.frameTimes.shift();
    if (this.animating()) this.invalidate();
  }

  placeViewport() {
    const m = this.model;
    const end = Math.max(this.displayNow, m.lastT);
    if (this.follow) this.layout.reveal(this.displayNow, 0.72);
    this.layout.clampTop(Math.min(0, m.firstT), end);
  }

  // ---------------------------------------------------------------- drawing

  draw() {
    const { ctx, layout, model } = this;
    const [sx, sy] = this.pixelScale;
    ctx.setTransform(sx, 0, 0, sy, 0, 0);
    ctx.fillStyle = PALETTE.background;
    ctx.fillRect(0, 0, layout.width, layout.height);
    this.hits = [];
    this.drawn = new Map();
    this.glyphR = GLYPH_R * this.ui;
    const [t0, t1] = layout.visible();
    const margin = 24 / layout.scale;
    const [lo, hi] = model.eventRange(t0 - margin, t1 + margin);
    const lod = hi - lo > LOD_EVENTS;
    this._grid(t0, t1);
    this._lanes();
    this._downtimes(t0, t1);
    if (lod) {
      this._packetsLod(t0, t1);
      this._eventsLod(lo, hi);
    } else {
      this._packets(t0, t1);
      this._events(lo, hi, t1);
    }
    this._configLines(t0, t1);
    this._nowLine();
    this._header();
    this.drawCount++;
    this.canvas.dataset.lastSeq = String(model.lastSeq);
    this.canvas.dataset.events = String(model.events.length);
    this.canvas.dataset.lod = lod ? "1" : "0";
    this.canvas.dataset.lens = this.lens;
  }

  /** CSS font of canvas text at the current UI scale. */
  _font(px, weight = "") {
    return `${weight ? `${weight} ` : ""}${Math.round(px * this.ui)}px system-ui, sans-serif`;
  }

  _grid(t0, t1) {
    const { ctx, layout } = this;
    const step = layout.gridStep();
    const gutter = layout.gutter;
    ctx.font = this._font(11);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1;
    ctx.strokeStyle = PALETTE.grid;
    ctx.fillStyle = PALETTE.muted;
    ctx.beginPath();
    const nowY = layout.y(this.displayNow);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const y = Math.round(layout.y(t)) + 0.5;
      if (y < layout.header + 6) continue;
      ctx.moveTo(gutter, y);
      ctx.lineTo(layout.width, y);
      if (Math.abs(y - nowY) < 12 * this.ui) continue;
      ctx.fillText(formatTime(t), gutter - 6, y);
    }
    ctx.stroke();
  }

  _lanes() {
    const { ctx, layout } = this;
    ctx.strokeStyle = PALETTE.laneLine;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const lane of layout.lanes) {
      const x = Math.round(layout.x(lane)) + 0.5;
      ctx.moveTo(x, layout.header);
      ctx.lineTo(x, layout.height);
    }
    ctx.stroke();
    if (this.lens === "producer") {
      // a veil over what the producer cannot see
      const x0 = layout.x("producer") + layout.laneWidth / 2;
      ctx.fillStyle = "rgba(10, 11, 14, 0.25)";
      ctx.fillRect(x0, layout.header, layout.width - x0, layout.height - layout.header);
    }
  }

  _header() {
    const { ctx, layout } = this;
    const header = layout.header;
    ctx.fillStyle = "#1f232b";
    ctx.fillRect(0, 0, layout.width, header);
    ctx.font = this._font(12, "600");
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const lane of layout.lanes) {
      const hidden = this._laneAlpha(lane) < 1;
      ctx.fillStyle = hidden ? PALETTE.muted : PALETTE.text;
      const label = `${LANE_LABELS[lane] || lane}${hidden ? " (unseen)" : ""}`;
      ctx.fillText(label, layout.x(lane), header / 2, layout.laneWidth - 4);
    }
  }

  _downtimes(t0, t1) {
    const { ctx, layout, model } = this;
    for (const d of model.downtimes) {
      const to = d.to ?? this.displayNow;
      if (d.from > t1 || to < t0) continue;
      const x = layout.x(d.node);
      const w = layout.laneWidth * 0.7;
      const y0 = Math.max(layout.header, layout.y(d.from));
      const y1 = Math.min(layout.height, layout.y(to));
      ctx.fillStyle = PALETTE.crashBand;
      ctx.fillRect(x - w / 2, y0, w, Math.max(2, y1 - y0));
      ctx.save();
      ctx.beginPath();
      ctx.rect(x - w / 2, y0, w, Math.max(2, y1 - y0));
      ctx.clip();
      ctx.strokeStyle = "rgba(255, 122, 51, 0.35)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let yy = y0 - w; yy < y1; yy += 10) {
        ctx.moveTo(x - w / 2, yy + w);
        ctx.lineTo(x + w / 2, yy);
      }
      ctx.stroke();
      ctx.restore();
    }
  }

  _packets(t0, t1) {
    const { ctx, layout, model } = this;
    const ui = this.ui;
    const now = this.displayNow;
    const chain = this._chain();
    const filtering = this._filtering(chain);
    const wire = this._laneAlpha("network");
    const list = [...model.packetsBetween(t0, t1, now)];
    // crossing halos first, underneath every arrow
    ctx.lineCap = "round";
    for (const p of list) {
      if (!p.crossed || p.fate !== "arrived") continue;
      ctx.globalAlpha = (filtering && !this._litPacket(p, chain) ? DIM : 1) * wire;
      ctx.beginPath();
      ctx.moveTo(layout.x(p.from), layout.y(p.sendT));
      ctx.lineTo(layout.x(p.to), layout.y(p.endT));
      ctx.strokeStyle = "rgba(240, 228, 66, 0.32)";
      ctx.lineWidth = 8 * ui;
      ctx.stroke();
    }
    for (const p of list) {
      const style = ARROW_STYLE[p.type] || ARROW_STYLE.send;
      const lit = !filtering || this._litPacket(p, chain);
      const inChain = Boolean(chain) && lit;
      ctx.globalAlpha = (lit ? 1 : DIM) * wire;
      const x0 = layout.x(p.from);
      const y0 = layout.y(p.sendT);
      ctx.setLineDash(style.dash.map((d) => d * ui));
      ctx.strokeStyle = style.color;
      ctx.lineWidth = (inChain ? style.width + 1.5 : style.width) * ui;
      if (p.fate === "arrived") {
        const x1 = layout.x(p.to);
        const y1 = layout.y(p.endT);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        ctx.setLineDash([]);
        arrowHead(ctx, x0, y0, x1, y1, style.color, (p.kind === "data" ? 9 : 7) * ui,
          p.kind !== "data", 1.5 * ui);
      } else if (p.fate === "dropped") {
        const [x1, y1] = layout.dropPoint(p);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
      } else {
        const [cx, cy] = layout.packetPoint(p, now);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(cx, cy);
        ctx.stroke();
        const [ex, ey] = layout.packetPoint(p, p.eta);
        ctx.setLineDash([2 * ui, 5 * ui]);
        ctx.lineWidth = ui;
        ctx.beginPath();
        ctx.moveTo(cx, cy);
        ctx.lineTo(ex, ey);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.arc(cx, cy, 6 * ui, 0, Math.PI * 2);
        ctx.fillStyle = style.color;
        ctx.fill();
        ctx.lineWidth = 2 * ui;
        ctx.strokeStyle = PALETTE.white;
        ctx.stroke();
        this.hits.push({ x: cx, y: cy, r: 12 * ui, packet: p.id, seq: p.sendSeq, prio: 2 });
      }
      ctx.setLineDash([]);
    }
    ctx.globalAlpha = 1;
  }

  /**
   * Overview drawing: one batched path per arrow style, at most one arrow per style and pixel row
   * of send time (numeric keys only: no strings or objects per packet).
   */
  _packetsLod(t0, t1) {
    const { ctx, layout, model } = this;
    const now = this.displayNow;
    const list = model.packetList;
    const types = LOD_TYPES;
    const paths = types.map(() => new Path2D());
    const lastRow = new Int32Array(types.length * 3).fill(-1);
    let i = lowerBound(list, t1 + 1e-9, (p) => p.sendT) - 1;
    const earliest = t0 - model.maxFlight - 1;
    for (; i >= 0; i--) {
      const p = list[i];
      if (p.sendT < earliest) break;
      const fate = p.fate === "arrived" ? 0 : p.fate === "dropped" ? 1 : 2;
      const endT = fate === 0 || fate === 1 ? p.endT : Math.max(p.eta, now);
      if (endT < t0) continue;
      let ti = types.indexOf(p.type);
      if (ti < 0) ti = 0;
      const row = Math.round(layout.y(p.sendT));
      const slot = ti * 3 + fate;
      if (lastRow[slot] === row) continue;
      lastRow[slot] = row;
      const path = paths[ti];
      path.moveTo(layout.x(p.from), row);
      if (fate === 0) {
        path.lineTo(layout.x(p.to), layout.y(p.endT));
      } else {
        const [x1, y1] = fate === 1 ? layout.dropPoint(p) : layout.packetPoint(p, now);
        path.lineTo(x1, y1);
      }
    }
    ctx.globalAlpha = 0.7 * this._laneAlpha("network");
    ctx.lineWidth = this.ui;
    types.forEach((type, k) => {
      ctx.strokeStyle = ARROW_STYLE[type].color;
      ctx.stroke(paths[k]);
    });
    ctx.globalAlpha = 1;
  }

  /** The lane an event's glyph is drawn on (a drop: the network, where it was lost). */
  eventLane(ev) {
    if (ev.type === "drop" || ev.type === "ack_drop") return "network";
    if (ev.type === "deliver" || ev.type === "ack_deliver") return ev.to || ev.lane;
    if (ev.type === "send" || ev.type === "retry" || ev.type === "ack_send" || ev.type === "nack") {
      return ev.from || ev.lane;
    }
    return ev.lane;
  }

  /** Where an event's glyph goes. */
  eventPoint(ev, key = this.markKey(ev) || glyphKey(ev)) {
    const { layout, model } = this;
    if ((ev.type === "drop" || ev.type === "ack_drop") && ev.packet != null) {
      const p = model.packets.get(ev.packet);
      if (p && p.dropT != null) return layout.dropPoint(p);
    }
    // offsets grow with presenter size but stay inside a narrow lane
    const room = Math.max(0.4, Math.min(1, (layout.laneWidth / 2 - 8) / 50));
    const dx = (GLYPH_OFFSET[key] || 0) * this.ui * room;
    return [layout.x(this.eventLane(ev)) + dx, layout.y(ev.t)];
  }

  _events(lo, hi, t1) {
    const { ctx, model } = this;
    const ui = this.ui;
    const chain = this._chain();
    const filtering = this._filtering(chain);
    const R = this.glyphR;
    // timeouts: a dotted wait line from the transmission to the timeout; retries link back; in the
    // observer's view a timeout's explanation links back to it
    const extra = model.config.timeout ? model.config.timeout * 4 : 8000;
    const [, hiWait] = model.eventRange(t1, t1 + extra);
    ctx.lineWidth = 1.5 * ui;
    ctx.setLineDash([2 * ui, 4 * ui]);
    for (let i = lo; i < hiWait; i++) {
      const ev = model.events[i];
      if (ev.type !== "timeout" && ev.type !== "retry" && ev.type !== "timeout_explained") continue;
      if (!this.shows(ev)) continue;
      const cause = model.get(ev.cause);
      if (!cause) continue;
      const lit = !filtering || this._litEvent(ev, chain);
      ctx.globalAlpha = lit ? 0.9 : DIM;
      ctx.strokeStyle = ev.type === "timeout_explained" ? PALETTE.white : PALETTE.yellow;
      const [x1, y1] = this.eventPoint(ev);
      const [x0, y0] = this.eventPoint(cause);
      ctx.beginPath();
      if (ev.type === "timeout") {
        ctx.moveTo(x1, y0);
        ctx.lineTo(x1, y1);
      } else {
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    for (let i = lo; i < hi; i++) {
      const ev = model.events[i];
      const key = this.markKey(ev);
      if (!key) continue;
      const [x, y] = this.eventPoint(ev, key);
      const lit = !filtering || this._litEvent(ev, chain);
      const inChain = Boolean(chain) && lit;
      const laneAlpha = this._laneAlpha(this.eventLane(ev));
      ctx.globalAlpha = (lit ? 1 : DIM) * laneAlpha;
      GLYPHS[key](ctx, x, y, inChain ? R + 1.5 * ui : R);
      this.hits.push({ x, y, r: R + 3 * ui, seq: ev.seq, prio: 1 });
      this.drawn.set(ev.seq, { key, lit, unseen: laneAlpha < 1 });
    }
    ctx.globalAlpha = 1;
    if (this.focusSeq != null) {
      const ev = model.get(this.focusSeq);
      if (ev && ev.type !== "config_change" && this.shows(ev)) {
        const [x, y] = this.eventPoint(ev);
        ctx.beginPath();
        ctx.arc(x, y, R + 6 * ui, 0, Math.PI * 2);
        ctx.strokeStyle = PALETTE.white;
        ctx.lineWidth = 2 * ui;
        ctx.setLineDash([3 * ui, 3 * ui]);
        ctx.stroke();
        ctx.setLineDash([]);
      }
    }
  }

  /** Overview marks: fate-changing events as small squares, one per kind and pixel row. */
  _eventsLod(lo, hi) {
    const { ctx, model, layout } = this;
    const rows = Math.ceil(layout.height) + 1;
    const seen = new Uint8Array(LOD_MARKS.length * rows);
    const s = 2 * this.ui;
    for (let i = lo; i < hi; i++) {
      const ev = model.events[i];
      const k = LOD_MARK_INDEX[ev.type];
      if (k === undefined) continue;
      const [x, y] = this.eventPoint(ev, glyphKey(ev));
      const row = Math.round(y);
      if (row < 0 || row >= rows || seen[k * rows + row]) continue;
      seen[k * rows + row] = 1;
      // in the observer's view a timeout takes the colour of its verdict
      const key = ev.type === "timeout" ? this.markKey(ev) : null;
      ctx.fillStyle = key ? GLYPH_TABLE[key].color : LOD_MARKS[k][1];
      ctx.globalAlpha = this._laneAlpha(this.eventLane(ev));
      ctx.fillRect(x - s, y - s, 2 * s, 2 * s);
    }
    ctx.globalAlpha = 1;
  }

  _configLines(t0, t1) {
    const { ctx, layout, model } = this;
    const ui = this.ui;
    const gutter = layout.gutter;
    const chain = this._chain();
    const filtering = this._filtering(chain);
    ctx.font = this._font(12);
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    for (const ev of model.configLines) {
      if (ev.t < t0 || ev.t > t1) continue;
      const y = Math.round(layout.y(ev.t)) + 0.5;
      ctx.globalAlpha = filtering && !this._litEvent(ev, chain) ? 0.5 : 1;
      ctx.setLineDash([6 * ui, 4 * ui]);
      ctx.strokeStyle = PALETTE.white;
      ctx.lineWidth = 1.5 * ui;
      ctx.beginPath();
      ctx.moveTo(gutter, y);
      ctx.lineTo(layout.width, y);
      ctx.stroke();
      ctx.setLineDash([]);
      const label = describeChanges(ev.changes);
      const w = Math.min(layout.width - gutter - 8, ctx.measureText(label).width + 10 * ui);
      const h = 16 * ui;
      ctx.fillStyle = "#2b3038";
      ctx.fillRect(gutter + 4, y - h - 2, w, h);
      ctx.fillStyle = PALETTE.text;
      ctx.fillText(label, gutter + 4 + 5 * ui, y - 3 * ui, w - 10 * ui);
      this.hits.push({ x: gutter + 4 + w / 2, y: y - h / 2 - 2, r: Math.max(10 * ui, w / 2), seq: ev.seq, prio: 0 });
    }
    ctx.globalAlpha = 1;
  }

  _nowLine() {
    const { ctx, layout } = this;
    const y = Math.round(layout.y(this.displayNow)) + 0.5;
    if (y < layout.header || y > layout.height) return;
    ctx.strokeStyle = PALETTE.text;
    ctx.globalAlpha = 0.55;
    ctx.lineWidth = this.ui;
    ctx.beginPath();
    ctx.moveTo(layout.gutter, y);
    ctx.lineTo(layout.width, y);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = PALETTE.text;
    ctx.font = this._font(11, "600");
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText("now", layout.gutter - 6, y);
  }

  // ---------------------------------------------------------------- input

  /** The mark nearest to (x, y) in canvas pixels, preferring packets in flight. */
  hitTest(x, y) {
    let best = null;
    let bestScore = Infinity;
    for (const h of this.hits) {
      const d = Math.hypot(h.x - x, h.y - y);
      if (d > h.r) continue;
      const score = d - h.prio * 6;
      if (score < bestScore) {
        best = h;
        bestScore = score;
      }
    }
    return best;
  }

  /** Client coordinates of a packet in flight (for tests and the keyboard menu). */
  packetClientPoint(id) {
    const h = this.hits.find((hit) => hit.packet === id);
    if (!h) return null;
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.left + h.x, y: rect.top + h.y };
  }

  setHighlight(seq) {
    this.highlight = seq == null ? null : this.model.chain(seq);
    this.invalidate();
  }

  _local(e) {
    const rect = this.canvas.getBoundingClientRect();
    return [e.clientX - rect.left, e.clientY - rect.top];
  }

  _bindInput() {
    const c = this.canvas;
    c.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [, y] = this._local(e);
      if (e.ctrlKey || e.metaKey) {
        this.zoom(Math.exp(-e.deltaY * 0.002), y);
      } else {
        this.setFollow(false);
        this.layout.scrollBy(e.deltaY);
        this.invalidate();
      }
    }, { passive: false });
    c.addEventListener("pointerdown", (e) => {
      c.setPointerCapture(e.pointerId);
      this._pointers.set(e.pointerId, { x: e.clientX, y: e.clientY, x0: e.clientX, y0: e.clientY });
    });
    c.addEventListener("pointermove", (e) => {
      const ptr = this._pointers.get(e.pointerId);
      if (!ptr) {
        const [x, y] = this._local(e);
        this._hover(this.hitTest(x, y), x, y);
        return;
      }
      if (this._pointers.size === 2) {
        const [a, b] = [...this._pointers.values()];
        const before = Math.hypot(a.x - b.x, a.y - b.y);
        ptr.x = e.clientX;
        ptr.y = e.clientY;
        const after = Math.hypot(a.x - b.x, a.y - b.y);
        if (before > 10) this.zoom(after / before, this._local(e)[1]);
        return;
      }
      const dy = e.clientY - ptr.y;
      ptr.x = e.clientX;
      ptr.y = e.clientY;
      if (Math.abs(e.clientY - ptr.y0) > 4) {
        this.setFollow(false);
        this.layout.scrollBy(-dy);
        this.invalidate();
      }
    });
    const end = (e) => {
      const ptr = this._pointers.get(e.pointerId);
      this._pointers.delete(e.pointerId);
      if (!ptr || e.type === "pointercancel") return;
      const moved = Math.hypot(e.clientX - ptr.x0, e.clientY - ptr.y0);
      if (moved <= 4 && this._pointers.size === 0) {
        const [x, y] = this._local(e);
        this._click(this.hitTest(x, y), e.clientX, e.clientY);
      }
    };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
    c.addEventListener("pointerleave", () => {
      if (this.focusSeq == null && !this._pointers.size) this._hover(null);
    });
    c.addEventListener("keydown", (e) => this._key(e));
    c.addEventListener("blur", () => {
      this.focusSeq = null;
      this._hover(null);
    });
  }

  _hover(hit, x, y) {
    const seq = hit ? hit.seq : null;
    if (seq === this._hoverSeq) return;
    this._hoverSeq = seq;
    this.setHighlight(seq);
    this.canvas.classList.toggle("over-packet", Boolean(hit && hit.packet != null));
    this.hooks.onHover?.(seq, x, y);
  }

  /** Remember the mark chosen (click or keyboard): the one "Pin chain" and "f" act on. */
  _select(seq) {
    if (seq === this.selected) return;
    this.selected = seq;
    this._changed();
  }

  _click(hit, clientX, clientY) {
    if (!hit) return;
    if (hit.packet != null) {
      const p = this.model.packets.get(hit.packet);
      if (p && !p.fate) this.hooks.onSelectPacket?.(p, clientX, clientY);
      return;
    }
    this.focusSeq = hit.seq;
    this._select(hit.seq);
    this._hover(null);
    this._hover(hit, hit.x, hit.y);
  }

  /** The next event in `dir` (+1 / -1) from `seq` that the current lens shows. */
  _nextShown(seq, dir) {
    const m = this.model;
    for (let s = seq; s >= m.firstSeq && s <= m.lastSeq; s += dir) {
      if (this.shows(m.get(s))) return s;
    }
    return null;
  }

  /** Keyboard on the focused canvas: browse marks, scroll, zoom, follow, open the packet menu. */
  _key(e) {
    const m = this.model;
    const k = e.key;
    if (k === "ArrowDown" || k === "ArrowUp") {
      e.preventDefault();
      if (!m.events.length) return;
      const dir = k === "ArrowDown" ? 1 : -1;
      let seq = this.focusSeq ?? this._firstVisibleSeq(dir > 0);
      if (this.focusSeq != null) seq += dir;
      seq = Math.min(m.lastSeq, Math.max(m.firstSeq, seq));
      const shown = this._nextShown(seq, dir) ?? this._nextShown(seq, -dir);
      if (shown != null) this.focusMark(shown);
    } else if (k === "Enter" && this.focusSeq != null) {
      const ev = m.get(this.focusSeq);
      const p = ev && ev.packet != null ? m.packets.get(ev.packet) : null;
      if (p && !p.fate) {
        e.preventDefault();
        const pt = this.packetClientPoint(p.id);
        const rect = this.canvas.getBoundingClientRect();
        this.hooks.onSelectPacket?.(p, pt ? pt.x : rect.left + 40, pt ? pt.y : rect.top + 40);
      }
    } else if (k === "Escape") {
      // clears the chosen mark, a pinned chain and a focused message at once
      this.clearFilters();
    } else if ((k === "f" || k === "F") && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const ev = m.get(this.focusSeq ?? this.selected);
      if (ev && ev.msg != null) this.setFocusMsg(this.focusMsg === ev.msg ? null : ev.msg);
    } else if ((k === "p" || k === "P") && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const seq = this.focusSeq ?? this.selected;
      if (this.pinSeq != null && (seq == null || seq === this.pinSeq)) this.pin(null);
      else if (seq != null) this.pin(seq);
    } else if (k === "PageDown" || k === "PageUp") {
      e.preventDefault();
      this.setFollow(false);
      this.layout.scrollBy((k === "PageDown" ? 0.8 : -0.8) * this.layout.height);
      this.invalidate();
    } else if (k === "Home") {
      e.preventDefault();
      this.setFollow(false);
      this.layout.top = m.firstT - 100;
      this.invalidate();
    } else if (k === "End") {
      e.preventDefault();
      this.setFollow(true);
    } else if (k === "+" || k === "=") {
      this.zoom(1.25);
    } else if (k === "-") {
      this.zoom(0.8);
    }
  }

  _firstVisibleSeq(down) {
    const [t0, t1] = this.layout.visible();
    const [lo, hi] = this.model.eventRange(t0, t1);
    const ev = this.model.events[down ? lo : Math.max(lo, hi - 1)] || this.model.events.at(-1);
    return ev.seq;
  }

  /** Focus one event's mark; scroll it into view (at `at` of the height) if it is near an edge. */
  focusMark(seq, at = null) {
    const ev = this.model.get(seq);
    if (!ev) return;
    this.focusSeq = seq;
    this._select(seq);
    const [t0, t1] = this.layout.visible();
    const edge = (t1 - t0) * 0.1;
    if (at != null || ev.t < t0 + edge || ev.t > t1 - edge) {
      this.setFollow(false);
      this.layout.reveal(ev.t, at ?? 0.5);
    }
    this.placeViewport();
    const [x, y] = this.eventPoint(ev);
    this._hoverSeq = undefined;
    this._hover({ seq, x, y }, x, y);
    this.invalidate();
  }

  /** The marks of the last frame: seq, glyph drawn, lit (not dimmed by a filter), unseen lane. */
  drawnMarks() {
    return [...this.drawn].map(([seq, d]) => ({ seq, msg: this.model.get(seq)?.msg ?? null, ...d }));
  }

  /** What the renderer is set to and drew at, for tests and the toolbar. */
  state() {
    return {
      lens: this.lens, focusMsg: this.focusMsg, pinSeq: this.pinSeq, selected: this.selected,
      ui: this.ui, glyphR: this.glyphR, dpr: this.dpr, cssWidth: this.layout.width,
      pixelWidth: this.canvas.width, pixelScale: [...this.pixelScale],
    };
  }

  /** Frame-time statistics of the last draws (ms), for the benchmark. */
  stats() {
    const s = [...this.frameTimes].sort((a, b) => a - b);
    const q = (f) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))] : 0);
    return { n: s.length, p50: q(0.5), p95: q(0.95), max: s.length ? s[s.length - 1] : 0 };
  }
}

function arrowHead(ctx, x0, y0, x1, y1, color, size, open, width) {
  const a = Math.atan2(y1 - y0, x1 - x0);
  ctx.beginPath();
  ctx.moveTo(x1 - size * Math.cos(a - 0.4), y1 - size * Math.sin(a - 0.4));
  ctx.lineTo(x1, y1);
  ctx.lineTo(x1 - size * Math.cos(a + 0.4), y1 - size * Math.sin(a + 0.4));
  if (open) {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.stroke();
  } else {
    ctx.closePath();
    ctx.fillStyle = color;
    ctx.fill();
  }
}

const PRESENTER_KEY = "delivery-lab.presenter";

/**
 * The toolbar above the timeline: the view switch (observer / producer), the focused message,
 * the pinned chain, presenter size and the text view; and a status line saying what is dimmed.
 */
export function bindTimelineTools(doc, timeline, { details = null, textView = null } = {}) {
  const $ = (id) => doc.getElementById(id);
  const radios = [...doc.querySelectorAll("input[name=lens]")];
  const focusInput = $("focus-msg");
  const pinButton = $("pin-chain");
  const clearButton = $("clear-filters");
  const presenter = $("presenter-size");
  const status = $("timeline-filter-status");
  if (details) details.view = timeline;

  for (const radio of radios) {
    radio.addEventListener("change", () => {
      if (radio.checked) timeline.setLens(radio.value);
    });
  }
  const applyFocus = () => {
    const text = focusInput.value.trim();
    const n = Number(text);
    timeline.setFocusMsg(text && Number.isInteger(n) && n > 0 ? n : null);
  };
  focusInput.addEventListener("input", applyFocus);
  focusInput.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      focusInput.value = "";
      applyFocus();
    }
  });
  pinButton.addEventListener("click", () => {
    timeline.pin(timeline.pinSeq != null ? null : timeline.selected);
  });
  clearButton.addEventListener("click", () => timeline.clearFilters());
  presenter.addEventListener("click", () => {
    const on = timeline.ui === 1;
    timeline.setPresenter(on);
    try {
      localStorage.setItem(PRESENTER_KEY, on ? "1" : "0");
    } catch {
      // storage may be off: the size still applies to this page
    }
  });
  timeline.canvas.addEventListener("keydown", (e) => {
    if ((e.key === "t" || e.key === "T") && !e.ctrlKey && !e.metaKey && !e.altKey && textView) {
      e.preventDefault();
      textView.open();
    }
  });

  const sync = () => {
    const m = timeline.model;
    for (const radio of radios) radio.checked = radio.value === timeline.lens;
    if (doc.activeElement !== focusInput) {
      focusInput.value = timeline.focusMsg == null ? "" : String(timeline.focusMsg);
    }
    pinButton.setAttribute("aria-pressed", timeline.pinSeq != null ? "true" : "false");
    pinButton.disabled = timeline.pinSeq == null && timeline.selected == null;
    presenter.setAttribute("aria-pressed", timeline.ui > 1 ? "true" : "false");
    clearButton.hidden = timeline.pinSeq == null && timeline.focusMsg == null;
    const parts = [];
    if (timeline.lens === "producer") {
      parts.push("Producer's view: only what the producer can know; other lanes dimmed.");
    }
    if (timeline.focusMsg != null) parts.push(`Focus: message ${timeline.focusMsg}, others dimmed.`);
    if (timeline.pinSeq != null) {
      const ev = m.get(timeline.pinSeq);
      const what = ev && ev.msg != null ? ` (message ${ev.msg})` : "";
      parts.push(`Pinned: the causal chain of event ${timeline.pinSeq}${what} stays lit.`);
    }
    const text = parts.join(" ");
    if (status.textContent !== text) status.textContent = text;
    textView?.refreshIfOpen();
  };
  timeline.listeners.add(sync);
  let stored = null;
  try {
    stored = localStorage.getItem(PRESENTER_KEY);
  } catch {
    stored = null;
  }
  if (stored === "1") timeline.setPresenter(true);
  sync();
  return sync;
}
