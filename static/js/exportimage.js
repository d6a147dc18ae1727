/**
 * The timeline as a picture, for slides: what it shows now (the same viewport, lens, focus, pin
 * and presenter size), drawn again by the timeline's own Renderer into another context, with a
 * legend under it.
 *
 * The legend lists the marks the picture uses (the marks drawn, the marks whose arrows are drawn,
 * the reordering halo when crossing arrows are drawn; in the overview, the marks the overview keeps
 * and those of the arrows), in the manifest's order, each drawn as the page's legend draws it
 * (glyphs.js: `drawLegendSample`, which draws with `drawGlyph`) with its label, in the palette's
 * text colour on the timeline's dark background, in as many columns as the width allows.
 *
 * PNG: an offscreen canvas at PNG_RATIO (2) device pixels per CSS pixel, so a slide stays sharp;
 * the timeline part is exactly the on-screen timeline's CSS size times the ratio.
 * SVG: the same drawing into a canvas2svg context (static/vendor/canvas2svg, loaded on the first
 * SVG export), with a few shims for what canvas2svg 1.0.16 lacks or does differently from a
 * canvas; text stays real SVG <text>. Neither touches the on-screen canvas or its hit list.
 */

import { Renderer } from "./draw.js";
import { drawLegendSample, PALETTE } from "./glyphs.js";
import { formatTime } from "./layout.js";

/** Device pixels per CSS pixel of an exported PNG. */
export const PNG_RATIO = 2;

const C2S_SCRIPT = "../vendor/canvas2svg/canvas2svg.js";

// the legend's layout, in CSS pixels at UI scale 1 (presenter size scales it with the timeline)
const SAMPLE_W = 40; // a sample's box, as in the page's legend (legend.js)
const SAMPLE_H = 22;
const PAD_X = 12;
const PAD_TOP = 10;
const TITLE_H = 20;
const ROW_H = 26;
const LABEL_GAP = 6; // between a sample and its label
const COL_GAP = 20;
const PAD_BOTTOM = 10;

/**
 * Render the timeline of `lab` (main.js: `lab.timeline`, `lab.model`) as it is now, with its
 * legend. `kind`: "svg" or "png". Resolves to {blob, filename, width, height, marks} (width and
 * height of the picture in CSS pixels; marks: the legend's labels).
 */
export async function exportImage(kind, lab) {
  if (kind !== "svg" && kind !== "png") throw new Error(`unknown picture kind ${kind}`);
  const timeline = lab.timeline;
  const manifest = lab.model.manifest;
  const { width, height } = timeline.layout;
  const out = kind === "svg" ? await renderSvg(timeline, width, height)
    : await renderPng(timeline, width, height);
  const protocol = String(manifest.protocol || "run").toLowerCase().replace(/[^a-z0-9]+/g, "-")
    || "run";
  const ms = Math.max(0, Math.round(timeline.displayNow));
  return {
    blob: out.blob, filename: `delivery-lab-${protocol}-t${ms}.${kind}`,
    width, height: out.height, marks: out.rows.map((row) => row.label),
  };
}

// ------------------------------------------------------------------------------------ PNG

async function renderPng(timeline, width, height) {
  const ratio = PNG_RATIO;
  const pw = Math.round(width * ratio);
  const ph = Math.round(height * ratio);
  // the timeline first, on a canvas of its own (clipped to its size as on screen)
  const part = document.createElement("canvas");
  part.width = pw;
  part.height = ph;
  const renderer = new Renderer(timeline, {
    ctx: part.getContext("2d"), pixelScale: [pw / width, ph / height],
  });
  const lod = renderer.draw();
  const rows = legendRows(timeline, renderer, lod);
  const canvas = document.createElement("canvas");
  const ctx = clearToBackground(canvas.getContext("2d"));
  const legend = layoutLegend(ctx, timeline, rows, width, lod);
  canvas.width = pw;
  canvas.height = Math.round((height + legend.height) * ratio);
  ctx.drawImage(part, 0, 0);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.translate(0, height);
  drawLegend(ctx, legend);
  const blob = await new Promise((resolve, reject) => {
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the browser made no PNG"))),
      "image/png");
  });
  return { blob, rows, height: height + legend.height };
}

// ------------------------------------------------------------------------------------ SVG

/** canvas2svg's constructor, loaded (a UMD script: it sets `window.C2S`) on first use. */
async function loadC2S() {
  if (!window.C2S) await import(C2S_SCRIPT);
  if (typeof window.C2S !== "function") throw new Error("the SVG library did not load");
  return window.C2S;
}

async function renderSvg(timeline, width, height) {
  const C2S = await loadC2S();
  const ctx = shimSvgContext(new C2S(width, height));
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, 0, width, height); // as on screen, nothing spills out of the timeline
  ctx.clip();
  const renderer = new Renderer(timeline, {
    ctx, pixelScale: [1, 1], newPath: () => new RecordedPath(),
  });
  const lod = renderer.draw();
  ctx.restore();
  const rows = legendRows(timeline, renderer, lod);
  const legend = layoutLegend(ctx, timeline, rows, width, lod);
  const total = height + legend.height;
  const svg = ctx.getSvg();
  svg.setAttribute("height", total);
  svg.setAttribute("viewBox", `0 0 ${width} ${total}`);
  const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
  title.textContent = `Delivery Lab timeline: ${legend.caption}`;
  svg.insertBefore(title, svg.firstChild);
  ctx.save();
  ctx.translate(0, height);
  drawLegend(ctx, legend);
  ctx.restore();
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${ctx.getSerializedSvg(true)}\n`;
  return { blob: new Blob([text], { type: "image/svg+xml;charset=utf-8" }), rows, height: total };
}

/** A batch of lines for the overview's arrows (draw.js `newPath`), replayed into the SVG. */
class RecordedPath {
  constructor() {
    this.ops = [];
  }

  moveTo(x, y) {
    this.ops.push(0, x, y);
  }

  lineTo(x, y) {
    this.ops.push(1, x, y);
  }

  replay(ctx) {
    const ops = this.ops;
    for (let i = 0; i < ops.length; i += 3) {
      if (ops[i] === 0) ctx.moveTo(ops[i + 1], ops[i + 2]);
      else ctx.lineTo(ops[i + 1], ops[i + 2]);
    }
  }
}

/**
 * What canvas2svg 1.0.16 lacks, or does unlike a canvas, that draw.js and glyphs.js use, on one
 * of its contexts (reaching into its current element, `__currentElement`, where it must):
 * - `setLineDash` / `getLineDash`: kept with save/restore, written as `stroke-dasharray`;
 * - `stroke(path)` with a RecordedPath: the path is replayed, then stroked;
 * - `clip()`: the clipping path gets its outline (canvas2svg leaves it empty, hiding everything);
 * - text, `fillRect` and `strokeRect` leave the path being built alone (canvas2svg would start a
 *   new one, losing the lines already added: the time grid draws its labels between its lines);
 * - `fillText(text, x, y, maxWidth)`: text wider than maxWidth is squeezed to it (`textLength`);
 * - `clearRect`: paints the background (the picture has no transparent parts; canvas2svg paints
 *   white).
 */
function shimSvgContext(ctx) {
  const base = Object.getPrototypeOf(ctx);
  let dash = [];
  const saved = [];
  ctx.setLineDash = (segments) => {
    dash = Array.isArray(segments) && segments.every((d) => Number.isFinite(d) && d >= 0)
      ? segments.slice() : dash;
  };
  ctx.getLineDash = () => dash.slice();
  ctx.save = function save() {
    saved.push(dash);
    base.save.call(this);
  };
  ctx.restore = function restore() {
    if (saved.length) dash = saved.pop();
    base.restore.call(this);
  };
  ctx.stroke = function stroke(path) {
    if (path instanceof RecordedPath) {
      this.beginPath();
      path.replay(this);
    }
    base.stroke.call(this);
    if (dash.length && dash.some((d) => d > 0)) {
      this.__currentElement.setAttribute("stroke-dasharray", dash.join(" "));
    }
  };
  const keepPath = (draw) => function keep(...args) {
    const building = this.__currentElement;
    draw.apply(this, args);
    const made = this.__currentElement;
    if (building && building.nodeName === "path") this.__currentElement = building;
    return made;
  };
  const text = (draw) => keepPath(function fit(t, x, y, maxWidth) {
    draw.call(this, String(t), x, y);
    if (maxWidth == null || !Number.isFinite(maxWidth)) return;
    if (this.measureText(String(t)).width <= maxWidth) return;
    this.__currentElement.setAttribute("textLength", Math.max(0, maxWidth));
    this.__currentElement.setAttribute("lengthAdjust", "spacingAndGlyphs");
  });
  ctx.clip = function clip() {
    this.__applyCurrentDefaultPath(); // canvas2svg clips to a path it has not written yet
    base.clip.call(this);
  };
  ctx.fillText = text(base.fillText);
  ctx.strokeText = text(base.strokeText);
  ctx.fillRect = keepPath(base.fillRect);
  ctx.strokeRect = keepPath(base.strokeRect);
  return clearToBackground(ctx);
}

/**
 * `clearRect` on a context of a picture paints the background instead: the picture has no
 * transparent parts (the legend's samples clear their box before drawing, as on the page).
 */
function clearToBackground(ctx) {
  ctx.clearRect = function clearRect(x, y, w, h) {
    const { fillStyle, globalAlpha } = this;
    this.fillStyle = PALETTE.background;
    this.globalAlpha = 1;
    this.fillRect(x, y, w, h);
    this.fillStyle = fillStyle;
    this.globalAlpha = globalAlpha;
  };
  return ctx;
}

// ------------------------------------------------------------------------------------ legend

/**
 * The legend's rows (manifest.js `legend()`): the marks the picture uses, in the manifest's order.
 * In the overview, the marks it keeps (as small squares) and the marks of the arrows.
 */
function legendRows(timeline, renderer, lod) {
  const m = timeline.manifest;
  const { layout, model } = timeline;
  const used = new Set();
  if (lod) {
    for (const [key, mark] of Object.entries(m.marks)) if (mark.overview) used.add(key);
    for (const type of m.starts) used.add(m.meta(type).mark);
  } else {
    for (const d of renderer.drawn.values()) used.add(d.key);
    const [t0, t1] = layout.visible();
    for (const p of model.packetsBetween(t0, t1, timeline.displayNow)) {
      used.add(m.meta(p.type).mark); // the arrow's mark, its start perhaps above the picture
      if (p.crossed && p.fate === "arrived" && m.crossingMark) used.add(m.crossingMark.key);
    }
  }
  return m.legend().filter((row) => used.has(row.key));
}

/** Where each row of the legend goes: as many columns as fit the picture's width. */
function layoutLegend(ctx, timeline, rows, width, lod) {
  const ui = timeline.ui;
  const font = `${Math.round(12 * ui)}px system-ui, sans-serif`;
  const titleFont = `600 ${Math.round(12 * ui)}px system-ui, sans-serif`;
  const padX = PAD_X * ui;
  const inner = Math.max(1, width - 2 * padX);
  const before = ctx.font;
  ctx.font = font;
  const widest = rows.reduce((w, row) => Math.max(w, ctx.measureText(row.label).width), 0);
  ctx.font = titleFont;
  const titleWidth = ctx.measureText("Legend").width;
  ctx.font = before;
  const item = (SAMPLE_W + LABEL_GAP) * ui;
  const colWidth = Math.min(inner, item + widest);
  const cols = Math.max(1, Math.min(rows.length || 1,
    Math.floor((inner + COL_GAP * ui) / (colWidth + COL_GAP * ui))));
  const perCol = Math.max(1, Math.ceil(rows.length / cols));
  const view = timeline.observer ? "Observer's view"
    : (timeline.manifest.lens && timeline.manifest.lens.label) || "Partial view";
  const parts = [timeline.manifest.title || timeline.manifest.protocol, view,
    `t = ${formatTime(timeline.displayNow)}`];
  if (lod) parts.push("overview: marks as small squares");
  else if (timeline.pinSeq != null) parts.push("a causal chain pinned"); // (it wins over focus)
  else if (timeline.focusMsg != null) parts.push(`message ${timeline.focusMsg} focused`);
  const rowsH = rows.length ? perCol * ROW_H * ui : ROW_H * ui;
  return {
    ui, font, titleFont, rows, cols, perCol, width, padX, titleWidth,
    colWidth, colStep: colWidth + COL_GAP * ui, labelWidth: colWidth - item,
    caption: parts.filter(Boolean).join(" · "),
    height: Math.ceil((PAD_TOP + TITLE_H) * ui + rowsH + PAD_BOTTOM * ui),
  };
}

/** Draw the legend laid out by layoutLegend, its top left corner at the origin. */
function drawLegend(ctx, legend) {
  const { ui, padX, width } = legend;
  ctx.save();
  ctx.globalAlpha = 1;
  ctx.fillStyle = PALETTE.background;
  ctx.fillRect(0, 0, width, legend.height);
  ctx.strokeStyle = PALETTE.laneLine;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, 0.5);
  ctx.lineTo(width, 0.5);
  ctx.stroke();
  const titleY = (PAD_TOP + TITLE_H / 2) * ui;
  ctx.font = legend.titleFont;
  ctx.textBaseline = "middle";
  ctx.textAlign = "left";
  ctx.fillStyle = PALETTE.text;
  ctx.fillText("Legend", padX, titleY);
  ctx.font = legend.font;
  ctx.textAlign = "right";
  ctx.fillStyle = PALETTE.muted;
  const room = width - 2 * padX - legend.titleWidth - 16 * ui;
  if (room > 40) ctx.fillText(legend.caption, width - padX, titleY, room);
  ctx.textAlign = "left";
  const top = (PAD_TOP + TITLE_H) * ui;
  if (!legend.rows.length) {
    ctx.fillStyle = PALETTE.muted;
    ctx.fillText("No marks in this picture yet.", padX, top + (ROW_H / 2) * ui);
  }
  legend.rows.forEach((row, i) => {
    const col = Math.floor(i / legend.perCol);
    const x = padX + col * legend.colStep;
    const y = top + (i % legend.perCol) * ROW_H * ui;
    const sampleY = y + ((ROW_H - SAMPLE_H) / 2) * ui;
    ctx.save();
    ctx.translate(x, sampleY);
    if (ui !== 1) ctx.scale(ui, ui);
    drawLegendSample(ctx, row, SAMPLE_W, SAMPLE_H);
    ctx.restore();
    ctx.font = legend.font;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.fillStyle = PALETTE.text;
    ctx.globalAlpha = 1;
    ctx.fillText(row.label, x + (SAMPLE_W + LABEL_GAP) * ui, y + (ROW_H / 2) * ui,
      Math.max(10, legend.labelWidth));
  });
  ctx.restore();
}
