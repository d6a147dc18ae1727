/**
 * What a learner did in each lesson, kept in this browser (localStorage): the step reached, the
 * choice made for each prediction, the tasks met. Storage may be off or full: then nothing is
 * remembered and nothing fails.
 */

const KEY = "delivery-lab.lessons";

function readAll() {
  try {
    const raw = localStorage.getItem(KEY);
    const data = raw ? JSON.parse(raw) : {};
    return data && typeof data === "object" ? data : {};
  } catch {
    return {};
  }
}

function writeAll(data) {
  try {
    localStorage.setItem(KEY, JSON.stringify(data));
  } catch {
    // storage off or full: progress is simply not kept
  }
}

/** One lesson's record: {step, seen: [step ids], answers: {step: choice index}, tasks: {step: true}}. */
export function progressOf(lessonId) {
  const p = readAll()[lessonId];
  return {
    step: p && typeof p.step === "string" ? p.step : null,
    seen: p && Array.isArray(p.seen) ? p.seen : [],
    answers: p && p.answers && typeof p.answers === "object" ? p.answers : {},
    tasks: p && p.tasks && typeof p.tasks === "object" ? p.tasks : {},
  };
}

function update(lessonId, change) {
  const all = readAll();
  const p = progressOf(lessonId);
  change(p);
  all[lessonId] = p;
  writeAll(all);
  return p;
}

export const markSeen = (lessonId, stepId) => update(lessonId, (p) => {
  p.step = stepId;
  if (!p.seen.includes(stepId)) p.seen.push(stepId);
});
export const saveAnswer = (lessonId, stepId, choice) => update(lessonId, (p) => {
  p.answers[stepId] = choice;
});
export const saveTask = (lessonId, stepId) => update(lessonId, (p) => {
  p.tasks[stepId] = true;
});

const SPEED_KEY = "delivery-lab.lesson-speed";
/** The speed the learner plays lesson steps at (1x until they choose another). */
export function lessonSpeed() {
  try {
    const v = Number(localStorage.getItem(SPEED_KEY));
    return v > 0 ? v : 1;
  } catch {
    return 1;
  }
}
export function saveLessonSpeed(speed) {
  try {
    localStorage.setItem(SPEED_KEY, String(speed));
  } catch {
    // not kept
  }
}
