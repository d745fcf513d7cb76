/**
 * `npm run bench` (plan speed, issue 13 item 6): `clustershift plan -f playbooks/online-boutique-sandbox.yaml` as
 * a whole process against `clustershift sandbox --seed online-boutique` (the README's rehearsal), median of 7 runs,
 * beside a bare `node -e 0` measured in the same run. Goal: under 1.5 s.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = join(ROOT, "dist/bin/main.js");
const PLAYBOOK = "playbooks/online-boutique-sandbox.yaml";
const RUNS = 7;
const GOAL_MS = 1500;

function medianMs(args: string[], env: NodeJS.ProcessEnv): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: "utf8" });
    if (result.status !== 0)
      throw new Error(`node ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)] ?? Number.NaN;
}

const dir = await mkdtemp(join(tmpdir(), "clustershift-bench-plan-"));
const kubeconfig = join(dir, "kubeconfig");
const sandbox = spawn(
  process.execPath,
  [CLI, "sandbox", "--seed", "online-boutique", "--kubeconfig", kubeconfig],
  {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, NO_COLOR: "1" },
  },
);
try {
  // The banner's last line says how to stop it: by then the kubeconfig is written and the app seeded.
  const lines = createInterface({ input: sandbox.stdout });
  await new Promise<void>((resolveReady, reject) => {
    sandbox.once("exit", (code) => reject(new Error(`the sandbox exited with ${code}`)));
    lines.on("line", (line) => {
      if (/Ctrl-C/i.test(line)) resolveReady();
    });
  });
  const env = { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: "1" };
  const bare = medianMs(["-e", "0"], env);
  const plan = medianMs([CLI, "plan", "-f", PLAYBOOK, "--state-dir", join(dir, "state")], env);
  console.log(
    `plan of ${PLAYBOOK} on sandbox --seed online-boutique, whole process, median of ${RUNS}: ${plan.toFixed(0)} ms ` +
      `(bare node -e 0: ${bare.toFixed(0)} ms; goal < ${GOAL_MS} ms: ${plan < GOAL_MS ? "met" : "NOT met"})`,
  );
} finally {
  sandbox.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
}
