import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../src/engine/events.js";
import type { JournalEntry } from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import { applySummary, renderApplySummary, RunClock } from "../../src/render/summary.js";

const playbook = {
  metadata: { name: "shop" },
  spec: { traffic: { remoteHost: "web.target.clustershift.internal" } },
} as unknown as Playbook;

let seq = 0;
const at = (entry: Record<string, unknown>): JournalEntry =>
  ({ seq: ++seq, time: "2026-11-20T10:00:00.000Z", ...entry }) as unknown as JournalEntry;
// Targets as the steps journal them (a journal of the previous version is upgraded to these when read).
const kube = (context: string, kind: string, name: string, namespace?: string) => ({
  type: "kube.object",
  context,
  apiVersion: "v1",
  kind,
  name,
  ...(namespace ? { namespace } : {}),
});
const vs = (local: number, remote: number) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  spec: {
    http: [
      { route: [{ destination: { host: "web" } }] },
      {
        name: "web",
        route: [
          { destination: { host: "web" }, weight: local },
          { destination: { host: "web.target.clustershift.internal" }, weight: remote },
        ],
      },
    ],
  },
});
const record = (value: string, ttl: number) => [
  { name: "shop.example.com.", type: "A", ttl, values: [value] },
];
const dnsTarget = {
  type: "dns.recordset",
  provider: "route53",
  zone: { id: "Z1", name: "example.com." },
  name: "shop.example.com.",
  recordType: "A",
};

/** A migration's journal: mirror, ingress, two traffic steps, the TTL lowered, DNS cut over; one change reverted. */
function journal(): JournalEntry[] {
  seq = 0;
  const change = (step: string, kind: string, rest: Record<string, unknown>) =>
    at({ type: "change", step, kind, action: "create", ...rest });
  return [
    at({ type: "run-started", playbook: "shop", pid: 1, host: "h" }),
    change("mirror-workloads", "mirror-workloads", {
      address: "Namespace shop",
      target: kube("target", "Namespace", "shop"),
    }),
    change("mirror-workloads", "mirror-workloads", {
      address: "Deployment shop/web",
      target: kube("target", "Deployment", "web", "shop"),
    }),
    change("mirror-workloads", "mirror-workloads", {
      address: "Deployment shop/cart",
      target: kube("target", "Deployment", "cart", "shop"),
    }),
    change("mirror-workloads", "mirror-workloads", {
      address: "Ingress shop/web",
      target: kube("target", "Ingress", "web", "shop"),
    }),
    change("mirror-workloads", "mirror-workloads", {
      address: "Secret shop/payment",
      target: kube("target", "Secret", "payment", "shop"),
      sensitive: true,
      after: "(sensitive: 1 key)",
    }),
    change("install-ingress-gateway", "install-ingress-gateway", {
      address: "Namespace asm-ingress",
      target: kube("target", "Namespace", "asm-ingress"),
    }),
    change("expose-target", "expose-target", {
      address: "ServiceEntry shop/remote",
      target: kube("source", "ServiceEntry", "remote", "shop"),
      after: { spec: { hosts: ["web.target.clustershift.internal"] } },
    }),
    change("shift-traffic[1]", "shift-traffic", {
      action: "update",
      address: "VirtualService shop/web",
      target: kube("source", "VirtualService", "web", "shop"),
      before: vs(100, 0),
      after: vs(90, 10),
    }),
    change("shift-traffic[2]", "shift-traffic", {
      action: "update",
      address: "VirtualService shop/web",
      target: kube("source", "VirtualService", "web", "shop"),
      before: vs(90, 10),
      after: vs(0, 100),
    }),
    change("lower-dns-ttl", "lower-dns-ttl", {
      action: "update",
      address: "route53 record shop.example.com. A",
      target: dnsTarget,
      before: record("203.0.113.1", 300),
      after: record("203.0.113.1", 30),
    }),
    change("cutover-dns", "cutover-dns", {
      action: "update",
      address: "route53 record shop.example.com. A",
      target: dnsTarget,
      before: record("203.0.113.1", 30),
      after: record("203.0.113.2", 30),
    }),
    change("mirror-workloads", "mirror-workloads", {
      address: "ConfigMap shop/flags",
      target: kube("target", "ConfigMap", "flags", "shop"),
    }),
    at({ type: "change-reverted", ref: 13 }),
  ];
}

/** The run's events with a clock that moves only when the test says so. */
function timedRun(): RunClock {
  let now = 0;
  const clock = new RunClock({ emit: () => undefined, close: () => undefined }, () => now);
  const step = (ms: number, event: RunEvent) => {
    now += ms;
    clock.emit(event);
  };
  step(0, { type: "run-started", playbook: "shop", steps: [] });
  step(1000, { type: "step-started", step: "mirror-workloads", title: "Mirror" });
  step(1000, {
    type: "wait-progress",
    step: "mirror-workloads",
    address: "rollout Deployment shop/web",
    detail: "0/1",
  });
  step(4000, {
    type: "wait-progress",
    step: "mirror-workloads",
    address: "rollout Deployment shop/web",
    detail: "1/1",
  });
  step(0, {
    type: "step-finished",
    step: "mirror-workloads",
    verification: { outcome: "passed" },
    elapsedMs: 6000,
  });
  step(0, { type: "step-started", step: "shift-traffic[1]", title: "Shift" });
  step(1000, {
    type: "gate-waiting",
    step: "shift-traffic[1]",
    address: "shift-traffic[1]/pause",
    detail: "pause 1m",
  });
  // The pause's own countdown is the pause's, not a wait of its own.
  step(30_000, { type: "wait-progress", step: "shift-traffic[1]", address: "pause 1m", detail: "30s left" });
  step(30_000, {
    type: "gate-passed",
    step: "shift-traffic[1]",
    address: "shift-traffic[1]/pause",
    detail: "paused 1m",
  });
  step(0, { type: "step-started", step: "shift-traffic[2]", title: "Shift" });
  step(0, {
    type: "gate-waiting",
    step: "shift-traffic[2]",
    address: "shift-traffic[2]/analysis",
    detail: "analysis",
  });
  step(20_000, {
    type: "gate-passed",
    step: "shift-traffic[2]",
    address: "shift-traffic[2]/analysis",
    detail: "ok",
  });
  step(0, { type: "step-started", step: "lower-dns-ttl", title: "TTL" });
  step(2000, {
    type: "wait-progress",
    step: "lower-dns-ttl",
    address: "route53 ttl shop.example.com. A",
    detail: "300s left",
  });
  step(300_000, {
    type: "step-finished",
    step: "lower-dns-ttl",
    verification: { outcome: "passed" },
    elapsedMs: 302_000,
  });
  step(3000, { type: "run-finished", outcome: "completed", message: "Migration complete." });
  return clock;
}

describe("apply's closing summary", () => {
  it("Given a migration's journal and its events, When apply ends, Then the summary says what moved, the final weights, where the record points and waiting against working", () => {
    const timing = timedRun().timing();
    const text = renderApplySummary(applySummary(playbook, journal(), timing));
    expect(text).toBe(
      [
        "Summary:",
        "  moved    1 namespace (shop), 4 objects mirrored to target: 2 Deployments, 1 Ingress, 1 Secret",
        "  built    install-ingress-gateway: 1 change on target",
        "  built    expose-target: 1 change on source",
        "  traffic  VirtualService shop/web web on source: source 0%, target 100%",
        "  dns      shop.example.com. A → 203.0.113.2, TTL 30s (was 203.0.113.1, TTL 300s)",
        "  time     6m32s in all: 6m24s waiting (TTL 5m, pauses 1m, gates 20s, rollouts and sync 4s), 8s working",
        "",
      ].join("\n"),
    );
  });

  it("Given an apply that changed nothing, When its clock is read, Then there is no timing to report", () => {
    const clock = new RunClock({ emit: () => undefined, close: () => undefined }, () => 0);
    clock.emit({ type: "run-finished", outcome: "completed", message: "No changes." });
    expect(clock.timing()).toBeUndefined();
  });

  it("Given a journal with nothing shifted and no DNS change, When summarised, Then it says so rather than leaving lines out", () => {
    const text = renderApplySummary(applySummary(playbook, journal().slice(0, 3)));
    expect(text).toBe(
      [
        "Summary:",
        "  moved    1 namespace (shop), 1 object mirrored to target: 1 Deployment",
        "  traffic  not shifted",
        "  dns      not changed",
        "",
      ].join("\n"),
    );
  });
});
