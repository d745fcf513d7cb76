import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { runSandbox } from "../../src/cli/commands/sandbox.js";
import { hasKubectl, kubectl } from "../support/sandbox.js";
import { tempDir } from "../support/temp.js";
import { eventually } from "../support/wait.js";

describe("clustershift sandbox", () => {
  it("Given a kubeconfig path, When run, Then it writes one context per cluster, explains kubectl usage, serves until stopped", async () => {
    const dir = await tempDir("cli-sandbox");
    const kubeconfig = join(dir, "kubeconfig");
    const lines: string[] = [];
    const stop = new AbortController();
    const running = runSandbox(
      { kubeconfig, clusters: ["source", "target"], istio: true, signal: stop.signal },
      (line) => lines.push(line),
    );
    try {
      await eventually(() => (lines.some((l) => l.startsWith("Press Ctrl-C")) ? true : undefined), 10_000);
      expect(lines).toContain(`Try: kubectl --kubeconfig ${kubeconfig} --context source get ns`);
      const output = lines.join("\n");
      const text = await readFile(kubeconfig, "utf8");
      const token = /token: (\S+)/.exec(text)?.[1] ?? "";
      expect(token).not.toBe("");
      expect(output).not.toContain(token);

      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfig);
      expect(kc.getContexts().map((c) => c.name)).toEqual(["source", "target"]);
      expect(kc.getCurrentContext()).toBe("source");
      kc.setCurrentContext("target");
      const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
      expect(namespaces.items.map((n) => n.metadata?.name)).toContain("kube-system");

      if (hasKubectl()) {
        const result = await kubectl(kubeconfig, ["get", "virtualservices", "-A"], { context: "source" });
        expect(result.code).toBe(0);
      }
    } finally {
      stop.abort();
      await running;
      await rm(dir, { recursive: true, force: true });
    }
    expect(lines[lines.length - 1]).toBe("Stopping the sandbox.");
  });
});
