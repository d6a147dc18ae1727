/**
 * The timeline: a canvas sequence diagram of the run.
 *
 * Draws only what is on screen (events found by binary search on time, packets by send time),
 * switches to a batched, decimated drawing when a zoomed-out view holds thousands of marks, and
 * runs its requestAnimationFrame loop only while something moves (a playing, visible run with
 * motion allowed). Marks drawn in the last frame are kept for hit testing (hover, click, focus).
 */

import { ARROW_STYLE, GLYPH_OFFSET, GLYPHS, glyphKey, PALETTE } from "./glyphs.js";
import { formatTime, GUTTER_PX, HEADER_PX, LANE_LABELS, Layout } from "./layout.js";
import { lowerBound } from "./state.js";

const LOD_EVENTS = 2000;
const GLYPH_R = 7;
const MAX_EXTRAPOLATE_MS = 2500;
const DIM = 0.22;
const LOD_TYPES = ["send", "retry", "ack_send", "nack", "net_duplicate"];
const LOD_MARKS = [
  ["drop", PALETTE.vermillion], ["ack_drop", PALETTE.green], ["timeout", PALETTE.yellow],
  ["give_up", PALETTE.vermillion], ["dedup_discard", PALETTE.purple], ["crash", PALETTE.vermillion],
];
const LOD_MARK_INDEX = Object.fromEntries(LOD_MARKS.map(([type], i) => [type, i]));

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
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(200, Math.round(rect.width));
    const h = Math.max(160, Math.round(rect.height));
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.dpr = dpr;
    this.layout.setSize(w, h);
    this.invalidate();
  }

  /** The model changed (a frame or snapshot arrived). */
  sync({ reset = false } = {}) {
    if (reset) {
      this.displayNow = this.model.now;
      this.highlight = null;
      this.focusSeq = null;
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
    const dpr = this.dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = PALETTE.background;
    ctx.fillRect(0, 0, layout.width, layout.height);
    this.hits = [];
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
  }

  _grid(t0, t1) {
    const { ctx, layout } = this;
    const step = layout.gridStep();
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1;
    ctx.strokeStyle = PALETTE.grid;
    ctx.fillStyle = PALETTE.muted;
    ctx.beginPath();
    const nowY = layout.y(this.displayNow);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const y = Math.round(layout.y(t)) + 0.5;
      if (y < HEADER_PX + 6) continue;
      ctx.moveTo(GUTTER_PX, y);
      ctx.lineTo(layout.width, y);
      if (Math.abs(y - nowY) < 12) continue;
      ctx.fillText(formatTime(t), GUTTER_PX - 6, y);
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
      ctx.moveTo(x, HEADER_PX);
      ctx.lineTo(x, layout.height);
    }
    ctx.stroke();
  }

  _header() {
    const { ctx, layout } = this;
    ctx.fillStyle = "#1f232b";
    ctx.fillRect(0, 0, layout.width, HEADER_PX);
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillStyle = PALETTE.text;
    for (const lane of layout.lanes) {
      ctx.fillText(LANE_LABELS[lane] || lane, layout.x(lane), HEADER_PX / 2, layout.laneWidth - 4);
    }
  }

  _downtimes(t0, t1) {
    const { ctx, layout, model } = this;
    for (const d of model.downtimes) {
      const to = d.to ?? this.displayNow;
      if (d.from > t1 || to < t0) continue;
      const x = layout.x(d.node);
      const w = layout.laneWidth * 0.7;
      const y0 = Math.max(HEADER_PX, layout.y(d.from));
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

  _inChain(p) {
    return this.highlight.has(p.sendSeq) || (p.endSeq != null && this.highlight.has(p.endSeq));
  }

  _packets(t0, t1) {
    const { ctx, layout, model } = this;
    const now = this.displayNow;
    const hl = this.highlight;
    const list = [...model.packetsBetween(t0, t1, now)];
    // crossing halos first, underneath every arrow
    ctx.lineCap = "round";
    for (const p of list) {
      if (!p.crossed || p.fate !== "arrived") continue;
      ctx.globalAlpha = hl && !this._inChain(p) ? DIM : 1;
      ctx.beginPath();
      ctx.moveTo(layout.x(p.from), layout.y(p.sendT));
      ctx.lineTo(layout.x(p.to), layout.y(p.endT));
      ctx.strokeStyle = "rgba(240, 228, 66, 0.32)";
      ctx.lineWidth = 8;
      ctx.stroke();
    }
    for (const p of list) {
      const style = ARROW_STYLE[p.type] || ARROW_STYLE.send;
      const inChain = hl ? this._inChain(p) : false;
      ctx.globalAlpha = hl && !inChain ? DIM : 1;
      const x0 = layout.x(p.from);
      const y0 = layout.y(p.sendT);
      ctx.setLineDash(style.dash);
      ctx.strokeStyle = style.color;
      ctx.lineWidth = inChain ? style.width + 1.5 : style.width;
      if (p.fate === "arrived") {
        const x1 = layout.x(p.to);
        const y1 = layout.y(p.endT);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        ctx.setLineDash([]);
        arrowHead(ctx, x0, y0, x1, y1, style.color, p.kind === "data" ? 9 : 7, p.kind !== "data");
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
        ctx.setLineDash([2, 5]);
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(cx, cy);
        ctx.lineTo(ex, ey);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.arc(cx, cy, 6, 0, Math.PI * 2);
        ctx.fillStyle = style.color;
        ctx.fill();
        ctx.lineWidth = 2;
        ctx.strokeStyle = PALETTE.white;
        ctx.stroke();
        this.hits.push({ x: cx, y: cy, r: 12, packet: p.id, seq: p.sendSeq, prio: 2 });
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
    ctx.globalAlpha = 0.7;
    ctx.lineWidth = 1;
    types.forEach((type, k) => {
      ctx.strokeStyle = ARROW_STYLE[type].color;
      ctx.stroke(paths[k]);
    });
    ctx.globalAlpha = 1;
  }

  /** Where an event's glyph goes. */
  eventPoint(ev) {
    const { layout, model } = this;
    if ((ev.type === "drop" || ev.type === "ack_drop") && ev.packet != null) {
      const p = model.packets.get(ev.packet);
      if (p && p.dropT != null) return layout.dropPoint(p);
    }
    let lane = ev.lane;
    if (ev.type === "deliver" || ev.type === "ack_deliver") lane = ev.to || lane;
    if (ev.type === "send" || ev.type === "retry" || ev.type === "ack_send" || ev.type === "nack") {
      lane = ev.from || lane;
    }
    const key = glyphKey(ev);
    return [layout.x(lane) + (GLYPH_OFFSET[key] || 0), layout.y(ev.t)];
  }

  _events(lo, hi, t1) {
    const { ctx, layout, model } = this;
    const hl = this.highlight;
    // timeouts: a dotted wait line from the transmission to the timeout; retries link back
    const extra = model.config.timeout ? model.config.timeout * 4 : 8000;
    const [, hiWait] = model.eventRange(t1, t1 + extra);
    ctx.lineWidth = 1.5;
    ctx.setLineDash([2, 4]);
    ctx.strokeStyle = PALETTE.yellow;
    for (let i = lo; i < hiWait; i++) {
      const ev = model.events[i];
      if (ev.type !== "timeout" && ev.type !== "retry") continue;
      const cause = model.get(ev.cause);
      if (!cause) continue;
      ctx.globalAlpha = hl && !hl.has(ev.seq) ? DIM : 0.9;
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
      const key = glyphKey(ev);
      if (!key) continue;
      const [x, y] = this.eventPoint(ev);
      const inChain = hl ? hl.has(ev.seq) : false;
      ctx.globalAlpha = hl && !inChain ? DIM : 1;
      GLYPHS[key](ctx, x, y, inChain ? GLYPH_R + 1.5 : GLYPH_R);
      this.hits.push({ x, y, r: GLYPH_R + 3, seq: ev.seq, prio: 1 });
    }
    ctx.globalAlpha = 1;
    if (this.focusSeq != null) {
      const ev = model.get(this.focusSeq);
      if (ev && ev.type !== "config_change") {
        const [x, y] = this.eventPoint(ev);
        ctx.beginPath();
        ctx.arc(x, y, GLYPH_R + 6, 0, Math.PI * 2);
        ctx.strokeStyle = PALETTE.white;
        ctx.lineWidth = 2;
        ctx.setLineDash([3, 3]);
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
    for (let i = lo; i < hi; i++) {
      const ev = model.events[i];
      const k = LOD_MARK_INDEX[ev.type];
      if (k === undefined) continue;
      const [x, y] = this.eventPoint(ev);
      const row = Math.round(y);
      if (row < 0 || row >= rows || seen[k * rows + row]) continue;
      seen[k * rows + row] = 1;
      ctx.fillStyle = LOD_MARKS[k][1];
      ctx.fillRect(x - 2, y - 2, 4, 4);
    }
  }

  _configLines(t0, t1) {
    const { ctx, layout, model } = this;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    for (const ev of model.configLines) {
      if (ev.t < t0 || ev.t > t1) continue;
      const y = Math.round(layout.y(ev.t)) + 0.5;
      ctx.globalAlpha = this.highlight && !this.highlight.has(ev.seq) ? 0.5 : 1;
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = PALETTE.white;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(GUTTER_PX, y);
      ctx.lineTo(layout.width, y);
      ctx.stroke();
      ctx.setLineDash([]);
      const label = describeChanges(ev.changes);
      const w = Math.min(layout.width - GUTTER_PX - 8, ctx.measureText(label).width + 10);
      ctx.fillStyle = "#2b3038";
      ctx.fillRect(GUTTER_PX + 4, y - 18, w, 16);
      ctx.fillStyle = PALETTE.text;
      ctx.fillText(label, GUTTER_PX + 9, y - 3, w - 10);
      this.hits.push({ x: GUTTER_PX + 4 + w / 2, y: y - 10, r: Math.max(10, w / 2), seq: ev.seq, prio: 0 });
    }
    ctx.globalAlpha = 1;
  }

  _nowLine() {
    const { ctx, layout } = this;
    const y = Math.round(layout.y(this.displayNow)) + 0.5;
    if (y < HEADER_PX || y > layout.height) return;
    ctx.strokeStyle = PALETTE.text;
    ctx.globalAlpha = 0.55;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(GUTTER_PX, y);
    ctx.lineTo(layout.width, y);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = PALETTE.text;
    ctx.font = "600 11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText("now", GUTTER_PX - 6, y);
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

  _click(hit, clientX, clientY) {
    if (!hit) return;
    if (hit.packet != null) {
      const p = this.model.packets.get(hit.packet);
      if (p && !p.fate) this.hooks.onSelectPacket?.(p, clientX, clientY);
      return;
    }
    this.focusSeq = hit.seq;
    this._hover(null);
    this._hover(hit, hit.x, hit.y);
  }

  /** Keyboard on the focused canvas: browse marks, scroll, zoom, follow, open the packet menu. */
  _key(e) {
    const m = this.model;
    const k = e.key;
    if (k === "ArrowDown" || k === "ArrowUp") {
      e.preventDefault();
      if (!m.events.length) return;
      let seq = this.focusSeq ?? this._firstVisibleSeq(k === "ArrowDown");
      if (this.focusSeq != null) seq += k === "ArrowDown" ? 1 : -1;
      seq = Math.min(m.lastSeq, Math.max(m.firstSeq, seq));
      this.focusMark(seq);
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
      this.focusSeq = null;
      this._hover(null);
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

  /** Frame-time statistics of the last draws (ms), for the benchmark. */
  stats() {
    const s = [...this.frameTimes].sort((a, b) => a - b);
    const q = (f) => (s.length ? s[Math.min(s.length - 1, Math.floor(f * s.length))] : 0);
    return { n: s.length, p50: q(0.5), p95: q(0.95), max: s.length ? s[s.length - 1] : 0 };
  }
}

function arrowHead(ctx, x0, y0, x1, y1, color, size, open) {
  const a = Math.atan2(y1 - y0, x1 - x0);
  ctx.beginPath();
  ctx.moveTo(x1 - size * Math.cos(a - 0.4), y1 - size * Math.sin(a - 0.4));
  ctx.lineTo(x1, y1);
  ctx.lineTo(x1 - size * Math.cos(a + 0.4), y1 - size * Math.sin(a + 0.4));
  if (open) {
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.stroke();
  } else {
    ctx.closePath();
    ctx.fillStyle = color;
    ctx.fill();
  }
}
