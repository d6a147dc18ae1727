/** What the student page and the projector view share: lessons fetched once, result bars. */

export const LETTERS = "ABCDEF"; // choices are lettered alike on every screen of the room

const lessons = new Map(); // lesson id -> Promise of the lesson (null if it could not load)

/** The lesson `id` as the page reads it (`/lessons/<id>.json`); a failed fetch is tried again
 * next time. */
export function loadLesson(id) {
  if (!lessons.has(id)) {
    const p = fetch(`/lessons/${encodeURIComponent(id)}.json`)
      .then((r) => (r.ok ? r.json() : null))
      .then((data) => (data && data.lesson) || null)
      .catch(() => null);
    p.then((lesson) => {
      if (!lesson) lessons.delete(id);
    });
    lessons.set(id, p);
  }
  return lessons.get(id);
}

/** The bar of one choice's share of the votes (a picture: the numbers are said in text). */
export function barTrack(share) {
  const track = document.createElement("div");
  track.className = "vote-bar-track";
  track.setAttribute("aria-hidden", "true");
  const fill = document.createElement("div");
  fill.className = "vote-bar-fill";
  fill.style.width = `${share}%`;
  track.append(fill);
  return track;
}

/** A choice's first line: its letter (as on every screen of the room), then its text. */
export function choiceHead(i, choice, { head, letter, text }) {
  const line = document.createElement("p");
  line.className = head;
  const mark = document.createElement("span");
  mark.className = letter;
  mark.textContent = LETTERS[i] || String(i + 1);
  const words = document.createElement("span");
  words.className = text;
  words.textContent = choice;
  line.append(mark, " ", words);
  return line;
}

/** How many voted in `results`, and each of `count` choices' votes and share of them (whole
 * percent). */
export function shares(results, count) {
  const total = results.total || results.counts.reduce((a, b) => a + b, 0);
  const each = Array.from({ length: count }, (_, i) => {
    const n = results.counts[i] || 0;
    return { n, share: total ? Math.round((100 * n) / total) : 0 };
  });
  return { total, each };
}
