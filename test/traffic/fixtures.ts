import { resolve } from "node:path";
import { stringify } from "yaml";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { fixtureObjects } from "../support/fixtures.js";

export function fixtureObject(path: string, kind: string, name: string, namespace?: string): KubeObject {
  const found = fixtureObjects(path, namespace).find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind} ${name} not in ${path}`);
  return found;
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

/**
 * An object a cluster stores, as YAML with its keys sorted: a real kube-apiserver returns keys in its own (sorted)
 * order, not in the order they were sent, so key order is no part of what a cluster-side golden file pins.
 */
export function toStoredYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, sortMapEntries: true });
}

export function goldenPath(name: string): string {
  return resolve(import.meta.dirname, "__golden__", name);
}
