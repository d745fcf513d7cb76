/**
 * `npm run bench` (first part): start-up time of the commands that need no cluster — `--help`, `--version`,
 * `validate` and `schema` — as the median of 7 runs of the built CLI, against a bare `node -e 0` measured in the
 * same run. Goal (issue 13): under 250 ms above bare Node, by loading the engine, the steps, the cloud SDKs and
 * the Kubernetes client only when a command needs them (src/cli/runtime.ts).
 */
import { spawnSync } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/bin/main.js");
const RUNS = 7;
const GOAL_MS = 250;

function medianMs(args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "ignore" });
    if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited ${result.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)] ?? Number.NaN;
}

const bare = medianMs(["-e", "0"]);
console.log(`start-up, median of ${RUNS}: bare node -e 0: ${bare.toFixed(0)} ms`);
for (const args of [
  ["--help"],
  ["--version"],
  ["validate", "-f", "playbooks/online-boutique-to-csm.yaml"],
  ["schema"],
]) {
  const ms = medianMs([CLI, ...args]);
  const above = ms - bare;
  console.log(
    `  clustershift ${args.join(" ")}: ${ms.toFixed(0)} ms (${above.toFixed(0)} ms above bare; goal < ${GOAL_MS}: ${above < GOAL_MS ? "met" : "NOT met"})`,
  );
}
