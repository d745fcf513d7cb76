import type { Behaviour } from "../objects.js";
import { FIELDS } from "./fields.js";
import { GENERATION } from "./generation.js";
import { IMMUTABLE } from "./immutable.js";
import { ISTIO } from "./istio.js";
import { LIFECYCLE } from "./lifecycle.js";
import { LISTS } from "./lists.js";
import { VALIDATION } from "./validation.js";
import { WRITES } from "./writes.js";

export type { Behaviour } from "../objects.js";

/** Every behaviour the sandbox is held to, most relied on first. */
export const TABLE: readonly Behaviour[] = [
  ...VALIDATION,
  ...IMMUTABLE,
  ...FIELDS,
  ...GENERATION,
  ...LIFECYCLE,
  ...ISTIO,
  ...LISTS,
  ...WRITES,
];

const names = new Set<string>();
for (const behaviour of TABLE) {
  if (names.has(behaviour.name)) throw new Error(`two behaviours are named "${behaviour.name}"`);
  names.add(behaviour.name);
}
