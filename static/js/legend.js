/**
 * The legend: each of the manifest's marks drawn by the same code as the timeline, with its name
 * and meaning, in the manifest's order. Its small canvases are redrawn when the device pixel ratio
 * changes (browser zoom), so they stay sharp, and the whole list when another manifest arrives.
 */

import { drawLegendSample } from "./glyphs.js";

const shown = new WeakMap(); // list element -> the manifest its legend shows

/** Build the legend of `manifest` (manifest.js) into the list element `list`. */
export function buildLegend(list, manifest) {
  const dpr = window.devicePixelRatio || 1;
  const w = 40;
  const h = 22;
  const items = manifest.legend().map((row) => {
    const li = document.createElement("li");
    li.dataset.glyph = row.key;
    if (row.observer) li.dataset.observer = "true";
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.className = "legend-glyph";
    canvas.setAttribute("aria-hidden", "true");
    const ctx = canvas.getContext("2d");
    ctx.scale(canvas.width / w, canvas.height / h);
    drawLegendSample(ctx, row, w, h);
    const name = document.createElement("strong");
    name.textContent = row.label;
    const help = document.createElement("span");
    help.textContent = ` ${row.help}`;
    li.append(canvas, name, help);
    return li;
  });
  list.replaceChildren(...items);
  shown.set(list, manifest);
  window.matchMedia(`(resolution: ${dpr}dppx)`).addEventListener("change", () => {
    if (shown.get(list) === manifest) buildLegend(list, manifest);
  }, { once: true });
}
