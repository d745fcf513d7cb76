import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClusterClient, type KubeClusterClient } from "../../src/providers/kubernetes/client.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { createSandboxDns, type SandboxDns } from "../../src/sandbox/dns/index.js";
import { renderKubeconfig } from "../../src/sandbox/kubeconfig.js";
import { sourceIngressGateway } from "../../src/sandbox/seeds/ingress.js";
import { BOUTIQUE_NAMESPACE, onlineBoutique } from "../../src/sandbox/seeds/online-boutique.js";
import { runCli } from "../support/cli.js";
import { startRealClusters, type RealClusters } from "../support/control-plane.js";
import { istioCrdYaml } from "../support/fixtures.js";
import { withSandbox, type TestSandbox } from "../support/sandbox.js";
import { tempDir } from "../support/temp.js";

/**
 * Preflight (issue 11.5): before the first write, `plan` (and so `apply`) checks every reference the playbook makes
 * and whether the user may do what the plan will do, and lists every problem at once with its playbook position.
 */

const ISTIO = "networking.istio.io/v1";

/** A playbook moving Online Boutique from `source` to `target`; `service` and `dns` vary per test. */
function playbook(
  name: string,
  options: { service: string; workloads?: boolean; dns?: boolean; install?: boolean },
): string {
  return [
    "apiVersion: clustershift.dev/v1alpha1",
    "kind: Playbook",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    "  source:",
    "    context: source",
    "    ingress: {namespace: istio-system, service: istio-ingressgateway, gateway: onlineboutique/frontend-gateway}",
    "  target:",
    "    context: target",
    `    ingress: {namespace: asm-ingress, service: asm-ingressgateway, gateway: asm-ingress/asm-ingressgateway, install: ${options.install ?? true}}`,
    ...(options.workloads
      ? ["  workloads:", `    namespaces: [${BOUTIQUE_NAMESPACE}]`, "    rolloutTimeout: 1m"]
      : []),
    "  traffic:",
    `    namespace: ${BOUTIQUE_NAMESPACE}`,
    `    service: ${options.service}`,
    "    port: 80",
    "    remoteHost: frontend.target.clustershift.internal",
    "    steps:",
    "      - {weight: 100}",
    ...(options.dns
      ? [
          "  dns:",
          "    provider: sandbox",
          "    zone: example.com.",
          "    record: shop.example.com",
          "    type: A",
          "    lowTtl: 5",
        ]
      : []),
    "",
  ].join("\n");
}

/** `file:line:col: ` of the value after `key: ` on the first line holding `text` (1-based, as validate says). */
function at(file: string, yaml: string, text: string, key: string): string {
  const lines = yaml.split("\n");
  const index = lines.findIndex((line) => line.includes(text));
  const line = lines[index] as string;
  return `${file}:${index + 1}:${line.indexOf(`${key}: `) + key.length + 3}: `;
}

/** The report's lines: progress notes (a warning) may come before it on stderr. */
function report(stderr: string, file: string): string[] {
  const lines = stderr.trimEnd().split("\n");
  return lines.slice(lines.findIndex((line) => line.startsWith(file)));
}

function seedObjects(): KubeObject[] {
  return [...sourceIngressGateway(), ...onlineBoutique()];
}

describe("preflight of missing references on the sandbox", () => {
  let sandbox: TestSandbox;
  let dns: SandboxDns;
  let zoneId = "";

  beforeAll(async () => {
    dns = createSandboxDns({ pendingMs: 0 });
    sandbox = await withSandbox({
      clusters: ["source", "target"],
      istio: { crdYaml: istioCrdYaml() },
      extensions: [dns],
      readyDelayMs: 20,
    });
    const source = sandbox.cluster("source");
    for (const object of seedObjects()) source.apply(object, "kubectl");
    // The zone exists; the record the playbook names does not.
    zoneId = dns.addZone({ name: "example.com." }).id;
  }, 60_000);
  afterAll(async () => {
    await sandbox?.stop();
  });

  it("Given a playbook whose traffic.service names no Service and whose dns.record is not in the zone, When plan and apply run, Then both problems are listed with their playbook positions, exit 2, and nothing is written", async () => {
    const dir = await tempDir("preflight");
    const file = join(dir, "playbook.yaml");
    const yaml = playbook("preflight-refs", { service: "frontnd", dns: true });
    await writeFile(file, yaml);
    const state = join(dir, "state");
    const env = { KUBECONFIG: sandbox.kubeconfigPath };
    const expected = [
      `${at(file, yaml, "service: frontnd", "service")}spec.traffic.service: Service "frontnd" not found in namespace "onlineboutique" on context "source"`,
      `${at(file, yaml, "record: shop.example.com", "record")}spec.dns.record: no record shop.example.com. in zone example.com. (${zoneId}): nothing to cut over. Create it first, or fix dns.record.`,
      "2 problems found before the first write; nothing was changed. Fix them and plan again.",
    ];

    const planned = await runCli(["plan", "-f", file, "--state-dir", state], { env });
    expect(planned.code, planned.stderr).toBe(2);
    expect(report(planned.stderr, file)).toEqual(expected);
    expect(planned.stdout).toBe("");

    const applied = await runCli(["apply", "-f", file, "--state-dir", state, "--yes", "--non-interactive"], {
      env,
    });
    expect(applied.code, applied.stderr).toBe(2);
    expect(report(applied.stderr, file)).toEqual(expected);
    const target = sandbox.cluster("target");
    expect(target.get({ apiVersion: "v1", kind: "Namespace", name: "asm-ingress" })).toBeUndefined();
    const source = sandbox.cluster("source");
    for (const kind of ["ServiceEntry", "VirtualService", "DestinationRule"]) {
      const ours = source
        .list(ISTIO, kind)
        .filter((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "clustershift");
      expect(ours, kind).toEqual([]);
    }
    expect(dns.recordSets(zoneId).filter((r) => r.name === "shop.example.com.")).toEqual([]);
    expect(existsSync(join(state, "preflight-refs", "journal.jsonl"))).toBe(false);
  }, 120_000);

  it("Given traffic.service names no Service and the target has neither the ingress Gateway nor its Service (not installed by the run), When planned, Then all three are listed, in playbook order, with their positions", async () => {
    const dir = await tempDir("preflight");
    const file = join(dir, "playbook.yaml");
    const yaml = playbook("preflight-ingress", { service: "frontnd", install: false });
    await writeFile(file, yaml);
    const ingressLine = "service: asm-ingressgateway";

    const planned = await runCli(["plan", "-f", file, "--state-dir", join(dir, "state")], {
      env: { KUBECONFIG: sandbox.kubeconfigPath },
    });

    expect(planned.code, planned.stderr).toBe(2);
    expect(report(planned.stderr, file)).toEqual([
      `${at(file, yaml, ingressLine, "service")}spec.target.ingress.service: Service asm-ingress/asm-ingressgateway not found on context "target"`,
      `${at(file, yaml, ingressLine, "gateway")}spec.target.ingress.gateway: Gateway asm-ingress/asm-ingressgateway not found on context "target"`,
      `${at(file, yaml, "service: frontnd", "service")}spec.traffic.service: Service "frontnd" not found in namespace "onlineboutique" on context "source"`,
      "3 problems found before the first write; nothing was changed. Fix them and plan again.",
    ]);
  }, 120_000);
});

/**
 * A user whose RBAC role lacks `create` on ServiceEntries and `patch` on Deployments: everything else clustershift
 * does it may do. The real kube-apiserver's RBAC authorizer answers the reviews.
 */
const OPERATOR_ROLE: KubeObject = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRole",
  metadata: { name: "clustershift-operator" },
  rules: [
    { apiGroups: ["*"], resources: ["*"], verbs: ["get", "list", "watch"] },
    {
      apiGroups: [
        "",
        "rbac.authorization.k8s.io",
        "policy",
        "autoscaling",
        "batch",
        "networking.k8s.io",
        "coordination.k8s.io",
        "security.istio.io",
        "telemetry.istio.io",
        "extensions.istio.io",
      ],
      resources: ["*"],
      verbs: ["*"],
    },
    { apiGroups: ["apps"], resources: ["deployments"], verbs: ["create", "update", "delete"] },
    {
      apiGroups: ["apps"],
      resources: ["statefulsets", "daemonsets", "replicasets", "controllerrevisions"],
      verbs: ["*"],
    },
    {
      apiGroups: ["networking.istio.io"],
      resources: [
        "gateways",
        "virtualservices",
        "destinationrules",
        "sidecars",
        "workloadentries",
        "workloadgroups",
        "envoyfilters",
        "proxyconfigs",
      ],
      verbs: ["*"],
    },
    {
      apiGroups: ["networking.istio.io"],
      resources: ["serviceentries"],
      verbs: ["update", "patch", "delete"],
    },
  ],
};

describe("preflight of access on a real kube-apiserver with RBAC", () => {
  const token = "preflight-operator-0123456789abcdef";
  let clusters: RealClusters | undefined;
  let kubeconfig = "";
  const admin = (context: string): KubeClusterClient =>
    createClusterClient(context, { kubeconfig: clusters?.kubeconfigPath ?? "" });

  beforeAll(async () => {
    clusters = await startRealClusters({ users: [{ token, name: "operator", groups: ["operators"] }] });
    const entries = [];
    for (const context of ["source", "target"]) {
      await admin(context).apply(OPERATOR_ROLE);
      await admin(context).apply({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "clustershift-operator" },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "clustershift-operator",
        },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "operators" }],
      });
      const server = clusters.kubeConfig(context).getCurrentCluster()?.server ?? "";
      entries.push({ name: context, server, token });
    }
    for (const object of seedObjects()) await admin("source").apply(object);
    kubeconfig = join(clusters.dir, "operator.kubeconfig");
    await writeFile(kubeconfig, renderKubeconfig(entries));
  }, 300_000);
  afterAll(async () => {
    await clusters?.stop();
  }, 60_000);

  it("Given a user without create on ServiceEntries on the source and patch on Deployments on the target, When plan and apply run against the real kube-apiserver, Then every denied verb and resource is listed with its context and playbook path, exit 2, and nothing is written", async () => {
    const dir = await tempDir("preflight-rbac");
    const file = join(dir, "playbook.yaml");
    const yaml = playbook("preflight-rbac", { service: "frontend", workloads: true });
    await writeFile(file, yaml);
    const state = join(dir, "state");
    const env = { KUBECONFIG: kubeconfig };

    // What the real server says of a review, raw: the product reads `status.allowed`, as the sandbox answers it.
    const review = await createClusterClient("source", { kubeconfig }).reviewAccess({
      verb: "create",
      group: "networking.istio.io",
      resource: "serviceentries",
      namespace: "istio-system",
    });
    expect(review.allowed).toBe(false);

    const planned = await runCli(["plan", "-f", file, "--state-dir", state], { env });
    expect(planned.code, planned.stderr).toBe(2);
    const lines = report(planned.stderr, file);
    const source = at(file, yaml, "context: source", "context");
    const target = at(file, yaml, "context: target", "context");
    const denied = lines.filter((line) => line.includes(" may not "));
    expect(denied.length, planned.stderr).toBeGreaterThanOrEqual(3);
    // Every denial is one of the two the role leaves out, on the context that lacks it, with its path.
    for (const line of denied) {
      expect(
        line.startsWith(
          `${source}spec.source.context: the user of context "source" may not create serviceentries.networking.istio.io in namespace `,
        ) ||
          line.startsWith(
            `${target}spec.target.context: the user of context "target" may not patch deployments.apps in namespace `,
          ),
        line,
      ).toBe(true);
    }
    expect(denied.some((l) => l.includes("create serviceentries") && l.includes("expose-target"))).toBe(true);
    expect(
      denied.some(
        (l) =>
          l.includes('patch deployments.apps in namespace "asm-ingress"') &&
          l.includes("install-ingress-gateway"),
      ),
    ).toBe(true);
    expect(
      denied.some(
        (l) =>
          l.includes(`patch deployments.apps in namespace "${BOUTIQUE_NAMESPACE}"`) &&
          l.includes("mirror-workloads"),
      ),
    ).toBe(true);
    expect(lines.at(-1)).toBe(
      `${lines.length - 1} problems found before the first write; nothing was changed. Fix them and plan again.`,
    );
    expect(lines.length - 1).toBe(denied.length);

    const applied = await runCli(["apply", "-f", file, "--state-dir", state, "--yes", "--non-interactive"], {
      env,
    });
    expect(applied.code, applied.stderr).toBe(2);
    expect(report(applied.stderr, file)).toEqual(lines);
    // The server's state: nothing of clustershift's on either cluster.
    for (const context of ["source", "target"]) {
      for (const kind of ["ServiceEntry", "VirtualService", "DestinationRule", "Gateway"]) {
        const ours = (await admin(context).list(ISTIO, kind)).filter(
          (o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "clustershift",
        );
        expect(ours, `${context} ${kind}`).toEqual([]);
      }
    }
    for (const name of ["asm-ingress", BOUTIQUE_NAMESPACE])
      expect(await admin("target").get({ apiVersion: "v1", kind: "Namespace", name })).toBeUndefined();
    expect(existsSync(join(state, "preflight-rbac", "journal.jsonl"))).toBe(false);
  }, 300_000);
});
