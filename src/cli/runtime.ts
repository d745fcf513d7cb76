/**
 * What the commands that plan, apply or read state need: the engine, every step (and with them the cloud SDKs
 * and the Kubernetes client), the renderers and the prompts. `main.ts` imports this module only when such a
 * command runs, so that `--help`, `--version`, `validate` and `schema` start without loading them.
 */
import type { confirm as Confirm } from "@inquirer/prompts";

/** The prompts load when a question is asked: `plan` and a non-interactive `apply` never pay for them. */
export async function confirm(...args: Parameters<typeof Confirm>): Promise<boolean> {
  const { confirm: ask } = await import("@inquirer/prompts");
  return ask(...args);
}
export { apply, plan, promote, readState, rollback } from "../engine/executor.js";
export { refuseIfFinished } from "../engine/run-state.js";
export { placeOf } from "../engine/targets.js";
export { planJson, renderPlanText } from "../render/plan.js";
export { createNoteSink, createSink } from "../render/progress.js";
export { applySummary, renderApplySummary, RunClock } from "../render/summary.js";
export {
  currentFailure,
  keptClusterLines,
  renderRollbackPreview,
  renderStatus,
  statusJson,
} from "../render/status.js";
export { builtinRegistry } from "../steps/index.js";
export { requireReachable } from "./reach.js";
export { loadSavedPlan, savedPlanDrift, savePlan } from "./saved-plan.js";
export { openReader, openStore } from "./store.js";
