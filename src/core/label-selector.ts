/**
 * The grammar of Kubernetes label selectors, shared by the playbook's validation and the steps that select
 * objects: it sits in the core so that the playbook need not import a step.
 */

export type Requirement =
  { key: string; op: "exists" | "!exists" } | { key: string; op: "in" | "notin"; values: string[] };

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/**
 * Parses a Kubernetes label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x)`, joined by
 * commas. Throws an Error saying what is wrong; callers attach the field path.
 */
export function parseLabelSelector(text: string): Requirement[] {
  const requirements: Requirement[] = [];
  for (const part of splitSelector(text)) {
    const term = part.trim();
    if (term === "") throw new Error(`empty requirement in "${text}"`);
    let match: RegExpExecArray | null;
    if ((match = /^!\s*(\S+)$/.exec(term))) {
      requirements.push({ key: checkKey(match[1] ?? ""), op: "!exists" });
    } else if ((match = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(term))) {
      const [, key = "", op, value = ""] = match;
      requirements.push({
        key: checkKey(key),
        op: op === "!=" ? "notin" : "in",
        values: [checkValue(value)],
      });
    } else if ((match = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term))) {
      const [, key = "", op, list = ""] = match;
      const values = list.split(",").map((v) => checkValue(v.trim()));
      requirements.push({ key: checkKey(key), op: op === "in" ? "in" : "notin", values });
    } else if (/^\S+$/.test(term)) {
      requirements.push({ key: checkKey(term), op: "exists" });
    } else {
      throw new Error(`cannot parse "${term}"`);
    }
  }
  return requirements;
}

function checkKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid label key "${key}"`);
  return key;
}

function checkValue(value: string): string {
  if (!VALUE.test(value) || value.length > 63) throw new Error(`invalid label value "${value}"`);
  return value;
}

/** Splits a label or field selector on the commas outside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
export function splitSelector(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts;
}
