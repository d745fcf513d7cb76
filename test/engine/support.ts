import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ROOT, runCli, type CliResult } from "../support/cli.js";
import { tempDir } from "../support/temp.js";

export const PLUGIN = resolve(ROOT, "test/engine/fixtures/file-steps.mjs");
export const ENGINE_PLAYBOOK = "test/engine/fixtures/engine-test.yaml";
export const APPROVAL_PLAYBOOK = "test/engine/fixtures/approval.yaml";

/** A world (the files the test steps write) and a state dir, in a fresh temp dir. */
export interface Sandbox {
  dir: string;
  world: string;
  state: string;
}

export async function freshSandbox(): Promise<Sandbox> {
  const dir = await tempDir("engine");
  const sandbox = { dir, world: join(dir, "world"), state: join(dir, "state") };
  // An object that exists before the run, so rollback must restore it rather than delete it.
  await cp(resolve(ROOT, "test/engine/fixtures/world-initial"), sandbox.world, { recursive: true });
  return sandbox;
}

export async function worldOf(sandbox: Sandbox): Promise<Record<string, string>> {
  const files = (await readdir(sandbox.world)).sort();
  const world: Record<string, string> = {};
  for (const file of files) world[file] = await readFile(join(sandbox.world, file), "utf8");
  return world;
}

export async function setHealth(sandbox: Sandbox, ok: boolean): Promise<void> {
  await writeFile(join(sandbox.world, "health.json"), JSON.stringify({ ok }));
}

export function cli(sandbox: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli([...args, "--state-dir", sandbox.state], {
    env: { CLUSTERSHIFT_PLUGIN: PLUGIN, CLUSTERSHIFT_TEST_WORLD: sandbox.world, ...env },
  });
}

export const applyArgs = (playbook = ENGINE_PLAYBOOK) => [
  "apply",
  "-f",
  playbook,
  "--yes",
  "--non-interactive",
];
export const rollbackArgs = (playbook = ENGINE_PLAYBOOK) => ["rollback", "-f", playbook, "--yes"];

/** A copy of `playbook` in the world's dir whose journal lives in a cluster (`state: {backend: kubernetes}`). */
export async function withKubernetesState(
  world: Sandbox,
  playbook: string,
  namespace: string,
): Promise<string> {
  const text = await readFile(resolve(ROOT, playbook), "utf8");
  const path = join(world.dir, "playbook-kubernetes-state.yaml");
  await writeFile(
    path,
    `${text.trimEnd()}\n  state: {backend: kubernetes, context: source, namespace: ${namespace}}\n`,
  );
  return path;
}
