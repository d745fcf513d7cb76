#!/usr/bin/env node
import { parseArgs } from "node:util";
import { runWizard } from "./index.js";

/**
 * `node dist/src/wizard/main.js [--out FILE]`: the wizard on its own, until `clustershift wizard` wires it in.
 * Exit codes as the CLI's: 0 written, 130 cancelled, 1 failed.
 */
const { values } = parseArgs({ options: { out: { type: "string" } } });
const controller = new AbortController();
process.once("SIGINT", () => controller.abort());
try {
  const result = await runWizard(
    { ...(values.out === undefined ? {} : { out: values.out }), signal: controller.signal },
    process,
  );
  process.exitCode = result === undefined ? 130 : 0;
} catch (error) {
  process.stderr.write(`error: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
