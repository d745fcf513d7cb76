/** Comparison operators a gate condition may use. */
export type ConditionOp = ">=" | "<=" | ">" | "<" | "==" | "!=";

export interface Condition {
  op: ConditionOp;
  value: number;
}

/**
 * `>= 0.99`, `< 500`, `!= 0`. An Argo Rollouts style `result >=` or `result[0] >=` prefix is accepted too,
 * so conditions copied from an AnalysisTemplate keep working. Anything else is undefined: the playbook
 * validator reports it, the gates never guess.
 */
const CONDITION =
  /^\s*(?:result(?:\[0\])?\s*)?(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)\s*$/i;

export function parseCondition(text: string): Condition | undefined {
  const match = CONDITION.exec(text);
  if (!match) return undefined;
  const value = Number(match[2]);
  if (!Number.isFinite(value)) return undefined;
  return { op: match[1] as ConditionOp, value };
}

/** NaN satisfies no condition, not even `!=`: a measurement without a number proves nothing. */
export function evaluateCondition(condition: Condition, value: number): boolean {
  if (Number.isNaN(value)) return false;
  switch (condition.op) {
    case ">=":
      return value >= condition.value;
    case "<=":
      return value <= condition.value;
    case ">":
      return value > condition.value;
    case "<":
      return value < condition.value;
    case "==":
      return value === condition.value;
    case "!=":
      return value !== condition.value;
  }
}

export function formatCondition(condition: Condition): string {
  return `${condition.op} ${condition.value}`;
}
