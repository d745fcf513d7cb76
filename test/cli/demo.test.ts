import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";

describe("clustershift demo (the README's first command)", () => {
  it("Given a fresh machine, when running the demo with --rollback, then the shop moves, comes back exactly, and no secret is shown", async () => {
    const result = await runCli(["demo", "--non-interactive", "--rollback"], {
      env: { KUBECONFIG: "/nonexistent" },
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Plan: \d+ to create, \d+ to update, 0 to delete, \d+ waits, 3 gates\.$/m);
    expect(result.stdout).toContain("Migration complete.");
    expect(result.stdout).toContain('Deployments mirrored to "target": 4');
    expect(result.stdout).toMatch(/frontend=0, frontend\.target\.clustershift\.internal=100/);
    expect(result.stdout).toContain("source VirtualService shop/frontend-ingress identical to before: yes");
    expect(result.stdout).toMatch(/shop\.example\.com\. A 203\.0\.113\.\d+ \(TTL 8s\): as before/);
    expect(result.stdout).toContain("target cluster removed: yes");
    for (const secret of ["demo-api-key", "ZGVtby1hcGkta2V5", "demo-webhook-secret"])
      expect(result.stdout).not.toContain(secret);
  });
});
