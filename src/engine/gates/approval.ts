import type { GateRunner } from "../types.js";

/**
 * `approval: true`: asks on a terminal; without one (or with --non-interactive) the run stops cleanly,
 * waiting for `clustershift promote`.
 */
export const approvalGate: GateRunner = {
  type: "approval",
  describe: () => "approval",
  async run(gate, ctx) {
    const question = typeof gate.question === "string" ? gate.question : "Continue the migration?";
    if (ctx.options.nonInteractive || !process.stdin.isTTY) {
      return { outcome: "waiting", detail: `waiting for approval: ${question}` };
    }
    // Loaded here only: a run that never asks does not pay for the prompts' modules.
    const { confirm } = await import("@inquirer/prompts");
    const yes = await confirm({ message: question, default: false }, { signal: ctx.signal });
    // "No" is not a failure of the target: the run waits, and promote or rollback decide later.
    return yes
      ? { outcome: "passed", detail: "approved" }
      : { outcome: "waiting", detail: "not approved yet" };
  },
};
