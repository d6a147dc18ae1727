/**
 * The legend: each glyph drawn by the same code as the timeline, with its name and meaning.
 */

import { drawLegendSample, LEGEND } from "./glyphs.js";

export function buildLegend(list) {
  const dpr = window.devicePixelRatio || 1;
  const w = 40;
  const h = 22;
  const items = LEGEND.map((entry) => {
    const li = document.createElement("li");
    li.dataset.glyph = entry.key;
    const canvas = document.createElement("canvas");
    canvas.width = w * dpr;
    canvas.height = h * dpr;
    canvas.className = "legend-glyph";
    canvas.setAttribute("aria-hidden", "true");
    const ctx = canvas.getContext("2d");
    ctx.scale(dpr, dpr);
    drawLegendSample(ctx, entry, w, h);
    const name = document.createElement("strong");
    name.textContent = entry.label;
    const help = document.createElement("span");
    help.textContent = ` ${entry.help}`;
    li.append(canvas, name, help);
    return li;
  });
  list.replaceChildren(...items);
}
