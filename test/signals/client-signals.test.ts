import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { createServer as createTcpServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { InterruptedError } from "../../src/engine/errors.js";
import { createClusterClient } from "../../src/providers/kubernetes/client.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { CLI, ROOT } from "../support/cli.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import { tempDir } from "../support/temp.js";
import { eventually } from "../support/wait.js";

const configMap = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "default" },
  data: { written: name },
});

/** A proxy in front of an API server that holds each request matching `hold` until told to let it through. */
async function holdingProxy(upstream: string, hold: (method: string) => boolean) {
  const target = new URL(upstream);
  const held: { method: string; release: () => void }[] = [];
  const seen: string[] = [];
  let arrived: (() => void) | undefined;
  const server = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const forward = () => {
      const out = (target.protocol === "https:" ? httpsRequest : httpRequest)(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
          rejectUnauthorized: false,
        },
        (answer: IncomingMessage) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on("error", () => res.destroy());
      req.pipe(out);
    };
    if (hold(req.method ?? "GET")) {
      held.push({ method: req.method ?? "GET", release: forward });
      arrived?.();
    } else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    /** Resolves once a held request is waiting. */
    arrival: () =>
      held.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => (arrived = resolve)),
    releaseAll: () => held.splice(0).forEach((h) => h.release()),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A kubeconfig with one context `name` on `server`, authenticated by `user`. */
async function kubeconfigFile(
  dir: string,
  name: string,
  server: string,
  user: Record<string, unknown>,
): Promise<string> {
  const path = join(dir, `${name}-kubeconfig`);
  await writeFile(
    path,
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name, cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: name, user: name } }],
      "current-context": name,
    }),
  );
  return path;
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.each(SUBSTRATES)("the kube client stops at a signal and never waits forever, on %s", (substrate) => {
  const clusters = useClusters(substrate, { clusters: ["source"], istio: false });
  const upstream = () => {
    const config = clusters().kubeConfig("source");
    return { server: config.getCurrentCluster()?.server ?? "", token: config.getCurrentUser()?.token ?? "" };
  };

  it("Given a write under way, When the run's signal aborts, Then the write finishes and lands, and neither the next write nor a read reaches the server", async () => {
    const { server, token } = upstream();
    const proxy = await holdingProxy(server, (method) => method === "PATCH");
    const controller = new AbortController();
    const kubeconfig = await kubeconfigFile(clusters().dir, "held", proxy.url, { token });
    const client = createClusterClient("held", { kubeconfig, signal: controller.signal });
    try {
      const write = client.apply(configMap("under-way"));
      await proxy.arrival();
      controller.abort(new InterruptedError("SIGTERM"));
      proxy.releaseAll();
      const written = await write;
      expect(written.data).toEqual({ written: "under-way" });
      const requests = proxy.seen.length;
      await expect(client.apply(configMap("never"))).rejects.toBeInstanceOf(InterruptedError);
      await expect(
        client.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "under-way" }),
      ).rejects.toBeInstanceOf(InterruptedError);
      expect(proxy.seen.slice(requests)).toEqual([]);
      const direct = clusters().client("source");
      expect(
        await direct.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "under-way" }),
      ).toBeDefined();
      expect(
        await direct.get({ apiVersion: "v1", kind: "ConfigMap", namespace: "default", name: "never" }),
      ).toBeUndefined();
    } finally {
      client.close();
      await proxy.stop();
    }
  });

  it("Given a read under way, When the run's signal aborts, Then it stops with the signal's reason without waiting for the answer", async () => {
    const { server, token } = upstream();
    const proxy = await holdingProxy(server, (method) => method === "GET");
    const controller = new AbortController();
    const kubeconfig = await kubeconfigFile(clusters().dir, "held-read", proxy.url, { token });
    const client = createClusterClient("held-read", { kubeconfig, signal: controller.signal });
    try {
      const read = client.list("v1", "ConfigMap", { namespace: "default" });
      await proxy.arrival();
      controller.abort(new InterruptedError("SIGINT"));
      await expect(read).rejects.toBeInstanceOf(InterruptedError);
    } finally {
      proxy.releaseAll();
      client.close();
      await proxy.stop();
    }
  });

  it("Given an exec credential plugin that fails without a word, When called, Then the error names the plugin, the context and its exit status", async () => {
    const plugin = join(clusters().dir, "failing-plugin.sh");
    await writeFile(plugin, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
    const kubeconfig = await kubeconfigFile(clusters().dir, "failing", upstream().server, {
      exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Never" },
    });
    const client = createClusterClient("failing", { kubeconfig });
    await expect(client.list("v1", "ConfigMap", { namespace: "default" })).rejects.toThrow(
      `credential plugin "${plugin}" of user "failing" (context "failing") exited with status 3: (it wrote nothing on stderr); fix its login or configuration, or the kubeconfig's users[].exec entry`,
    );
    client.close();
  });

  it("Given an exec credential plugin that hangs, When called, Then it is stopped after its timeout and the error says so; and when the signal aborts first, it is killed at once", async () => {
    const pidFile = join(clusters().dir, "hanging.pid");
    const plugin = join(clusters().dir, "hanging-plugin.sh");
    await writeFile(plugin, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 600\n`, { mode: 0o755 });
    const kubeconfig = await kubeconfigFile(clusters().dir, "hanging", upstream().server, {
      exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Never" },
    });
    const timed = createClusterClient("hanging", { kubeconfig, execTimeoutMs: 1_000 });
    await expect(timed.list("v1", "ConfigMap", { namespace: "default" })).rejects.toThrow(
      `credential plugin "${plugin}" of user "hanging" (context "hanging") gave no credential within 1s and was stopped; run \`${plugin}\` by hand to see what it waits for (a login, a network)`,
    );
    const first = Number(await readFile(pidFile, "utf8"));
    await eventually(() => (pidAlive(first) ? undefined : true), 10_000);

    const controller = new AbortController();
    const stopped = createClusterClient("hanging", { kubeconfig, signal: controller.signal });
    const read = stopped.list("v1", "ConfigMap", { namespace: "default" });
    const second = await eventually(async () => {
      const pid = Number(await readFile(pidFile, "utf8").catch(() => "0"));
      return pid !== first && pid > 0 ? pid : undefined;
    }, 10_000);
    controller.abort(new InterruptedError("SIGTERM"));
    await expect(read).rejects.toBeInstanceOf(InterruptedError);
    await eventually(() => (pidAlive(second) ? undefined : true), 10_000);
  });
});

describe("an API server that does not answer (no substrate: a port that accepts and never speaks)", () => {
  const sockets = new Set<Socket>();
  const blackHole = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  it("Given a black-holed API server, When called, Then it fails after two connect timeouts with a message naming the context and what to check", async () => {
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    const server = `https://127.0.0.1:${(blackHole.address() as AddressInfo).port}`;
    const dir = await tempDir("black-hole");
    const kubeconfig = await kubeconfigFile(dir, "gone", server, { token: "t" });
    const client = createClusterClient("gone", { kubeconfig });
    const started = Date.now();
    await expect(client.get({ apiVersion: "v1", kind: "Namespace", name: "shop" })).rejects.toThrow(
      `discover /api/v1 on context "gone" (${server}): no connection within 8s (after 2 attempts); the API server of context "gone" cannot be reached: check that the cluster is up and that this machine can reach ${server}`,
    );
    console.log(`black-holed API server: failed after ${Date.now() - started} ms`);
    client.close();
  }, 120_000);
});

describe("the CLI stops on SIGTERM where it used to wait (built CLI)", () => {
  const stopWhen = async (
    args: string[],
    ready: (child: ChildProcess) => Promise<boolean>,
    env: NodeJS.ProcessEnv = {},
  ) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Its handlers are installed once it runs at all: wait for the point where it waits, then stop it.
    await eventually(async () => ((await ready(child)) ? true : undefined), 60_000, { intervalMs: 100 });
    child.kill("SIGTERM");
    return { code: await closed, stderr: () => stderr };
  };

  it("Given validate reading a named pipe nobody writes to, When SIGTERM comes, Then it exits 143 saying so", async () => {
    const dir = await tempDir("fifo");
    const fifo = join(dir, "playbook.yaml");
    execFileSync("mkfifo", [fifo]);
    // It waits once it holds the pipe open (Linux shows a process's descriptors in /proc).
    const result = await stopWhen(["validate", "-f", fifo], async (child) => {
      const fds = await readdir(`/proc/${child.pid}/fd`).catch(() => []);
      const targets = await Promise.all(
        fds.map((fd) => readlink(`/proc/${child.pid}/fd/${fd}`).catch(() => "")),
      );
      return targets.includes(fifo);
    });
    expect(result.code).toBe(143);
    expect(result.stderr()).toContain("error: interrupted by SIGTERM");
  });

  it("Given plan waiting on a hanging exec credential plugin, When SIGTERM comes, Then the plugin is killed and plan exits 143", async () => {
    const dir = await tempDir("plan-exec");
    const pidFile = join(dir, "plugin.pid");
    const plugin = join(dir, "plugin.sh");
    await writeFile(plugin, `#!/bin/sh\necho $$ > ${pidFile}\nexec sleep 600\n`, { mode: 0o755 });
    const exec = { apiVersion: "client.authentication.k8s.io/v1", command: plugin, interactiveMode: "Never" };
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: ["source", "target"].map((name) => ({
          name,
          cluster: { server: "https://127.0.0.1:9", "insecure-skip-tls-verify": true },
        })),
        users: [{ name: "plugin", user: { exec } }],
        contexts: ["source", "target"].map((name) => ({ name, context: { cluster: name, user: "plugin" } })),
      }),
    );
    const playbook = join(dir, "playbook.yaml");
    await writeFile(
      playbook,
      `apiVersion: clustershift.dev/v1alpha1
kind: Playbook
metadata: {name: hanging-plugin}
spec:
  source: {context: source}
  target: {context: target}
  workloads: {namespaces: [shop]}
`,
    );
    const result = await stopWhen(
      ["plan", "-f", playbook, "--state-dir", join(dir, "state")],
      async () => (await readFile(pidFile, "utf8").catch(() => "")) !== "",
      { KUBECONFIG: kubeconfig },
    );
    expect(result.code, result.stderr()).toBe(143);
    expect(result.stderr()).toContain("error: interrupted by SIGTERM");
    const pid = Number(await readFile(pidFile, "utf8"));
    await eventually(() => (pidAlive(pid) ? undefined : true), 10_000);
  });
});
