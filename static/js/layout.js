/**
 * Layout: where things go. Lanes are columns, in the order the manifest gives (and any lane an
 * event uses that it does not name, after them); simulated time flows down. The viewport is a
 * window [top, top + height / scale] of simulated milliseconds; scrolling moves `top`, zooming
 * changes `scale` (px per ms). All positions are in CSS pixels; `ui` (presenter size) scales the
 * header and the time gutter.
 */

export const HEADER_PX = 30;
export const GUTTER_PX = 46;
export const MIN_SCALE = 0.00001;
export const MAX_SCALE = 2;
export const DEFAULT_SCALE = 0.14;

export class Layout {
  constructor() {
    this.ui = 1; // presenter size scales the header and the time gutter with the marks
    this.width = 600;
    this.height = 400;
    this.scale = DEFAULT_SCALE;
    this.top = -400;
    this.lanes = [];
    this._x = new Map();
    this._w = new Map(); // lane -> its width, where it is not a full lane's
    this._weights = new Map(); // lane -> its share of a full lane's width (a network lane: 0.5)
  }

  /** Height of the lane header and width of the time gutter, in CSS pixels at this UI scale. */
  get header() {
    return Math.round(HEADER_PX * this.ui);
  }

  get gutter() {
    return Math.round(GUTTER_PX * this.ui);
  }

  setSize(width, height) {
    this.width = width;
    this.height = height;
    this.setLanes(this.lanes);
  }

  /** Scale the header and the gutter (presenter size), keeping the time at the top in place. */
  setUi(ui) {
    this.ui = ui;
    this.setLanes(this.lanes);
  }

  /**
   * Lay the lanes out left to right; `weights` (lane -> share of a full lane's width, kept until
   * given again) lets a narrow lane, such as a hop's network, take less room.
   */
  setLanes(lanes, weights = null) {
    this.lanes = lanes.slice();
    if (weights) this._weights = new Map(weights);
    this._x.clear();
    this._w.clear();
    const left = this.gutter;
    const right = 12;
    const span = Math.max(40, this.width - left - right);
    const share = (lane) => this._weights.get(lane) ?? 1;
    const total = this.lanes.reduce((sum, lane) => sum + share(lane), 0);
    const step = span / Math.max(1, total);
    let x = left;
    for (const lane of this.lanes) {
      const w = step * share(lane);
      this._x.set(lane, x + w / 2);
      if (w !== step) this._w.set(lane, w);
      x += w;
    }
    this.laneWidth = step; // a full lane's width
  }

  /** The width of `lane`'s column. */
  widthOf(lane) {
    return this._w.get(lane) ?? this.laneWidth;
  }

  /** Screen x of a lane's centre (the middle of the drawing for a lane it does not have). */
  x(lane) {
    return this._x.get(lane) ?? (this.gutter + this.width) / 2;
  }

  /** Screen y of simulated time t. */
  y(t) {
    return this.header + (t - this.top) * this.scale;
  }

  /** Simulated time at screen y. */
  t(y) {
    return this.top + (y - this.header) / this.scale;
  }

  /** The simulated span [t0, t1] currently on screen. */
  visible() {
    return [this.top, this.top + (this.height - this.header) / this.scale];
  }

  spanMs() {
    return (this.height - this.header) / this.scale;
  }

  scrollBy(dy) {
    this.top += dy / this.scale;
  }

  /** Put simulated time `t` at fraction `f` of the viewport height. */
  reveal(t, f = 0.75) {
    this.top = t - this.spanMs() * f;
  }

  clampTop(minT, maxT) {
    const span = this.spanMs();
    const lo = minT - span * 0.1;
    const hi = Math.max(lo, maxT - span * 0.5);
    this.top = Math.min(Math.max(this.top, lo), hi);
  }

  /** Zoom by `factor` keeping the time under screen y fixed. */
  zoomAt(factor, y) {
    const anchor = this.t(y);
    this.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    this.top = anchor - (y - this.header) / this.scale;
  }

  /** Point of a packet's arrow at simulated time t (straight line from send to arrival). */
  packetPoint(p, t) {
    const x0 = this.x(p.fromLane);
    const x1 = this.x(p.toLane);
    const dur = p.eta - p.sendT;
    const f = dur > 0 ? Math.min(1, Math.max(0, (t - p.sendT) / dur)) : 1;
    return [x0 + (x1 - x0) * f, this.y(p.sendT + (p.eta - p.sendT) * f)];
  }

  /** Where a drop is drawn: mid-way, at the moment it happened (or half-way if it was instant). */
  dropPoint(p) {
    const dur = p.eta - p.sendT;
    let f = dur > 0 ? (p.dropT - p.sendT) / dur : 0.5;
    if (!(f > 0.05 && f <= 1)) f = 0.5;
    return this.packetPoint(p, p.sendT + dur * f);
  }

  /** Grid step (ms) giving labels roughly every 70 px (more at presenter size). */
  gridStep() {
    const target = (70 * this.ui) / this.scale;
    const pow = 10 ** Math.floor(Math.log10(target));
    for (const m of [1, 2, 5, 10]) {
      if (pow * m >= target) return pow * m;
    }
    return pow * 10;
  }
}

export function formatTime(ms) {
  if (Math.abs(ms) >= 1000) return `${Number((ms / 1000).toFixed(1))} s`;
  return `${Math.round(ms)} ms`;
}
