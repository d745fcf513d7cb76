import { afterAll } from "vitest";
import { planDrift } from "../../src/engine/drift.js";
import { DriftError, UsageError } from "../../src/engine/errors.js";
import { planRun, type RunPlan } from "../../src/engine/planner.js";
import { Registry } from "../../src/engine/registry.js";
import type {
  ChangeEntry,
  NoteEntry,
  ReadContext,
  RunOptions,
  StepPlan,
  Verification,
  WriteContext,
} from "../../src/engine/types.js";
import type { Playbook } from "../../src/playbook/schema.js";
import type { DnsPort, RecordSet } from "../../src/providers/route53/port.js";
import { createSandboxDns, type SandboxDns } from "../../src/sandbox/dns/index.js";
import type { SandboxOptions } from "../../src/sandbox/index.js";
import { cutoverDnsStep } from "../../src/steps/cutover-dns/index.js";
import { lowerDnsTtlStep } from "../../src/steps/lower-dns-ttl/index.js";
import {
  MemoryJournal,
  recordingProgress,
  testPlaybook,
  testRunOptions,
  unjournaled,
  type RecordedProgress,
} from "../support/step-harness.js";
import { useSandbox } from "../support/sandbox.js";

export { testPlaybook };

export interface StepResult {
  id: string;
  plan: StepPlan;
  verification: Verification;
}

/**
 * The engine's run loop for the two DNS steps, in memory: plan everything, then per step re-plan, stop on
 * drift, apply through a write-ahead journal, verify; rollback walks the journal newest first, one entry
 * per call, as the executor does. Gates are recorded, not run.
 */
export class DnsRun {
  private readonly journal = new MemoryJournal();
  readonly entries: ChangeEntry[] = this.journal.entries;
  /** What the steps noted (`ctx.note`), oldest first; handed back to them as `ctx.journaledNotes`. */
  readonly notes: NoteEntry[] = this.journal.notes;
  private stop = new AbortController();
  private stopWhen: ((line: string) => boolean) | undefined;
  readonly progress: RecordedProgress = recordingProgress(undefined, (line) => this.stopIfDue(line));
  readonly clients = new Map<string, unknown>();
  readonly registry = new Registry().step(lowerDnsTtlStep).step(cutoverDnsStep);
  private readonly done = new Set<string>();
  /** Clients the test handed in: they outlive a stop, having no signal of the run's. */
  private readonly given: Set<string>;

  /** Without `port`, the run builds its own through `dnsProvider`, as the engine does. */
  constructor(
    readonly playbook: Playbook,
    port?: DnsPort,
    private readonly options: Partial<RunOptions> = {},
  ) {
    if (port) this.clients.set(`dns:${playbook.spec.dns?.provider ?? "route53"}`, port);
    this.given = new Set(this.clients.keys());
  }

  readContext(): ReadContext {
    return {
      playbook: this.playbook,
      options: testRunOptions(this.options),
      progress: this.progress,
      signal: this.stop.signal,
      clients: this.clients,
      journaled: [...this.entries],
      journaledNotes: [...this.notes],
    };
  }

  /**
   * Stops the run (aborts its signal, as Ctrl-C does) at the first progress line `when` accepts; the journal
   * stays as the stop left it, so the next `applyAll` resumes like `clustershift apply` after a crash.
   */
  stopAt(when: (line: string) => boolean): void {
    this.stopWhen = when;
  }

  private stopIfDue(line: string): void {
    if (!this.stopWhen?.(line)) return;
    this.stopWhen = undefined;
    this.stop.abort(new Error(`stopped by the test at: ${line}`));
    this.stop = new AbortController();
    // The clients the run built hold its signal, as in a process; the next run is a new process with new ones.
    for (const key of [...this.clients.keys()]) if (!this.given.has(key)) this.clients.delete(key);
  }

  writeContext(step: string, kind: string): WriteContext {
    return { ...this.readContext(), ...this.journal.writer(step, kind) };
  }

  plan(): Promise<RunPlan> {
    return planRun(this.registry, this.readContext());
  }

  /** Applies every step not done yet, from `approved` (default: a plan made now); stops at the first error. */
  async applyAll(approved?: RunPlan, until?: string): Promise<StepResult[]> {
    const plan = approved ?? (await this.plan());
    const results: StepResult[] = [];
    for (const { step, instance, plan: approvedPlan } of plan.steps) {
      if (this.done.has(instance.id)) continue;
      const fresh = await step.plan(instance, this.readContext());
      const drift = planDrift(approvedPlan, fresh);
      if (drift.length > 0) throw new DriftError(`${instance.id}: ${drift.join("; ")}`);
      await step.apply(fresh, this.writeContext(instance.id, step.kind));
      const verification = await step.verify(fresh, this.readContext());
      if (verification.outcome !== "failed") this.done.add(instance.id);
      results.push({ id: instance.id, plan: fresh, verification });
      if (instance.id === until) break;
    }
    return results;
  }

  /** Undoes every journaled change, newest first, then forgets them like `change-reverted` does. */
  async rollback(options: Partial<RunOptions> = {}): Promise<number> {
    const pending = this.journal.newestFirst();
    const undo = unjournaled({
      ...this.writeContext("", ""),
      options: testRunOptions({ ...this.options, ...options }),
    });
    for (const entry of pending) {
      await this.registry.getStep(entry.kind).rollback([entry], undo);
      this.entries.splice(this.entries.indexOf(entry), 1);
    }
    // The engine forgets the notes of rolled-back steps too: a step applied again starts over.
    this.notes.length = 0;
    this.done.clear();
    return pending.length;
  }
}

/** A dns playbook section with test defaults: zone `example.com.`, record shop, the smallest lowTtl (5). */
export function dnsPlaybook(dns: Record<string, unknown>, extra: Record<string, unknown> = {}): Playbook {
  return testPlaybook({
    dns: { provider: "route53", zone: "example.com", record: "shop.example.com", lowTtl: 5, ...dns },
    ...extra,
  });
}

/** An A record set as the DNS port reads it. */
export const aRecord = (name: string, ttl: number, value = "192.0.2.10"): RecordSet => ({
  name,
  type: "A",
  ttl,
  values: [value],
});

export interface DnsSandbox {
  /** The sandbox's DNS, whose changes stay PENDING for 300 ms. */
  readonly dns: SandboxDns;
  /** The sandbox's kubeconfig, once the file's first hook ran. */
  kubeconfig: () => string;
  /** A fresh zone `<prefix>N.test.` holding `shop.<zone> A 192.0.2.10` with `ttl`, and the records `more` adds. */
  seedZone: (
    ttl: number,
    more?: (zone: string) => RecordSet[],
  ) => { id: string; zone: string; record: string };
}

/** A sandbox with the DNS extension for the file's tests, its zones named after `prefix` so tests share none. */
export function useDnsSandbox(prefix: string, options: Omit<SandboxOptions, "extensions"> = {}): DnsSandbox {
  const dns = createSandboxDns({ pendingMs: 300 });
  const env = useSandbox({ ...options, extensions: [dns], istio: false });
  // The name servers' UDP ports, bound when first asked.
  afterAll(() => dns.close());
  let zones = 0;
  return {
    dns,
    kubeconfig: () => env().kubeconfigPath,
    seedZone(ttl, more = () => []) {
      const zone = `${prefix}${++zones}.test.`;
      const record = `shop.${zone}`;
      const { id } = dns.addZone({ name: zone, records: [aRecord(record, ttl), ...more(zone)] });
      return { id, zone, record };
    },
  };
}

/** Preflight's report of one problem: its line, then the summary (plan collects every problem before it stops). */
export function onlyProblem(line: string): UsageError {
  const lines = [line, "1 problem found before the first write; nothing was changed. Fix it and plan again."];
  return new UsageError(lines.join("\n"), lines);
}
