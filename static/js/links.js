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

/**
 * The run specification of the run a page shows, kept current: taken from every snapshot, and
 * fetched again (`get_snapshot`) after a frame with a live change (a setting, an injected fault),
 * which adds to the run's log; while it is being fetched the text is unknown (null), so a link
 * built meanwhile falls back to the run's settings. `wanted()` says whether this page needs it
 * now; `onChange()` is told when a fetched text arrives.
 */
export class RunText {
  constructor(lab, { onChange, wanted = () => true }) {
    this.lab = lab;
    this.onChange = onChange;
    this.wanted = wanted;
    this.text = null;
    this.fetching = false;
  }

  note(snapshot) {
    if (snapshot && typeof snapshot.run === "string") this.text = snapshot.run;
  }

  refresh(frame) {
    const changed = (frame.events || []).some((e) => e.type === "config_change" || e.type === "fault_injected");
    if (!changed || this.fetching || !this.wanted()) return;
    this.text = null;
    this.fetching = true;
    this.lab.send("get_snapshot", {}).then((answer) => {
      this.fetching = false;
      if (answer && answer.ok) this.note(answer.snapshot);
      this.onChange();
    });
  }
}
