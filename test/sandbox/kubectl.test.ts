import { KubernetesObjectApi, PatchStrategy, type KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { fixtureObjects, fixturePath, readFixture } from "../support/fixtures.js";
import { hasKubectl, kubectl, useSandbox } from "../support/sandbox.js";
import { eventually } from "../support/wait.js";
import { requireTool } from "../support/tools.js";

const env = useSandbox({ clusters: ["source", "bare"], readyDelayMs: 30, loadBalancerDelayMs: 30 });

const BOUTIQUE = "online-boutique/kubernetes-manifests.yaml";

function kindsIn(relative: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { kind } of fixtureObjects(relative)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

async function run(args: string[], context = "source"): Promise<string> {
  const result = await kubectl(env().kubeconfigPath, args, { context });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

describe("the real kubectl", () => {
  requireTool(
    "kubectl",
    hasKubectl(),
    "put a kubectl of 1.27 or later on PATH (Debian's kubernetes-client 1.20 is too old)",
  );
  it("Given Online Boutique's manifests, When applied server-side, Then every object is applied and readable with get -o json", async () => {
    const ns = await kubectl(env().kubeconfigPath, ["apply", "--server-side", "-f", "-"], {
      context: "source",
      input: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: boutique\n",
    });
    expect(ns.stdout).toContain("namespace/boutique serverside-applied");

    const applied = await run(["apply", "--server-side", "-n", "boutique", "-f", fixturePath(BOUTIQUE)]);
    const expected = kindsIn(BOUTIQUE);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    expect(
      applied
        .trim()
        .split("\n")
        .filter((l) => l.endsWith("serverside-applied")),
    ).toHaveLength(total);

    const deployments = JSON.parse(
      await run(["get", "deployments", "-n", "boutique", "-o", "json", "--show-managed-fields"]),
    ) as { kind: string; items: KubernetesObject[] };
    expect(deployments.kind).toBe("List");
    expect(deployments.items).toHaveLength(expected.get("Deployment") ?? -1);
    expect(
      deployments.items[0]?.metadata?.managedFields?.some(
        (m) => m.manager === "kubectl" && m.operation === "Apply",
      ),
    ).toBe(true);

    const services = JSON.parse(await run(["get", "svc", "-n", "boutique", "-o", "json"])) as {
      items: KubernetesObject[];
    };
    expect(services.items).toHaveLength(expected.get("Service") ?? -1);

    await run(["rollout", "status", "deployment/frontend", "-n", "boutique", "--timeout=10s"]);
    const external = await eventually(async () => {
      const out = await run([
        "get",
        "svc",
        "frontend-external",
        "-n",
        "boutique",
        "-o",
        "jsonpath={.status.loadBalancer.ingress[0].ip}",
      ]);
      return out === "" ? undefined : out;
    });
    expect(external).toMatch(/^203\.0\.113\.\d+$/);

    const table = await run(["get", "deployments", "-n", "boutique"]);
    expect(table.split("\n")[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/);
    const selected = await run(["get", "svc", "-A", "-l", "app in (frontend,cartservice)", "-o", "name"]);
    expect(selected.trim().split("\n").sort()).toEqual([
      "service/cartservice",
      "service/frontend",
      "service/frontend-external",
    ]);

    // --wait=false: kubectl throttles its own post-delete polling to 5 requests/s, as against a real cluster.
    const deleted = await run(["delete", "--wait=false", "-n", "boutique", "-f", fixturePath(BOUTIQUE)]);
    expect(deleted).toContain('deployment.apps "frontend" deleted');
    const after = await kubectl(env().kubeconfigPath, ["get", "deployment", "frontend", "-n", "boutique"], {
      context: "source",
    });
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('deployments.apps "frontend" not found');
    await run(["delete", "namespace", "boutique"]);
  });

  it("Given imperative commands (create, label, scale), Then kubectl's protobuf bodies and the scale subresource work", async () => {
    await run(["create", "namespace", "imperative"]);
    await run(["create", "configmap", "cfg", "-n", "imperative", "--from-literal=a=b"]);
    await run(["create", "secret", "generic", "pw", "-n", "imperative", "--from-literal=password=hunter2"]);
    await run(["create", "serviceaccount", "robot", "-n", "imperative"]);
    await run(["label", "namespace", "imperative", "team=blue"]);
    expect(JSON.parse(await run(["get", "cm", "cfg", "-n", "imperative", "-o", "json"]))).toMatchObject({
      data: { a: "b" },
    });
    const secret = await run(["get", "secret", "pw", "-n", "imperative", "-o", "jsonpath={.data.password}"]);
    expect(Buffer.from(secret, "base64").toString()).toBe("hunter2");
    expect(await run(["get", "ns", "-l", "team=blue", "-o", "name"])).toBe("namespace/imperative\n");

    const deployment =
      "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers: [{name: web, image: nginx}]\n";
    await kubectl(env().kubeconfigPath, ["apply", "--server-side", "-n", "imperative", "-f", "-"], {
      context: "source",
      input: deployment,
    });
    await run(["scale", "deployment/web", "--replicas=4", "-n", "imperative"]);
    await run(["rollout", "status", "deployment/web", "-n", "imperative", "--timeout=10s"]);
    expect(
      await run(["get", "deployment", "web", "-n", "imperative", "-o", "jsonpath={.status.readyReplicas}"]),
    ).toBe("4");
  });

  it("Given a field owned by clustershift, When kubectl applies another value, Then it reports the conflict; with --force-conflicts it wins", async () => {
    const api = KubernetesObjectApi.makeApiClient(env().kubeConfig("source"));
    const object = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "owned", namespace: "default" },
      data: { key: "clustershift" },
    };
    await api.patch(object, undefined, undefined, "clustershift", true, PatchStrategy.ServerSideApply);
    const manifest =
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  namespace: default\ndata:\n  key: kubectl\n";
    const refused = await kubectl(env().kubeconfigPath, ["apply", "--server-side", "-f", "-"], {
      context: "source",
      input: manifest,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("Apply failed with 1 conflict");
    expect(refused.stderr).toContain('conflict with "clustershift"');
    expect(refused.stderr).toContain(".data.key");
    const forced = await kubectl(
      env().kubeconfigPath,
      ["apply", "--server-side", "--force-conflicts", "-f", "-"],
      { context: "source", input: manifest },
    );
    expect(forced.code).toBe(0);
    expect(JSON.parse(await run(["get", "cm", "owned", "-o", "json"]))).toMatchObject({
      data: { key: "kubectl" },
    });
  });

  it("Given a cluster without Istio, When kubectl applies Istio's CRDs, Then a valid VirtualService applies and an invalid one is refused", async () => {
    const crds = await run(["apply", "--server-side", "-f", fixturePath("istio/crd-all.gen.yaml")], "bare");
    expect(crds).toContain(
      "customresourcedefinition.apiextensions.k8s.io/virtualservices.networking.istio.io serverside-applied",
    );
    await run(
      [
        "apply",
        "--server-side",
        "-n",
        "default",
        "-f",
        fixturePath("bookinfo/virtual-service-reviews-80-20.yaml"),
      ],
      "bare",
    );
    const listed = await run(["get", "virtualservices", "-n", "default", "-o", "name"], "bare");
    expect(listed.trim()).toBe("virtualservice.networking.istio.io/reviews");
    const bad = readFixture("bookinfo/virtual-service-reviews-80-20.yaml")
      .replace("weight: 80", 'weight: "abc"')
      .replace("name: reviews", "name: reviews-bad");
    const refused = await kubectl(
      env().kubeconfigPath,
      ["apply", "--server-side", "-n", "default", "-f", "-"],
      { context: "bare", input: bad },
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("spec.http[0].route[0].weight");
    expect(refused.stderr).toContain("must be of type integer");
  });
});
