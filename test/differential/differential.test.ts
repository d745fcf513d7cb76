import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/fixtures.js";
import { requireTool } from "../support/tools.js";
import { hasKubectl } from "../support/sandbox.js";
import { startSubstrates, type Substrates } from "./harness.js";
import { builtinSchemas } from "./openapi.js";
import { createSession, type Observations } from "./session.js";
import { TABLE, type Behaviour } from "./behaviours/index.js";

/**
 * The sandbox held to the real server: every behaviour of the table runs the same requests on the sandbox and on
 * a real kube-apiserver (with etcd and kube-controller-manager), and their normalized answers must be equal.
 * The run ends with the score and the behaviours that still differ.
 */
describe("the sandbox against a real kube-apiserver", () => {
  requireTool("kubectl", hasKubectl(), "install kubectl (https://kubernetes.io/docs/tasks/tools/)");
  let substrates: Substrates | undefined;
  const outcomes = new Map<string, { agrees: boolean; sandbox: Observations; real: Observations }>();

  beforeAll(async () => {
    substrates = await startSubstrates();
  }, 300_000);

  afterAll(async () => {
    const differing = TABLE.filter((b) => outcomes.get(b.name)?.agrees !== true);
    const lines = [
      `sandbox agrees with kube-apiserver on ${TABLE.length - differing.length} of ${TABLE.length} behaviours`,
      ...differing.map((b) => `  differs: ${b.name}`),
    ];
    process.stdout.write(`\n${lines.join("\n")}\n`);
    // A developer's aid: every observation of the run, to read what the real server answered.
    const report = process.env.CLUSTERSHIFT_DIFFERENTIAL_REPORT;
    if (report) writeFileSync(report, JSON.stringify(Object.fromEntries(outcomes), null, 1));
    await substrates?.stop();
  }, 120_000);

  it("Given the real server's OpenAPI v3, Then the sandbox ships its built-in kinds' schemas, cut down", async () => {
    if (!substrates) throw new Error("the substrates did not start");
    const published = await builtinSchemas(substrates.real);
    const file = join(REPO_ROOT, "src", "sandbox", "builtin-schemas.json");
    // Regenerated from a newer kube-apiserver with CLUSTERSHIFT_WRITE_BUILTIN_SCHEMAS=1 (then prettier).
    if (process.env.CLUSTERSHIFT_WRITE_BUILTIN_SCHEMAS === "1")
      writeFileSync(file, JSON.stringify(published));
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(published);
  });

  it.each(TABLE.map((b, index) => [b.name, b, index] as const))(
    "%s, Then the sandbox answers as the real server does",
    async (_name: string, behaviour: Behaviour, index: number) => {
      if (!substrates) throw new Error("the substrates did not start");
      const ns = `b${index}`;
      const run = async (endpoint: Substrates["sandbox"]): Promise<Observations> => {
        const created = await endpoint.request("POST", "/api/v1/namespaces", {
          body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
        });
        if (created.status !== 201)
          throw new Error(`namespace ${ns} on the ${endpoint.substrate}: ${created.status}`);
        const observations: Observations = [];
        await behaviour.run(createSession(endpoint, ns, observations));
        return observations;
      };
      const [sandbox, real] = await Promise.all([run(substrates.sandbox), run(substrates.real)]);
      outcomes.set(behaviour.name, { agrees: isDeepStrictEqual(sandbox, real), sandbox, real });
      expect(sandbox).toEqual(real);
    },
    240_000,
  );
});
