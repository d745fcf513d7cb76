import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/**
 * `npm run bench:real`: the mirror benchmark on a real control plane. Run by vitest only because its global setup
 * provides the control-plane binaries (tools/oracles) and test/support starts them; it is no test (`npm test`
 * runs `test/**\/*.test.ts`) and asserts nothing but that the run completes.
 */
export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  test: {
    include: ["test/bench/*.run.ts"],
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
  },
});
