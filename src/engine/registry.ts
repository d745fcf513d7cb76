import type { PreflightCheck } from "./preflight.js";
import type { GateRunner, Step, StepKind } from "./types.js";

/** Step kinds and gate types known to a run. Built-ins register in `steps/index.ts`; plugins may add or replace. */
export class Registry {
  private readonly steps = new Map<StepKind, Step<never>>();
  private readonly gates = new Map<string, GateRunner>();
  private readonly checks = new Map<string, PreflightCheck>();

  step<S>(step: Step<S>): this {
    this.steps.set(step.kind, step as unknown as Step<never>);
    return this;
  }

  gate(runner: GateRunner): this {
    this.gates.set(runner.type, runner);
    return this;
  }

  /** A check `plan` runs before anything is written (preflight); by name, so a plugin may replace one. */
  preflight(check: PreflightCheck): this {
    this.checks.set(check.name, check);
    return this;
  }

  preflights(): PreflightCheck[] {
    return [...this.checks.values()];
  }

  /** Forget every step kind, so a plugin can bring its own set. */
  clearSteps(): this {
    this.steps.clear();
    return this;
  }

  stepKinds(): Step<unknown>[] {
    return [...this.steps.values()];
  }

  getStep(kind: StepKind): Step<unknown> {
    const step = this.steps.get(kind);
    if (!step) throw new Error(`unknown step kind "${kind}": this is a bug, or a plugin is missing`);
    return step;
  }

  getGate(type: string): GateRunner {
    const runner = this.gates.get(type);
    if (!runner) throw new Error(`unknown gate type "${type}": this is a bug, or a plugin is missing`);
    return runner;
  }
}
