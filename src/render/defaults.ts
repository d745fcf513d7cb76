import { parse } from "yaml";
import type { Playbook } from "../playbook/schema.js";
import { painter } from "./color.js";

/** A default the playbook left unsaid that changes what the run writes: which field, what it is, what it means. */
export interface DefaultNote {
  path: string;
  value: string;
  means: string;
}

type Raw = Record<string, unknown>;

const record = (value: unknown): Raw | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Raw) : undefined;

/**
 * The defaults a reviewer should know were taken, from the playbook as written (`raw`, the parsed YAML) and as
 * loaded: only fields whose default changes what is written or when the run stops, and only in sections the
 * playbook has. Fields whose default the plan lines show anyway (timeouts, the record type) are left out.
 */
export function defaultNotes(raw: unknown, playbook: Playbook): DefaultNote[] {
  const spec = record(record(raw)?.spec) ?? {};
  const notes: DefaultNote[] = [];
  const unset = (section: string, field: string) => {
    const written = record(spec[section]);
    return written !== undefined && !(field in written);
  };
  const { workloads, traffic, dns } = playbook.spec;
  if (workloads && unset("workloads", "exclude"))
    notes.push({
      path: "spec.workloads.exclude",
      value: "[]",
      means: `every object in ${workloads.namespaces.join(", ")} is mirrored (but clustershift's own and the source gateway's)`,
    });
  if (traffic && unset("traffic", "hosts"))
    notes.push({
      path: "spec.traffic.hosts",
      value: "every host",
      means: "every VirtualService on the source gateway moves, with its own hosts",
    });
  if (traffic && unset("traffic", "scope"))
    notes.push({
      path: "spec.traffic.scope",
      value: traffic.scope,
      means: "every HTTP route of those VirtualServices is split; service splits only traffic.service's",
    });
  if (traffic && unset("traffic", "onFailure"))
    notes.push({
      path: "spec.traffic.onFailure",
      value: traffic.onFailure,
      means: "a failed gate rolls the whole run back; pause stops there and waits for you",
    });
  if (dns && unset("dns", "lowTtl"))
    notes.push({
      path: "spec.dns.lowTtl",
      value: String(dns.lowTtl),
      means: "seconds of TTL set on the record before the cutover",
    });
  if (dns && unset("dns", "target"))
    notes.push({
      path: "spec.dns.target",
      value: "the target ingress address",
      means: "the record points at the target ingress gateway's external address, read when the cutover runs",
    });
  if (dns && unset("dns", "restoreTtl"))
    notes.push({
      path: "spec.dns.restoreTtl",
      value: String(dns.restoreTtl),
      means: `the record keeps the low TTL (${dns.lowTtl}s) after the cutover; true puts the old TTL back`,
    });
  return notes;
}

/** `Warning:` and one line per default, after the plan; empty when the playbook says everything itself. */
export function renderDefaultNotes(notes: readonly DefaultNote[], options: { color?: boolean } = {}): string {
  if (notes.length === 0) return "";
  const paint = painter(options.color === true);
  const width = Math.max(...notes.map((note) => `${note.path}: ${note.value}`.length));
  return [
    "",
    `${paint("update", "Warning:")} defaults the playbook leaves unsaid (write them in it to make them explicit):`,
    ...notes.map((note) => `  ${`${note.path}: ${note.value}`.padEnd(width)}  ${paint("dim", note.means)}`),
    "",
  ].join("\n");
}

/** The block for the playbook file's text as written; nothing when the text does not parse (it did, to load). */
export function defaultsWarning(text: string, playbook: Playbook, options: { color?: boolean } = {}): string {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch {
    return "";
  }
  return renderDefaultNotes(defaultNotes(raw, playbook), options);
}
