/**
 * A task's success condition, read and judged on the run's counters: `name OP value`, terms
 * joined by `and`, where value is a whole number or another counter's name and OP one of
 * == != < <= > >= (the grammar of server/lessons.py). Read by a regular expression, never
 * evaluated as code; a counter the summary lacks counts as 0, as on the server.
 */

const TERM = /^\s*([a-z_]+)\s*(==|!=|<=|>=|<|>)\s*([a-z_]+|-?[0-9]+)\s*$/;
const OPS = {
  "==": (a, b) => a === b,
  "!=": (a, b) => a !== b,
  "<=": (a, b) => a <= b,
  ">=": (a, b) => a >= b,
  "<": (a, b) => a < b,
  ">": (a, b) => a > b,
};

/** The terms of `text`: [{name, op, value}]; throws on anything else. */
export function parseCondition(text) {
  if (typeof text !== "string" || !text.trim()) throw new Error("empty condition");
  return text.split(" and ").map((part) => {
    const m = TERM.exec(part);
    if (!m) throw new Error(`"${part.trim()}" is not COUNTER OP VALUE`);
    return { name: m[1], op: m[2], value: m[3] };
  });
}

function counter(summary, name) {
  const v = summary ? summary[name] : undefined;
  return typeof v === "number" ? v : 0;
}

/** Each term judged on `summary`: {name, op, value, left, right, holds}. */
export function judge(terms, summary) {
  return terms.map((t) => {
    const left = counter(summary, t.name);
    const right = /^[a-z_]/.test(t.value) ? counter(summary, t.value) : Number(t.value);
    return { ...t, left, right, holds: OPS[t.op](left, right) };
  });
}

/** Whether every term holds on `summary`. */
export function holds(terms, summary) {
  return judge(terms, summary).every((t) => t.holds);
}
