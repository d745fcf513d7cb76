export {
  mirrorWorkloadsStep,
  changeFor,
  addressOf,
  CONCURRENCY,
  type MirrorSpec,
  type MirrorPlanData,
} from "./step.js";
export { strip, skipReason } from "./strip.js";
export { namespaceLabels, rewriteImage, rewriteImages } from "./transform.js";
export { parseLabelSelector, matchesSelector, excludedBy } from "./select.js";
export { subsetDiff } from "../../resources/diff.js";
export { priorityOf, compareForApply, MIRRORED_KINDS } from "./kinds.js";
