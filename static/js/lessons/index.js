/**
 * The lesson index: each lesson's progress, from what this browser remembers (progress.js).
 * The list itself is the server's page; this only fills in "Not started", "Step 2 of 4", "Done".
 */

import { progressOf } from "./progress.js";

for (const card of document.querySelectorAll(".lesson-card")) {
  const steps = (card.dataset.steps || "").split(" ").filter(Boolean);
  const p = progressOf(card.dataset.lessonId);
  const seen = steps.filter((s) => p.seen.includes(s)).length;
  const out = card.querySelector("[data-progress]");
  const link = card.querySelector(".lesson-link");
  if (!seen) continue;
  const done = seen === steps.length;
  const tasks = Object.keys(p.tasks).filter((s) => steps.includes(s)).length;
  out.textContent = done
    ? `Done: every step seen${tasks ? `, ${tasks} ${tasks === 1 ? "task" : "tasks"} met` : ""}.`
    : `In progress: ${seen} of ${steps.length} steps seen.`;
  out.dataset.state = done ? "done" : "started";
  if (!done && p.step && steps.includes(p.step) && link) {
    const resume = document.createElement("a");
    resume.href = `${link.getAttribute("href")}/${encodeURIComponent(p.step)}`;
    resume.className = "lesson-resume";
    resume.textContent = "Continue where you left off";
    out.append(" ", resume);
  }
}
