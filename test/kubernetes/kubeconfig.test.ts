import { writeFile } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createClusterClient, loadKubeConfig } from "../../src/providers/kubernetes/client.js";
import { ContextNotFoundError } from "../../src/providers/kubernetes/errors.js";
import { cluster } from "../../src/providers/kubernetes/index.js";
import { useTempDir } from "../support/temp.js";

const kubeconfig = (name: string, server: string, user = "admin") => `apiVersion: v1
kind: Config
current-context: ${name}
clusters:
- name: ${name}
  cluster: {server: "${server}", insecure-skip-tls-verify: true}
users:
- name: ${user}
  user: {token: token-${name}}
contexts:
- name: ${name}
  context: {cluster: ${name}, user: ${user}}
`;

describe("kubeconfig loading", () => {
  const dir = useTempDir("kubeconfig");
  let first: string;
  let second: string;
  beforeAll(async () => {
    first = join(dir(), "a.yaml");
    second = join(dir(), "b.yaml");
    await writeFile(first, kubeconfig("alpha", "http://127.0.0.1:1"));
    // Same user name in both files: kubectl keeps the first; the library alone would throw "Duplicate user".
    await writeFile(second, kubeconfig("beta", "http://127.0.0.1:2"));
  });

  it("Given a KUBECONFIG path list with a missing file, When loaded, Then contexts of every file are known, first wins", () => {
    const { config } = loadKubeConfig([first, join(dir(), "missing.yaml"), second].join(delimiter));
    expect(config.getContexts().map((c) => c.name)).toEqual(["alpha", "beta"]);
    expect(config.getCurrentContext()).toBe("alpha");
    expect(config.getUsers()).toHaveLength(1);
  });

  it("Given two contexts, When a client is made for each, Then each talks to its own server", () => {
    const list = [first, second].join(delimiter);
    const a = createClusterClient("alpha", { kubeconfig: list });
    const b = createClusterClient("beta", { kubeconfig: list });
    expect([a.context, b.context]).toEqual(["alpha", "beta"]);
    expect((a as unknown as { server: string }).server).toBe("http://127.0.0.1:1");
    expect((b as unknown as { server: string }).server).toBe("http://127.0.0.1:2");
  });

  it("Given an unknown context, Then the error lists the available ones", () => {
    expect(() => createClusterClient("gamma", { kubeconfig: first })).toThrow(ContextNotFoundError);
    expect(() => createClusterClient("gamma", { kubeconfig: first })).toThrow(
      `kubeconfig context "gamma" not found in ${first}; available: alpha. Fix the context's name in the playbook, or point KUBECONFIG at the file that has it (\`kubectl config get-contexts\` lists them)`,
    );
  });

  it("Given a run context, When cluster() is called twice, Then the client is memoized under kube:<context>", () => {
    const ctx = { clients: new Map<string, unknown>(), options: { kubeconfig: first } as never };
    const one = cluster(ctx, "alpha");
    expect(cluster(ctx, "alpha")).toBe(one);
    expect(ctx.clients.get("kube:alpha")).toBe(one);
    expect(() => cluster(ctx, "beta")).toThrow(ContextNotFoundError);
    expect(ctx.clients.has("kube:beta")).toBe(false);
  });
});
