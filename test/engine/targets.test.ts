import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LocalJournalStore } from "../../src/engine/journal/local-store.js";
import { placeOf, upgradeEntry, upgradeTarget, type Target } from "../../src/engine/targets.js";
import type { ChangeEntry } from "../../src/engine/types.js";

/** Targets exactly as each step journaled them before the typed union (no `type`, DNS's record type under `type`). */
const OLD_TARGETS: [string, Record<string, unknown>, Target][] = [
  [
    "a Kubernetes object (mirror-workloads, expose-target, shift-traffic, install-ingress-gateway)",
    {
      context: "source",
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      namespace: "shop",
      name: "frontend",
    },
    {
      type: "kube.object",
      context: "source",
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      namespace: "shop",
      name: "frontend",
    },
  ],
  [
    "a cluster-scoped Kubernetes object",
    { context: "target", apiVersion: "v1", kind: "Namespace", name: "shop" },
    { type: "kube.object", context: "target", apiVersion: "v1", kind: "Namespace", name: "shop" },
  ],
  [
    "a Route 53 record set (lower-dns-ttl, cutover-dns)",
    {
      provider: "route53",
      zone: { id: "Z123", name: "example.com.", private: false },
      name: "shop.example.com.",
      type: "A",
    },
    {
      type: "dns.recordset",
      provider: "route53",
      zone: { id: "Z123", name: "example.com.", private: false },
      name: "shop.example.com.",
      recordType: "A",
    },
  ],
  [
    "a sandbox DNS record set served by a cluster",
    {
      provider: "sandbox-dns",
      zone: { id: "z1", name: "example.com." },
      name: "shop.example.com.",
      type: "CNAME",
      context: "source",
    },
    {
      type: "dns.recordset",
      provider: "sandbox-dns",
      zone: { id: "z1", name: "example.com." },
      name: "shop.example.com.",
      recordType: "CNAME",
      context: "source",
    },
  ],
  [
    "a GKE cluster (provision-cluster)",
    { kind: "gke.cluster", project: "p", location: "us-central1-a", name: "c" },
    { type: "gke.cluster", project: "p", location: "us-central1-a", name: "c" },
  ],
  [
    "a sandbox cluster (provision-cluster)",
    { kind: "sandbox.cluster", name: "target" },
    { type: "sandbox.cluster", name: "target" },
  ],
  [
    "a kubeconfig context (provision-cluster)",
    { kind: "kubeconfig", file: "/home/u/.kube/config", context: "cluster-with-csm" },
    { type: "kubeconfig.context", file: "/home/u/.kube/config", name: "cluster-with-csm" },
  ],
  [
    "a fleet membership (enable-mesh)",
    { kind: "fleet.membership", name: "projects/p/locations/global/memberships/m" },
    { type: "fleet.membership", name: "projects/p/locations/global/memberships/m" },
  ],
  [
    "the fleet servicemesh feature (enable-mesh)",
    { kind: "fleet.feature", project: "p" },
    { type: "fleet.feature", project: "p" },
  ],
  [
    "a membership's servicemesh spec (enable-mesh)",
    { kind: "fleet.membership-spec", project: "p", key: "projects/123/locations/global/memberships/m" },
    { type: "fleet.feature", project: "p", membershipSpec: "projects/123/locations/global/memberships/m" },
  ],
  [
    "a workload's replicas (decommission-source)",
    {
      kind: "source.replicas",
      context: "source",
      apiVersion: "apps/v1",
      workloadKind: "Deployment",
      namespace: "shop",
      name: "frontend",
    },
    {
      type: "kube.replicas",
      context: "source",
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "shop",
      name: "frontend",
    },
  ],
  [
    "the deleted GKE source cluster (decommission-source)",
    { kind: "source.cluster-deleted", provider: "gke", project: "p", location: "europe-west1", name: "old" },
    { type: "gke.cluster", project: "p", location: "europe-west1", name: "old" },
  ],
  [
    "the deleted sandbox source cluster (decommission-source)",
    { kind: "source.cluster-deleted", provider: "sandbox", name: "source" },
    { type: "sandbox.cluster", name: "source" },
  ],
];

describe("journal targets written before the typed union", () => {
  it.each(OLD_TARGETS)(
    "Given %s journaled without a type, When it is upgraded, Then it is that member of the union",
    (_what, old, typed) => {
      expect(upgradeTarget(old)).toEqual(typed);
    },
  );

  it("Given a target already typed, When it is upgraded, Then it is returned as it is", () => {
    for (const [, , typed] of OLD_TARGETS) expect(upgradeTarget(typed)).toBe(typed);
  });

  it("Given a shape no version ever journaled, When it is upgraded, Then it is not guessed", () => {
    expect(upgradeTarget({ something: "else" })).toBeUndefined();
    expect(upgradeTarget("source")).toBeUndefined();
  });

  it("Given a plugin step's own target shape, When its entry is read, Then the target stays as journaled and places elsewhere", () => {
    const entry = {
      seq: 3,
      time: "2026-01-01T00:00:00.000Z",
      type: "change",
      step: "file",
      kind: "file",
      address: "weight.json",
      action: "create",
      target: { file: "weight.json" },
    } as unknown as ChangeEntry;
    const read = upgradeEntry(entry) as ChangeEntry;
    expect(read.target).toEqual({ file: "weight.json" });
    expect(placeOf(read)).toEqual({ label: "elsewhere" });
  });

  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("Given a journal.jsonl written by the previous version, When the local store reads it, Then every change has a typed target and places as before", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "clustershift-old-journal-"));
    dirs.push(stateDir);
    await mkdir(join(stateDir, "shop"), { recursive: true });
    const lines = [
      { seq: 1, time: "2026-01-01T00:00:00.000Z", type: "run-started", playbook: "shop", pid: 1, host: "h" },
      ...OLD_TARGETS.map(([what, target], i) => ({
        seq: i + 2,
        time: "2026-01-01T00:00:00.000Z",
        type: "change",
        step: "s",
        kind: "s",
        address: what,
        action: "update",
        before: {},
        after: {},
        target,
      })),
    ];
    await writeFile(
      join(stateDir, "shop", "journal.jsonl"),
      lines.map((l) => JSON.stringify(l)).join("\n") + "\n",
    );
    const entries = await new LocalJournalStore(stateDir, "shop").read();
    const changes = entries.filter((e): e is ChangeEntry => e.type === "change");
    expect(changes.map((e) => e.target)).toEqual(OLD_TARGETS.map(([, , typed]) => typed));
    expect(changes.map((e) => placeOf(e))).toEqual([
      { context: "source", label: "cluster source" },
      { context: "target", label: "cluster target" },
      { label: "route53 zone example.com." },
      { context: "source", label: "sandbox-dns zone example.com." },
      { label: "GKE cluster p/us-central1-a/c" },
      { label: "sandbox cluster target" },
      { label: "kubeconfig /home/u/.kube/config" },
      { label: "GKE fleet projects/p/locations/global/memberships/m" },
      { label: "GKE fleet p" },
      { label: "GKE fleet p" },
      { context: "source", label: "cluster source" },
      { label: "GKE cluster p/europe-west1/old" },
      { label: "sandbox cluster source" },
    ]);
  });
});
