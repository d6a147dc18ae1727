/**
 * The legend: each glyph drawn by the same code as the timeline, with its name and meaning. Its
 * small canvases are redrawn when the device pixel ratio changes (browser zoom), so they stay sharp.
 */

import { drawLegendSample, LEGEND } from "./glyphs.js";

export function buildLegend(list) {
  const dpr = window.devicePixelRatio || 1;
  const w = 40;
  const h = 22;
  const items = LEGEND.map((entry) => {
    const li = document.createElement("li");
    li.dataset.glyph = entry.key;
    if (entry.observer) li.dataset.observer = "true";
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.className = "legend-glyph";
    canvas.setAttribute("aria-hidden", "true");
    const ctx = canvas.getContext("2d");
    ctx.scale(canvas.width / w, canvas.height / h);
    drawLegendSample(ctx, entry, w, h);
    const name = document.createElement("strong");
    name.textContent = entry.label;
    const help = document.createElement("span");
    help.textContent = ` ${entry.help}`;
    li.append(canvas, name, help);
    return li;
  });
  list.replaceChildren(...items);
  window.matchMedia(`(resolution: ${dpr}dppx)`)
    .addEventListener("change", () => buildLegend(list), { once: true });
}
