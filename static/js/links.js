/**
 * The explorer's address for the run a page shows: `/?run=<run specification>&at=<last event
 * seq>` rebuilds that very run where it stands (main.js `openFromQuery`); before the page has the
 * run's specification, its settings that differ from the defaults (a new run with them).
 * Used by the lesson page ("Open in the explorer") and a room's student page ("Continue this run
 * in the explorer").
 */
export function explorerHref(lab, runText) {
  if (runText) {
    const q = new URLSearchParams({ run: runText, at: String(lab.model.lastSeq) });
    return `/?${q}`;
  }
  const schema = (lab.session && lab.session.schema) || [];
  const cfg = lab.model.config || {};
  const q = new URLSearchParams();
  for (const f of schema) {
    const v = cfg[f.name];
    if (v === undefined || JSON.stringify(v) === JSON.stringify(f.default)) continue;
    q.set(f.name, Array.isArray(v) ? v.join(" ") : String(v));
  }
  const s = q.toString();
  return s ? `/?${s}` : "/";
}
