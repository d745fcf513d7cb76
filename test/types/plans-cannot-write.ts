/**
 * Plans cannot write (issue 11.2), checked by the compiler: `npm run typecheck` compiles this file, and each
 * `@ts-expect-error` below fails the check if the line after it ever compiles. What `plan`, `verify` and a gate
 * get from `cluster(ctx, …)` reads only; what `apply` and `rollback` get writes. test/types/plans-cannot-write.test.ts
 * compiles it again without the markers and pins the error each write gives.
 */
import type { GateRunner, Step, StepPlan } from "../../src/engine/types.js";
import { cluster, clusterIfKnown } from "../../src/providers/kubernetes/index.js";
import type { KubeObject, ObjectRef } from "../../src/providers/kubernetes/port.js";

const ref: ObjectRef = { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "settings" };
const object: KubeObject = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "settings", namespace: "shop" },
};
const empty = (id: string): StepPlan => ({ id, kind: "type-test", title: id, changes: [], gates: [] });

export const writingStep = {
  kind: "type-test",
  expand: () => [],
  async plan(instance, ctx) {
    const source = cluster(ctx, "source");
    await source.get(ref);
    await source.list("v1", "ConfigMap", { namespace: "shop" });
    await source.apiResources("v1");
    await source.reviewAccess?.({ verb: "create", group: "", resource: "configmaps", namespace: "shop" });
    // @ts-expect-error plan gets a reader: it cannot apply
    await source.apply(object);
    // @ts-expect-error plan gets a reader: it cannot create
    await source.create(object);
    // @ts-expect-error plan gets a reader: it cannot replace
    await source.replace(object);
    // @ts-expect-error plan gets a reader: it cannot delete
    await source.delete(ref);
    return empty(instance.id);
  },
  async verify(_plan, ctx) {
    // @ts-expect-error verify gets a reader, from clusterIfKnown too
    await clusterIfKnown(ctx, "target")?.apply(object);
    return { outcome: "passed" };
  },
  async apply(_plan, ctx) {
    // apply journals through ctx.change and gets a writer.
    const target = cluster(ctx, "target");
    await ctx.change({ address: "ConfigMap shop/settings", action: "create", after: object }, () =>
      target.create(object),
    );
  },
  async rollback(_entries, ctx) {
    await cluster(ctx, "target").delete(ref);
  },
} satisfies Step;

export const writingGate = {
  type: "type-test",
  describe: () => "type test",
  async run(_gate, ctx) {
    // @ts-expect-error a gate gets a reader
    await cluster(ctx, "source").replace(object);
    return { outcome: "passed" };
  },
} satisfies GateRunner;
