import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LockedError } from "../../src/engine/errors.js";
import { apply, readState, rollback } from "../../src/engine/executor.js";
import { KubernetesJournalStore } from "../../src/engine/journal/kubernetes-store.js";
import { Registry } from "../../src/engine/registry.js";
import type { JournalEntry } from "../../src/engine/types.js";
import { createClusterClient, type KubeClusterClient } from "../../src/providers/kubernetes/client.js";
import { MIRRORED_KINDS } from "../../src/steps/mirror-workloads/kinds.js";
import { mirrorWorkloadsStep } from "../../src/steps/mirror-workloads/index.js";
import { SUBSTRATES, useClusters } from "../support/clusters.js";
import {
  clusterImage,
  faultSeed,
  faultyClusters,
  untilDone,
  type FaultyClusters,
} from "../support/faults.js";
import { fixtureObjects } from "../support/fixtures.js";
import { RunHarness } from "../support/harness.js";
import { namespaceObject } from "../support/sandbox.js";
import { testPlaybook } from "../support/step-harness.js";
import { eventually } from "../support/wait.js";

const note = (seq: number): JournalEntry => ({
  type: "note",
  seq,
  time: "2025-01-01T00:00:00.000Z",
  step: "s",
  note: `n${seq}`,
});
const holder = (host: string) => ({ pid: process.pid, host, since: new Date().toISOString() });
const leaseRef = (playbook: string) => ({
  apiVersion: "coordination.k8s.io/v1",
  kind: "Lease",
  namespace: "clustershift",
  name: `clustershift-${playbook}`,
});

describe.each(SUBSTRATES)(
  "KubernetesJournalStore under lost replies and injected faults on %s",
  (substrate) => {
    const clusters = useClusters(substrate, { istio: false, readyDelayMs: 30 });
    let faults: FaultyClusters;
    const clients: KubeClusterClient[] = [];
    /** A client of its own, through the fault injection: as a second operator or CI runner would have. */
    const client = (context = "source") => {
      const made = createClusterClient(context, { kubeconfig: faults.kubeconfigPath });
      clients.push(made);
      return made;
    };
    /** Reads without faults. */
    const direct = (context = "source") => clusters().client(context);
    const store = (playbook: string, options: ConstructorParameters<typeof KubernetesJournalStore>[3] = {}) =>
      new KubernetesJournalStore(client(), playbook, "clustershift", { chunkEntries: 20, ...options });

    beforeAll(async () => {
      faults = await faultyClusters(clusters());
    });
    afterEach(() => faults.clear());
    afterAll(async () => {
      for (const c of clients) c.close();
      await faults.stop();
    });

    it("Given every create and replace carried out with its reply lost, When a runner locks, appends 50 entries, renews and releases, Then every write is taken as its own: no false lock, no false takeover, the journal reads back whole", async () => {
      faults.setFaults("source", { replyLostRate: 1, replyLostMethods: ["POST", "PUT"], seed: faultSeed() });
      const writer = store("lost", { renewEveryMs: 100 });
      const warnings: string[] = [];
      const handle = await writer.lock(holder("runner-a"), (w) => warnings.push(w));
      for (let seq = 1; seq <= 50; seq++) await writer.append(note(seq));
      // A few renewals, each a compare-and-swap PUT whose reply is lost.
      const renewed = faults.faultsInjected("source");
      await eventually(() => (faults.faultsInjected("source") >= renewed + 2 ? true : undefined), 30_000);
      await handle.release();
      expect(warnings).toEqual([]);
      // Three chunk creates, 47 chunk replaces, the namespace, the lease create, renewals and the release.
      expect(faults.faultsInjected("source")).toBeGreaterThan(50);

      faults.clear();
      expect((await store("lost").read()).map((e) => e.seq)).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      const lease = await direct().get(leaseRef("lost"));
      expect((lease?.spec as { holderIdentity?: string }).holderIdentity).toBeUndefined();
      // Released: another runner takes the lock without a warning.
      const next: string[] = [];
      await (await store("lost").lock(holder("runner-b"), (w) => next.push(w))).release();
      expect(next).toEqual([]);
    });

    it("Given lost replies on every write, When a second writer appends behind the first one's back or locks while it holds the lease, Then it is still refused", async () => {
      faults.setFaults("source", { replyLostRate: 1, replyLostMethods: ["POST", "PUT"], seed: faultSeed() });
      const a = store("race");
      const b = store("race");
      await a.read();
      await b.read();
      await a.append(note(1));
      await expect(b.append(note(2))).rejects.toThrow(LockedError);
      const held = await a.lock(holder("runner-a"), () => {});
      await expect(store("race").lock(holder("runner-b"), () => {})).rejects.toThrow(/locked by pid/);
      await held.release();
    });

    it("Given the journal in the source cluster and seeded lost replies, 5xx, 429 and drops on both clusters, When a mirror is applied (resumed until it completes) and rolled back, Then the journal holds every change and the target is exactly as before", async () => {
      const seedValue = faultSeed();
      await clusters().seed("source", [
        namespaceObject("bookinfo"),
        ...fixtureObjects("bookinfo/bookinfo.yaml", "bookinfo"),
      ]);
      const original = await clusterImage(direct("target"), ["bookinfo"], MIRRORED_KINDS);

      const playbook = testPlaybook(
        { workloads: { namespaces: ["bookinfo"], rolloutTimeout: "2m" } },
        "state-faults",
      );
      const registry = new Registry().step(mirrorWorkloadsStep);
      const engine = () =>
        new RunHarness(registry, playbook, {
          kubeconfig: faults.kubeconfigPath,
          options: { stateDir: `${clusters().dir}/unused` },
          store: store("state-faults"),
        }).engine;
      const random = {
        replyLostRate: 0.3,
        errorRate: 0.05,
        statuses: [500, 503, 429],
        retryAfterSeconds: 0,
        dropRate: 0.03,
      };
      faults.setSeededFaults(random, seedValue);

      const applied = await untilDone(() => apply(engine(), () => Promise.resolve(true)));
      expect(applied.value.outcome).toBe("completed");
      expect(faults.faultsInjected("source")).toBeGreaterThan(3);
      const done = await readState(store("state-faults"));
      expect(done.phase.phase).toBe("completed");
      const names = async (context: string) =>
        (await direct(context).list("apps/v1", "Deployment", { namespace: "bookinfo" }))
          .map((d) => d.metadata.name)
          .sort();
      const written = await names("target");
      expect(written).toEqual(await names("source"));
      // Every object on the target that the run made has its change in the journal, to roll it back from.
      const journaled = new Set(done.pending.map((e) => e.address));
      for (const name of written) expect(journaled, name).toContain(`Deployment bookinfo/${name}`);

      await untilDone(() => rollback(engine()));
      faults.clear();
      expect((await readState(store("state-faults"))).phase.phase).toBe("rolled-back");
      const restored = await eventually(
        async () => {
          const now = await clusterImage(direct("target"), ["bookinfo"], MIRRORED_KINDS);
          return Object.keys(now).length === Object.keys(original).length ? now : undefined;
        },
        120_000,
        { intervalMs: 500, message: () => "namespace bookinfo is still on the target after rollback" },
      );
      expect(restored).toEqual(original);
    }, 300_000);
  },
);
