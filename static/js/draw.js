/**
 * Drawing the timeline: one pass over what is on screen, on the timeline's canvas.
 *
 * Only what is visible is drawn: events found by binary search on time, packets by send time.
 * With more than LOD_EVENTS events on screen it switches to an overview: one batched path per
 * arrow style (at most one arrow per pixel row and style) and, for the marks the manifest keeps in
 * the overview, small squares. Every choice of mark, arrow, line and lane comes from the
 * timeline's view (lens, focus, pin: timeline.js) and the manifest; this module only draws, and
 * keeps what it drew for hit testing (`hits`) and for tests (`drawn`).
 */

import { drawGlyph, PALETTE, withAlpha } from "./glyphs.js";
import { formatTime } from "./layout.js";
import { lowerBound } from "./store.js";

const LOD_EVENTS = 2000;
export const GLYPH_R = 7;
export const DIM = 0.22;

export function describeChanges(changes) {
  return Object.entries(changes || {})
    .map(([name, pair]) => (Array.isArray(pair) ? `${name}: ${pair[0]} → ${pair[1]}` : name))
    .join(", ");
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

export class Renderer {
  /**
   * @param {import("./timeline.js").Timeline} view  what to draw and how it is seen
   * @param {{ctx?: CanvasRenderingContext2D, pixelScale?: number[], newPath?: () => Path2D}}
   *   [target]  another context to draw the same frame into (an exported picture), at its own
   *   pixel scale, batching lines in the paths `newPath` makes; by default the timeline's canvas
   *   at the view's pixel scale
   */
  constructor(view, target = {}) {
    this.view = view;
    this.ctx = target.ctx || view.canvas.getContext("2d");
    this.pixelScale = target.pixelScale || null;
    this.newPath = target.newPath || (() => new Path2D());
    this.hits = [];
    this.drawn = new Map();
    this.glyphR = GLYPH_R;
    this._lodFor = null;
  }

  get manifest() {
    return this.view.model.manifest;
  }

  /** Arrow types (packet starts) and overview marks, in the manifest's (the legend's) order. */
  _lod() {
    const m = this.manifest;
    if (this._lodFor === m) return this._lodCache;
    const keys = Object.keys(m.marks);
    const rank = (type) => {
      const i = keys.indexOf(m.meta(type).mark);
      return i < 0 ? keys.length : i;
    };
    const types = [...m.starts].sort((a, b) => rank(a) - rank(b));
    const marks = keys.filter((k) => m.marks[k].overview);
    this._lodFor = m;
    this._lodCache = {
      types, typeIndex: new Map(types.map((t, i) => [t, i])),
      marks, markIndex: new Map(marks.map((k, i) => [k, i])),
    };
    return this._lodCache;
  }

  draw() {
    const { ctx } = this;
    const { layout, model } = this.view;
    const [sx, sy] = this.pixelScale || this.view.pixelScale;
    ctx.setTransform(sx, 0, 0, sy, 0, 0);
    ctx.fillStyle = PALETTE.background;
    ctx.fillRect(0, 0, layout.width, layout.height);
    this.hits = [];
    this.drawn = new Map();
    this.glyphR = GLYPH_R * this.view.ui;
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
    return lod;
  }

  /** CSS font of canvas text at the current UI scale. */
  _font(px, weight = "") {
    return `${weight ? `${weight} ` : ""}${Math.round(px * this.view.ui)}px system-ui, sans-serif`;
  }

  _grid(t0, t1) {
    const { ctx } = this;
    const { layout, ui } = this.view;
    const step = layout.gridStep();
    const gutter = layout.gutter;
    ctx.font = this._font(11);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 1;
    ctx.strokeStyle = PALETTE.grid;
    ctx.fillStyle = PALETTE.muted;
    ctx.beginPath();
    const nowY = layout.y(this.view.displayNow);
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
      const y = Math.round(layout.y(t)) + 0.5;
      if (y < layout.header + 6) continue;
      ctx.moveTo(gutter, y);
      ctx.lineTo(layout.width, y);
      if (Math.abs(y - nowY) < 12 * ui) continue;
      ctx.fillText(formatTime(t), gutter - 6, y);
    }
    ctx.stroke();
  }

  _lanes() {
    const { ctx, view } = this;
    const { layout } = view;
    // a soft band down each lane a lesson step points at
    if (view.emphasisLanes && view.emphasisLanes.size) {
      ctx.fillStyle = PALETTE.emphasisBand;
      for (const lane of layout.lanes) {
        if (!view.emphasisLanes.has(lane)) continue;
        ctx.fillRect(layout.x(lane) - layout.widthOf(lane) / 2, layout.header, layout.widthOf(lane),
          layout.height - layout.header);
      }
    }
    ctx.strokeStyle = PALETTE.laneLine;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const lane of layout.lanes) {
      const x = Math.round(layout.x(lane)) + 0.5;
      ctx.moveTo(x, layout.header);
      ctx.lineTo(x, layout.height);
    }
    ctx.stroke();
    // a veil over the lanes the lens does not see, one rectangle per run of them
    const lanes = layout.lanes;
    ctx.fillStyle = "rgba(10, 11, 14, 0.25)";
    for (let i = 0; i < lanes.length; i++) {
      if (view.laneAlpha(lanes[i]) >= 1) continue;
      let j = i;
      while (j + 1 < lanes.length && view.laneAlpha(lanes[j + 1]) < 1) j++;
      const x0 = layout.x(lanes[i]) - layout.widthOf(lanes[i]) / 2;
      const x1 = j === lanes.length - 1 ? layout.width
        : layout.x(lanes[j]) + layout.widthOf(lanes[j]) / 2;
      ctx.fillRect(x0, layout.header, x1 - x0, layout.height - layout.header);
      i = j;
    }
  }

  _header() {
    const { ctx, view } = this;
    const { layout } = view;
    const header = layout.header;
    ctx.fillStyle = "#1f232b";
    ctx.fillRect(0, 0, layout.width, header);
    ctx.font = this._font(12, "600");
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    // a lane's badge (the view's `badges`: a broker's queue, say) follows its name
    const badges = view.model.view && view.model.view.badges;
    for (const lane of layout.lanes) {
      const hidden = view.laneAlpha(lane) < 1;
      const pointed = view.emphasisLanes && view.emphasisLanes.has(lane);
      ctx.fillStyle = hidden ? PALETTE.muted : pointed ? PALETTE.yellow : PALETTE.text;
      const badge = badges && typeof badges[lane] === "string" ? ` · ${badges[lane]}` : "";
      const label = `${pointed ? "▸ " : ""}${this.manifest.laneLabel(lane)}${badge}${hidden ? " (unseen)" : ""}`;
      ctx.fillText(label, layout.x(lane), header / 2, layout.widthOf(lane) - 4);
    }
  }

  _downtimes(t0, t1) {
    const { ctx, view } = this;
    const { layout, model } = view;
    for (const d of model.downtimes) {
      const to = d.to ?? view.displayNow;
      if (d.from > t1 || to < t0) continue;
      const x = layout.x(this.manifest.laneOf(d.node));
      const w = layout.widthOf(this.manifest.laneOf(d.node)) * 0.7;
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
    const { ctx, view } = this;
    const { layout, model, ui } = view;
    const m = this.manifest;
    const now = view.displayNow;
    const chain = view.chain();
    const filtering = view.filtering(chain);
    const list = [...model.packetsBetween(t0, t1, now)];
    // crossing halos first, underneath every arrow
    ctx.lineCap = "round";
    const halo = withAlpha(m.crossingMark ? m.crossingMark.color : PALETTE.yellow, 0.32);
    // a halo under the arrows of the packets a lesson step points at
    const pointed = view.emphasisPackets;
    if (pointed && pointed.size) {
      ctx.strokeStyle = withAlpha(PALETTE.white, 0.35);
      ctx.lineWidth = 10 * ui;
      for (const p of list) {
        if (!pointed.has(p.id)) continue;
        ctx.globalAlpha = view.wireAlpha(p);
        const [x1, y1] = p.fate === "dropped" ? layout.dropPoint(p)
          : p.fate === "arrived" ? [layout.x(p.toLane), layout.y(p.endT)]
            : layout.packetPoint(p, now);
        ctx.beginPath();
        ctx.moveTo(layout.x(p.fromLane), layout.y(p.sendT));
        ctx.lineTo(x1, y1);
        ctx.stroke();
      }
    }
    for (const p of list) {
      if (!p.crossed || p.fate !== "arrived") continue;
      ctx.globalAlpha = (filtering && !view.litPacket(p, chain) ? DIM : 1) * view.wireAlpha(p);
      ctx.beginPath();
      ctx.moveTo(layout.x(p.fromLane), layout.y(p.sendT));
      ctx.lineTo(layout.x(p.toLane), layout.y(p.endT));
      ctx.strokeStyle = halo;
      ctx.lineWidth = 8 * ui;
      ctx.stroke();
    }
    for (const p of list) {
      const style = m.arrowFor(p.type);
      const lit = !filtering || view.litPacket(p, chain);
      const inChain = Boolean(chain) && lit;
      ctx.globalAlpha = (lit ? 1 : DIM) * view.wireAlpha(p);
      const x0 = layout.x(p.fromLane);
      const y0 = layout.y(p.sendT);
      ctx.setLineDash(style.dash.map((d) => d * ui));
      ctx.strokeStyle = style.color;
      ctx.lineWidth = (inChain ? style.width + 1.5 : style.width) * ui;
      if (p.fate === "arrived") {
        const x1 = layout.x(p.toLane);
        const y1 = layout.y(p.endT);
        ctx.beginPath();
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
        ctx.stroke();
        ctx.setLineDash([]);
        const open = m.openHeads.has(p.kind);
        arrowHead(ctx, x0, y0, x1, y1, style.color, (open ? 7 : 9) * ui, open, 1.5 * ui);
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
    const { ctx, view } = this;
    const { layout, model } = view;
    const m = this.manifest;
    const now = view.displayNow;
    const list = model.packetList;
    const { types, typeIndex } = this._lod();
    if (!types.length) return;
    const paths = types.map(() => this.newPath());
    const lastRow = new Int32Array(types.length * 3).fill(-1);
    let i = lowerBound(list, t1 + 1e-9, (p) => p.sendT) - 1;
    const earliest = t0 - model.maxFlight - 1;
    for (; i >= 0; i--) {
      const p = list[i];
      if (p.sendT < earliest) break;
      const fate = p.fate === "arrived" ? 0 : p.fate === "dropped" ? 1 : 2;
      const endT = fate === 0 || fate === 1 ? p.endT : Math.max(p.eta, now);
      if (endT < t0) continue;
      const ti = typeIndex.get(p.type) ?? 0;
      const row = Math.round(layout.y(p.sendT));
      const slot = ti * 3 + fate;
      if (lastRow[slot] === row) continue;
      lastRow[slot] = row;
      const path = paths[ti];
      path.moveTo(layout.x(p.fromLane), row);
      if (fate === 0) {
        path.lineTo(layout.x(p.toLane), layout.y(p.endT));
      } else {
        const [x1, y1] = fate === 1 ? layout.dropPoint(p) : layout.packetPoint(p, now);
        path.lineTo(x1, y1);
      }
    }
    ctx.globalAlpha = 0.7 * view.wireAlpha(null);
    ctx.lineWidth = view.ui;
    types.forEach((type, k) => {
      ctx.strokeStyle = m.arrowFor(type).color;
      ctx.stroke(paths[k]);
    });
    ctx.globalAlpha = 1;
  }

  _events(lo, hi, t1) {
    const { ctx, view } = this;
    const { model, ui } = view;
    const m = this.manifest;
    const chain = view.chain();
    const filtering = view.filtering(chain);
    const R = this.glyphR;
    // lines from a cause: a timeout's wait down its lane, a retry back to its timeout, an
    // explanation back to the timeout it explains (events below the screen whose cause is on it
    // are drawn too)
    const [, hiLink] = model.eventRange(t1, t1 + model.maxLink);
    ctx.lineWidth = 1.5 * ui;
    ctx.setLineDash([2 * ui, 4 * ui]);
    for (let i = lo; i < hiLink; i++) {
      const ev = model.events[i];
      const meta = m.meta(ev.type);
      if (!meta.link) continue;
      if (!view.shows(ev)) continue;
      const cause = model.get(ev.cause);
      if (!cause) continue;
      const lit = !filtering || view.litEvent(ev, chain);
      ctx.globalAlpha = lit ? 0.9 : DIM;
      ctx.strokeStyle = PALETTE[meta.link_color] || PALETTE.yellow;
      const [x1, y1] = view.eventPoint(ev);
      const [x0, y0] = view.eventPoint(cause);
      ctx.beginPath();
      if (meta.link === "wait") {
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
      const key = view.markKey(ev);
      if (!key) continue;
      const [x, y] = view.eventPoint(ev, key);
      const lit = !filtering || view.litEvent(ev, chain);
      const inChain = Boolean(chain) && lit;
      const laneAlpha = view.laneAlpha(view.eventLane(ev));
      ctx.globalAlpha = (lit ? 1 : DIM) * laneAlpha;
      drawGlyph(ctx, m.marks[key], x, y, inChain ? R + 1.5 * ui : R);
      const labelField = m.meta(ev.type).label;
      const label = labelField && typeof ev[labelField] === "string" ? ev[labelField] : null;
      if (label) this._label(label, m.marks[key], x, y, R);
      this.hits.push({ x, y, r: R + 3 * ui, seq: ev.seq, prio: 1 });
      this.drawn.set(ev.seq, label ? { key, lit, unseen: laneAlpha < 1, label }
        : { key, lit, unseen: laneAlpha < 1 });
    }
    ctx.globalAlpha = 1;
    if (view.focusSeq != null) {
      const ev = model.get(view.focusSeq);
      if (ev && !m.meta(ev.type).line && view.shows(ev)) {
        const [x, y] = view.eventPoint(ev);
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

  /**
   * A packet's protocol name beside the mark that puts it on the wire (an event type's `label`:
   * the field it names, e.g. `kind` = "PUBREC"), in the mark's colour, on the side away from the
   * lane's centre line.
   */
  _label(text, mark, x, y, R) {
    const { ctx } = this;
    const alpha = ctx.globalAlpha;
    ctx.font = this._font(10, "600");
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 3 * this.view.ui;
    ctx.strokeStyle = PALETTE.background;
    ctx.strokeText(text, x + R + 3 * this.view.ui, y);
    ctx.fillStyle = (mark && mark.color) || PALETTE.text;
    ctx.fillText(text, x + R + 3 * this.view.ui, y);
    ctx.globalAlpha = alpha;
  }

  /** Overview marks: the manifest's `overview` marks as small squares, one per mark and pixel row. */
  _eventsLod(lo, hi) {
    const { ctx, view } = this;
    const { model, layout } = view;
    const m = this.manifest;
    const { marks, markIndex } = this._lod();
    const rows = Math.ceil(layout.height) + 1;
    const seen = new Uint8Array(marks.length * rows);
    const s = 2 * view.ui;
    for (let i = lo; i < hi; i++) {
      const ev = model.events[i];
      const base = m.markOf(ev);
      const k = markIndex.get(base);
      if (k === undefined) continue;
      const [x, y] = view.eventPoint(ev, base);
      const row = Math.round(y);
      if (row < 0 || row >= rows || seen[k * rows + row]) continue;
      seen[k * rows + row] = 1;
      // in the observer's view an explained event takes the colour of its verdict
      const mark = m.marks[view.markKey(ev) || base];
      ctx.fillStyle = mark.overviewColor;
      ctx.globalAlpha = view.laneAlpha(view.eventLane(ev));
      ctx.fillRect(x - s, y - s, 2 * s, 2 * s);
    }
    ctx.globalAlpha = 1;
  }

  _configLines(t0, t1) {
    const { ctx, view } = this;
    const { layout, model, ui } = view;
    const gutter = layout.gutter;
    const chain = view.chain();
    const filtering = view.filtering(chain);
    ctx.font = this._font(12);
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    for (const ev of model.configLines) {
      if (ev.t < t0 || ev.t > t1) continue;
      const y = Math.round(layout.y(ev.t)) + 0.5;
      ctx.globalAlpha = filtering && !view.litEvent(ev, chain) ? 0.5 : 1;
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
    const { ctx, view } = this;
    const { layout, ui } = view;
    const y = Math.round(layout.y(view.displayNow)) + 0.5;
    if (y < layout.header || y > layout.height) return;
    ctx.strokeStyle = PALETTE.text;
    ctx.globalAlpha = 0.55;
    ctx.lineWidth = ui;
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
}
