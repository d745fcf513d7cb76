import type { Document, LineCounter, Node } from "yaml";
import { isAlias, isMap, isNode, isScalar, isSeq } from "yaml";
import type { PathSegment } from "./messages.js";

export interface Position {
  line: number;
  col: number;
}

interface Found {
  /** The deepest node reached along the path, and the key it hangs from (none for list items and the root). */
  node: Node | undefined;
  key: Node | undefined;
  complete: boolean;
}

/**
 * Where a finding points: the value at `path`; its key with `at: "key"` or when the value is empty
 * (`source:` with nothing after it); the key of the parent mapping when the value is missing.
 */
export function locate(
  doc: Document,
  lines: LineCounter,
  path: readonly PathSegment[],
  at: "key" | undefined,
): Position {
  const found = walk(doc, path);
  const valueNode = found.complete && at !== "key" && !isEmptyNode(found.node) ? found.node : undefined;
  const target = valueNode ?? found.key ?? found.node;
  const offset = target?.range?.[0];
  return offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset);
}

function walk(doc: Document, path: readonly PathSegment[]): Found {
  let node: Node | undefined = isNode(doc.contents) ? doc.contents : undefined;
  let key: Node | undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc) ?? node;
    let next: { key: Node | undefined; value: Node | undefined } | undefined;
    if (isMap(node)) {
      const pair = keyIndex(node).get(String(segment));
      if (pair)
        next = {
          key: isNode(pair.key) ? pair.key : undefined,
          value: isNode(pair.value) ? pair.value : undefined,
        };
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (isNode(item)) next = { key: undefined, value: item };
    }
    if (next === undefined) return { node, key, complete: false };
    if (next.value === undefined) return { node: next.key, key: next.key, complete: true };
    node = next.value;
    key = next.key;
  }
  return { node, key, complete: true };
}

type MapNode = Extract<Node, { items: unknown[] }> & { items: { key: unknown; value: unknown }[] };
type MapPair = MapNode["items"][number];
const keyIndexes = new WeakMap<object, Map<string, MapPair>>();

/**
 * The pairs of a mapping by key, built once per mapping: locating each of n findings in a mapping of n keys
 * (100k unknown fields) by a scan was quadratic and took minutes.
 */
function keyIndex(node: MapNode): Map<string, MapPair> {
  let index = keyIndexes.get(node);
  if (!index) {
    index = new Map();
    for (const item of node.items) {
      // The first of duplicate keys, as a scan found it.
      if (isScalar(item.key) && !index.has(String(item.key.value))) index.set(String(item.key.value), item);
    }
    keyIndexes.set(node, index);
  }
  return index;
}

/** A value left out (`key:` with nothing after it, a `---` with nothing under it), not a written `null`. */
export function isEmptyNode(node: unknown): boolean {
  return isScalar(node) && node.value === null && node.range != null && node.range[0] === node.range[1];
}
