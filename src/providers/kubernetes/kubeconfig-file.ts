import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { isMap, isSeq, parseDocument, type Document } from "yaml";

type Entry = Record<string, unknown>;

/**
 * Named kubeconfig entries to set (an object) or remove (null); names absent from a map are left alone.
 * The same shape is the before-image a rollback writes back.
 */
export interface KubeconfigPatch {
  clusters?: Record<string, Entry | null>;
  users?: Record<string, Entry | null>;
  contexts?: Record<string, Entry | null>;
}

const LISTS = [
  ["clusters", "cluster"],
  ["users", "user"],
  ["contexts", "context"],
] as const;

/** The file kubectl writes new entries to: the first of the KUBECONFIG list, else ~/.kube/config. */
export function kubeconfigFile(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  for (const list of [explicit, env.KUBECONFIG]) {
    const first = list?.split(path.delimiter).find((p) => p.trim() !== "");
    if (first) return path.resolve(first);
  }
  return path.join(homedir(), ".kube", "config");
}

/** The current values of the entries `names` lists (null where absent): the before-image of a patch. */
export async function readKubeconfigEntries(
  file: string,
  names: Required<KubeconfigNames>,
): Promise<KubeconfigPatch> {
  const doc = await load(file);
  const result: Required<KubeconfigPatch> = { clusters: {}, users: {}, contexts: {} };
  for (const [list, inner] of LISTS) {
    const seq = doc.get(list);
    const items = isSeq(seq) ? seq.items : [];
    for (const name of names[list]) {
      const item = items.find((i) => isMap(i) && i.get("name") === name);
      const value: unknown = isMap(item) ? (item.toJSON() as Entry)[inner] : undefined;
      result[list][name] = isEntry(value) ? value : null;
    }
  }
  return result;
}

export interface KubeconfigNames {
  clusters?: string[];
  users?: string[];
  contexts?: string[];
}

export function namesOf(patch: KubeconfigPatch): Required<KubeconfigNames> {
  return {
    clusters: Object.keys(patch.clusters ?? {}),
    users: Object.keys(patch.users ?? {}),
    contexts: Object.keys(patch.contexts ?? {}),
  };
}

/**
 * Sets or removes the named entries, keeping everything else (other entries, current-context, comments).
 * Idempotent; the file is replaced atomically with mode 0600, as kubectl keeps it.
 */
export async function patchKubeconfig(file: string, patch: KubeconfigPatch): Promise<void> {
  const doc = await load(file);
  for (const [list, inner] of LISTS) {
    for (const [name, value] of Object.entries(patch[list] ?? {})) {
      let seq = doc.get(list);
      if (!isSeq(seq)) {
        if (value === null) continue;
        seq = doc.createNode([]);
        doc.set(list, seq);
      }
      if (!isSeq(seq)) continue;
      const index = seq.items.findIndex((i) => isMap(i) && i.get("name") === name);
      if (value === null) {
        if (index >= 0) seq.items.splice(index, 1);
      } else if (index >= 0) {
        seq.items[index] = doc.createNode({ name, [inner]: value });
      } else {
        seq.items.push(doc.createNode({ name, [inner]: value }));
      }
    }
  }
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.clustershift-${process.pid}.tmp`;
  await writeFile(temporary, doc.toString(), { mode: 0o600 });
  await rename(temporary, file);
}

async function load(file: string): Promise<Document> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    text = "";
  }
  const doc = parseDocument(text.trim() ? text : "apiVersion: v1\nkind: Config\npreferences: {}\n");
  if (doc.errors.length) throw new Error(`${file} is not valid YAML: ${doc.errors[0]!.message}`);
  return doc;
}

function isEntry(value: unknown): value is Entry {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A token-authenticated context for a plain-HTTP or self-signed API server (the sandbox's clusters). */
export function tokenKubeconfigPatch(
  entry: string,
  server: string,
  token: string,
  context: string,
): KubeconfigPatch {
  return {
    clusters: { [entry]: { server, "insecure-skip-tls-verify": true } },
    users: { [entry]: { token } },
    contexts: { [context]: { cluster: entry, user: entry } },
  };
}

/** The context's server and how it authenticates, for plans and messages; never a credential. */
export function describeContext(
  patch: KubeconfigPatch,
  context: string,
): Record<string, unknown> | undefined {
  const ctx = patch.contexts?.[context];
  if (!ctx) return undefined;
  const cluster = patch.clusters?.[String(ctx.cluster)];
  const user = patch.users?.[String(ctx.user)];
  const exec = user?.exec as { command?: unknown } | undefined;
  const auth = exec
    ? `exec ${String(exec.command)}`
    : user?.token
      ? "token"
      : user
        ? Object.keys(user).join(",")
        : "none";
  return { context, cluster: ctx.cluster, user: ctx.user, server: cluster?.server ?? null, auth };
}

/** Whether a user entry holds a credential, so the journal must keep it apart. */
export function holdsCredentials(patch: KubeconfigPatch): boolean {
  const secret = ["token", "password", "client-key-data", "client-key"];
  return Object.values(patch.users ?? {}).some((user) => user !== null && secret.some((key) => key in user));
}
