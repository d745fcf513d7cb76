#!/usr/bin/env node
import { existsSync, realpathSync } from "node:fs";
import { readFile, rmdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, CommanderError, Option } from "commander";
import type { Engine, ReadEngine } from "../engine/executor.js";
import {
  CancelledError,
  DriftError,
  exitCodeOf,
  InterruptedError,
  messageOf,
  RuntimeError,
  UsageError,
} from "../engine/errors.js";
import type { RunOptions } from "../engine/types.js";
import type { Playbook } from "../playbook/schema.js";
import { colorWanted } from "../render/color.js";
import type { OutputMode } from "../render/progress.js";
import { plural } from "../render/words.js";
import { gkeTimingFromEnv } from "./gke-timing.js";
import type { SavedPlan } from "./saved-plan.js";

/** The engine, steps, renderers and prompts, loaded only by the commands that need them (start-up time). */
const runtime = () => import("./runtime.js");

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

interface StateOptions {
  file: string;
  stateDir: string;
}

const DEFAULT_STATE_DIR = ".clustershift";

function defaultStateDir(): string {
  return process.env.CLUSTERSHIFT_STATE_DIR ?? DEFAULT_STATE_DIR;
}

/** Runs the CLI; returns the exit code. The process-level wrapper at the bottom is the only place that exits. */
export async function run(argv: string[], io: Io = process): Promise<number> {
  const controller = new AbortController();
  // `once`: a second signal ends the process at once, as a user pressing Ctrl-C twice expects.
  let command: string | undefined;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    // The sandbox writes no journal: what a signal ends there is the in-memory clusters and DNS.
    const what =
      command === "sandbox"
        ? "the sandbox's clusters and DNS records live in memory only and are forgotten"
        : "stopping; a change under way finishes and is journaled, no new one starts";
    io.stderr.write(`${signal}: ${what}\n`);
    controller.abort(new InterruptedError(signal));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const program = buildProgram(io, controller.signal);
  program.hook("preAction", (_program, action) => {
    command = action.name();
  });
  try {
    await program.parseAsync(argv, { from: "user" });
    // A command that stops cleanly on the signal (the sandbox) still exits as interrupted: 130 or 143, always.
    const reason: unknown = controller.signal.reason;
    if (reason instanceof InterruptedError) return exitCodeOf(reason);
    return 0;
  } catch (caught) {
    // Whatever a stopped step made of the abort (a failed read, a wrapped error), the signal is what happened.
    const interrupted =
      controller.signal.reason instanceof InterruptedError ? controller.signal.reason : undefined;
    const error: unknown = interrupted ?? translated(caught);
    if (interrupted && caught !== interrupted) io.stderr.write(`error: ${messageOf(caught)}\n`);
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CancelledError || isPromptCancellation(error)) {
      // The wizard already said what it left behind; a cancelled confirm has changed nothing yet.
      if (!(error instanceof CancelledError)) io.stderr.write("cancelled\n");
      return 130;
    }
    const lines = error instanceof UsageError ? error.lines : [`error: ${messageOf(error)}`];
    io.stderr.write(lines.join("\n") + "\n");
    if (!isExpected(error)) {
      io.stderr.write(
        "This is a bug in clustershift: please report it with the output above and the journal.\n",
      );
      if (process.env.CLUSTERSHIFT_DEBUG && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    }
    return exitCodeOf(error);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function buildProgram(io: Io, signal: AbortSignal): Command {
  const program = new Command("clustershift")
    .description(
      "Move a live, meshed application from one Kubernetes cluster to another: provision the target, mirror " +
        "the workloads, shift traffic by Istio weights with gates, cut DNS over — with a way back at every step.",
    )
    .addHelpText(
      "after",
      [
        "",
        "Examples:",
        "  npx clustershift demo                                  the whole migration of a sample shop, offline",
        "  clustershift validate -f shop.yaml                     check a playbook without calling anything",
        "  clustershift plan -f shop.yaml                         what apply would do, step by step",
        "  clustershift apply -f shop.yaml --yes --non-interactive",
        "  clustershift rollback -f shop.yaml --yes               undo everything journaled, newest first",
        "  clustershift finish -f shop.yaml                       close a completed migration, delete its secrets",
        "",
        "Exit codes: 0 success or waiting for approval, 1 runtime failure (the journal is intact: apply resumes,",
        "rollback restores), 2 invalid playbook or usage, 3 a gate failed (rolled back or paused), 130 cancelled.",
        "KUBECONFIG is honoured; --state-dir (default .clustershift) holds journals and locks.",
      ].join("\n"),
    )
    .version(process.env.npm_package_version ?? "0.1.0")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError("(run with --help for usage)");

  const withState = (command: Command) =>
    command
      .requiredOption("-f, --file <playbook>", REQUIRED_FILE)
      .option(
        "--state-dir <dir>",
        "where journals and locks live",
        process.env.CLUSTERSHIFT_STATE_DIR ?? DEFAULT_STATE_DIR,
      );
  const output = (choices: string[]) =>
    new Option("-o, --output <format>", "output format").choices(choices).default("text");

  program
    .command("validate")
    .description("Check a playbook offline; errors are `file:line:col: path: message` lines, exit 2.")
    .requiredOption("-f, --file <playbook>", REQUIRED_FILE)
    .addHelpText("after", examples("clustershift validate -f shop.yaml"))
    .action(async (opts: { file: string }) => {
      const { loadPlaybook } = await import("../playbook/load.js");
      const playbook = await loadPlaybook(opts.file, signal);
      io.stdout.write(`${opts.file}: valid playbook ${playbook.metadata.name}\n`);
    });

  withState(program.command("plan"))
    .description("Show what apply would do, step by step. Reads only.")
    .addOption(output(["text", "json"]))
    .option("--out <file>", "also save the plan, for `clustershift apply FILE` to carry out exactly")
    .option("--no-color", "no colour, even on a terminal (as NO_COLOR=1; never in a pipe or file)")
    .addHelpText(
      "after",
      examples(
        "clustershift plan -f shop.yaml",
        "clustershift plan -f shop.yaml -o json > plan.json",
        "clustershift plan -f shop.yaml --out shop.plan && clustershift apply shop.plan",
      ),
    )
    .action(async (opts: StateOptions & { output: string; out?: string; color: boolean }) => {
      const { plan, planJson, renderPlanText, savePlan } = await runtime();
      const engine = await makeReadEngine(opts, io, signal);
      // Read before planning: a journal that moves after this makes the saved plan refuse, never pass.
      const entries = await engine.store.read();
      const result = await plan(engine);
      const color = colorWanted(io.stdout, process.env, opts.color);
      io.stdout.write(
        opts.output === "json"
          ? JSON.stringify(planJson(result), null, 2) + "\n"
          : renderPlanText(result, opts.file, { color }) +
              // A complete migration has nothing left for a default to decide.
              (result.complete ? "" : await defaultsText(opts.file, engine.playbook, color)),
      );
      if (opts.out !== undefined) {
        await savePlan(opts.out, result, opts.file, opts.stateDir, entries);
        io.stderr.write(
          `Saved the plan to ${opts.out}: \`clustershift apply ${opts.out}\` carries out exactly this plan, or refuses if the playbook, the journal or the world moved.\n`,
        );
      }
    });

  program
    .command("apply")
    .description(
      "Run the migration, or resume it from its journal; with PLAN (saved by `plan --out`), carry out exactly that plan.",
    )
    .argument("[plan]", "a plan saved by `clustershift plan --out FILE`")
    .option("-f, --file <playbook>", "the playbook (YAML) (required, unless PLAN is given)")
    .option("--state-dir <dir>", "where journals and locks live (a saved plan names its own)")
    .option("-y, --yes", "apply without asking to confirm the plan")
    .option("--non-interactive", "never prompt; an approval gate stops the run (exit 0) until `promote`")
    .option("--no-color", "no colour, even on a terminal (as NO_COLOR=1; never in a pipe or file)")
    .addOption(
      new Option("-o, --output <format>", "progress format").choices(["text", "json"]).default("text"),
    )
    .addHelpText(
      "after",
      [
        "",
        "After the progress, a summary: what moved, the final weights, where the DNS record points and its TTL,",
        "and the time spent waiting (pauses, TTL, gates) against working.",
        examples(
          "clustershift apply -f shop.yaml                          shows the plan and asks",
          "clustershift apply -f shop.yaml --yes --non-interactive  in CI; an approval gate stops it (exit 0)",
          "clustershift apply shop.plan                             exactly the plan saved by plan --out",
        ),
      ].join("\n"),
    )
    .action(
      async (
        planFile: string | undefined,
        opts: Omit<ApplyOptions, "file" | "stateDir"> & Partial<StateOptions>,
      ) => {
        if (planFile === undefined) {
          if (opts.file === undefined)
            throw new UsageError("apply needs -f PLAYBOOK, or a plan saved by `plan --out`");
          return runApply(
            { ...opts, file: opts.file, stateDir: opts.stateDir ?? defaultStateDir() },
            io,
            signal,
          );
        }
        const saved = await (await runtime()).loadSavedPlan(planFile);
        if (opts.file !== undefined && resolve(opts.file) !== saved.playbook.file)
          throw new UsageError(`${planFile} is a plan of ${saved.playbook.file}, not of ${opts.file}`);
        if (opts.stateDir !== undefined && resolve(opts.stateDir) !== saved.stateDir)
          throw new UsageError(
            `${planFile} was planned against the state in ${saved.stateDir}, not ${opts.stateDir}`,
          );
        return runApply({ ...opts, file: saved.playbook.file, stateDir: saved.stateDir }, io, signal, saved);
      },
    );

  withState(program.command("status"))
    .description("Where the run stands, from its journal.")
    .addOption(output(["text", "json"]))
    .addHelpText(
      "after",
      [
        "",
        "After a failure: the failed step, its error, and the ways forward (fix and apply, or rollback).",
        examples("clustershift status -f shop.yaml", "clustershift status -f shop.yaml -o json"),
      ].join("\n"),
    )
    .action(async (opts: StateOptions & { output: string }) => {
      const { currentFailure, readState, renderStatus, statusJson } = await runtime();
      const engine = await makeReadEngine(opts, io, signal);
      const state = await readState(engine.store);
      const failure = currentFailure(await engine.store.read());
      const holder = await engine.store.holder();
      // The ways forward are printed to be pasted: they name this playbook and, when not the default, this state.
      const stateArg = opts.stateDir === DEFAULT_STATE_DIR ? "" : ` --state-dir ${shellWord(opts.stateDir)}`;
      io.stdout.write(
        opts.output === "json"
          ? JSON.stringify(statusJson(engine.playbook, state, holder, failure), null, 2) + "\n"
          : renderStatus(engine.playbook, state, engine.store.location, holder, {
              failure,
              args: `-f ${shellWord(opts.file)}${stateArg}`,
            }),
      );
    });

  withState(program.command("report"))
    .description("Render the run, from its journal, as one self-contained HTML page. Reads only.")
    .option(
      "--out <file>",
      "where to write the page; `-` prints it to stdout (default: <state-dir>/<playbook>-report.html)",
    )
    .addHelpText(
      "after",
      [
        "",
        "The page shows a timeline of the steps, waits and gates with what the gates measured, the share of traffic",
        "on the target over time, the DNS record's value and TTL over time, and what a rollback would undo now.",
        "It loads nothing from anywhere (inline CSS and SVG, no script): it opens offline, as a CI artifact or an",
        "attachment. By default it is written to a file beside the state rather than printed: HTML on a terminal is",
        "noise, and beside the journal is where the run's records already are (outside <state-dir>/<playbook>/,",
        "which belongs to the journal store). Secrets show only as `(sensitive: N keys)`.",
        "",
        "Examples:",
        "  clustershift report -f shop.yaml                        writes .clustershift/shop-report.html",
        "  clustershift report -f shop.yaml --out migration.html",
        "  clustershift report -f shop.yaml --out - > report.html",
      ].join("\n"),
    )
    .action(async (opts: StateOptions & { out?: string }) => {
      const { writeReport } = await import("./commands/report.js");
      const engine = await makeReadEngine(opts, io, signal);
      const path = await writeReport(engine, opts.out === undefined ? {} : { out: opts.out }, io.stdout);
      if (path !== undefined)
        io.stdout.write(`Report of ${engine.playbook.metadata.name} written to ${path}\n`);
    });

  withState(program.command("promote"))
    .description("Pass the gate the run is waiting at (an approval, or a failed gate with onFailure: pause).")
    .addHelpText(
      "after",
      examples(
        "clustershift promote -f shop.yaml && clustershift apply -f shop.yaml --yes --non-interactive",
      ),
    )
    .action(async (opts: StateOptions) => {
      const engine = await makeEngine(opts, io, signal, "notes", {});
      io.stdout.write((await (await runtime()).promote(engine)) + "\n");
    });

  withState(program.command("rollback"))
    .description("Undo everything the journal records, newest first, from the before-images.")
    .option("-y, --yes", "roll back without asking")
    .option("--destroy-provisioned", "also delete clusters this run provisioned")
    .option(
      "--force",
      "restore a DNS record's before-image even when it was changed outside clustershift since the cutover",
    )
    .option("--no-color", "no colour, even on a terminal (as NO_COLOR=1; never in a pipe or file)")
    .addHelpText(
      "after",
      [
        "",
        "Shows what it will undo, by step and cluster, then asks (without a terminal, --yes is needed).",
        "A DNS record someone changed after the cutover (an operator's emergency change) stops the rollback,",
        "saying what it found and what it would restore; --force restores it anyway.",
        examples(
          "clustershift rollback -f shop.yaml",
          "clustershift rollback -f shop.yaml --yes --skip-context old-cluster   that cluster is gone for good",
        ),
      ].join("\n"),
    )
    .option(
      "--skip-context <name>",
      "leave the changes on this kubeconfig context as they are (a cluster that is gone); repeatable",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(
      async (
        opts: StateOptions & {
          yes?: boolean;
          destroyProvisioned?: boolean;
          force?: boolean;
          skipContext: string[];
        },
      ) => {
        const {
          confirm,
          keptClusterLines,
          placeOf,
          readState,
          refuseIfFinished,
          renderRollbackPreview,
          requireReachable,
          rollback,
        } = await runtime();
        const mode: OutputMode = io.stdout.isTTY ? "tty" : "plain";
        const stateExisted = existsSync(opts.stateDir);
        const engine = await makeEngine(opts, io, signal, mode, {
          destroyProvisioned: Boolean(opts.destroyProvisioned),
          forceRollback: Boolean(opts.force),
        });
        try {
          const state = await readState(engine.store);
          refuseIfFinished(engine.playbook.metadata.name, state);
          const skip = opts.skipContext;
          if (state.pending.length > 0) {
            io.stdout.write(
              renderRollbackPreview(
                engine.playbook.metadata.name,
                state.pending,
                skip,
                Boolean(opts.destroyProvisioned),
              ) + "\n",
            );
          }
          // Every cluster rollback must talk to answers, or it stops now, before asking and before any revert.
          const contexts = new Map<string, number>();
          for (const entry of state.pending) {
            const context = placeOf(entry).context;
            if (context !== undefined && !skip.includes(context))
              contexts.set(context, (contexts.get(context) ?? 0) + 1);
          }
          await requireReachable(contexts, engine.options.kubeconfig);
          if (!opts.yes) {
            if (!process.stdin.isTTY) throw new UsageError("rollback without a terminal needs --yes");
            const ok = await confirm(
              {
                message: `Roll back ${plural(state.pending.length, "journaled change")} of ${engine.playbook.metadata.name}?`,
                default: false,
              },
              { signal },
            );
            if (!ok) return;
          }
          const result = await rollback(engine, { skipContexts: skip });
          // The task tree's last frame first, the outcome below it: a line written under a live tree is drawn over.
          engine.sink.close();
          const kept = opts.destroyProvisioned ? [] : keptClusterLines(state.pending, skip);
          if (kept.length > 0 && result.skipped === 0) {
            // "As they were" would not be true: say which clusters stay, and how to delete each.
            io.stdout.write(
              `Rolled back ${plural(result.reverted, "change")}; the DNS and the clusters' objects are as they were, ` +
                `but ${plural(kept.length, "cluster")} this run made ${kept.length === 1 ? "is" : "are"} kept ` +
                "(rollback deletes clusters only with --destroy-provisioned):\n" +
                kept.map((line) => `  ${line}\n`).join(""),
            );
          } else {
            io.stdout.write(result.message + "\n");
          }
        } catch (error) {
          await removeEmptyState(opts.stateDir, engine.playbook.metadata.name, stateExisted);
          throw error;
        } finally {
          engine.sink.close();
        }
      },
    );

  withState(program.command("finish"))
    .description(
      "Close a completed migration: delete the before-images of Secrets and credentials from the state; rollback is no longer possible.",
    )
    .addHelpText(
      "after",
      [
        "",
        "Refuses (exit 2, nothing written) unless every enabled step is done and every gate passed.",
        "",
        "Example:",
        "  clustershift finish -f shop.yaml && clustershift status -f shop.yaml   # says: the journal is closed",
      ].join("\n"),
    )
    .action(async (opts: StateOptions) => {
      const { finish } = await import("./commands/finish.js");
      const reader = await makeReadEngine(opts, io, signal);
      const open = async () => (await runtime()).openStore(reader.playbook, reader.options);
      io.stdout.write((await finish(reader, open)) + "\n");
    });

  program
    .command("wizard")
    .description(
      "Build a playbook interactively from the live clusters; shows its plan and offers to apply it.",
    )
    .option("--out <file>", "where to write the playbook", "playbook.yaml")
    .addHelpText(
      "after",
      [
        "",
        "Offers the contexts of the kubeconfig in KUBECONFIG (default ~/.kube/config) as the source and target;",
        "until you confirm the apply at the end, it only reads the clusters and DNS. Needs a terminal.",
        "",
        "Examples:",
        "  KUBECONFIG=~/.kube/config clustershift wizard --out shop.yaml",
        "  clustershift sandbox --seed online-boutique --kubeconfig sandbox.kubeconfig   # in another terminal",
        "  KUBECONFIG=sandbox.kubeconfig clustershift wizard",
      ].join("\n"),
    )
    .action(async (opts: { out: string }) => {
      const { requireTerminal, runWizard } = await import("../wizard/index.js");
      requireTerminal(process.stdin);
      const result = await runWizard(
        { out: opts.out, signal, ...(process.env.KUBECONFIG ? { kubeconfig: process.env.KUBECONFIG } : {}) },
        io,
      );
      if (!result) throw new CancelledError("wizard cancelled; nothing written");
      io.stdout.write("\n");
      // The playbook is safe on disk whatever happens next; apply asks before changing anything.
      await runApply({ file: result.file, stateDir: DEFAULT_STATE_DIR, output: "text" }, io, signal);
    });

  program
    .command("sandbox")
    .description(
      "Run local simulated clusters (a Kubernetes API server on 127.0.0.1) in the foreground, for rehearsals.",
    )
    .option("--kubeconfig <file>", "where to write their kubeconfig", "sandbox.kubeconfig")
    .option("--clusters <names>", "comma-separated cluster (context) names", "source,target")
    .option("--istio", "install Istio networking CRDs in every cluster")
    .addOption(
      new Option(
        "--seed <app>",
        "put an app on the first cluster, with Istio's ingress gateway and a DNS record: a rehearsal's start " +
          "(implies --istio; default --clusters source)",
      ).choices(["bookinfo", "online-boutique"]),
    )
    .option("--zone <name...>", "hosted zones to create in the sandbox DNS (dns.provider: sandbox)")
    .option("--record <line...>", 'records to add: "NAME TYPE VALUE[,VALUE…] [TTL]", in a zone of --zone')
    .addHelpText(
      "after",
      [
        "",
        "State lives in memory: stopping the sandbox (Ctrl-C) forgets every cluster, object and record.",
        "",
        "Examples:",
        "  clustershift sandbox --seed bookinfo --kubeconfig /tmp/sandbox.kubeconfig",
        '  clustershift sandbox --istio --zone example.com. --record "shop.example.com A 127.0.0.1 300"',
      ].join("\n"),
    )
    .action(
      async (
        opts: {
          kubeconfig: string;
          clusters: string;
          istio?: boolean;
          seed?: string;
          zone?: string[];
          record?: string[];
        },
        command: Command,
      ) => {
        const { runSandbox } = await import("./commands/sandbox.js");
        // A seeded rehearsal provisions its own target, so one cluster is enough unless asked for more.
        const defaulted = command.getOptionValueSource("clusters") === "default";
        const list = opts.seed && defaulted ? "source" : opts.clusters;
        const clusters = list
          .split(",")
          .map((name) => name.trim())
          .filter(Boolean);
        await runSandbox(
          {
            kubeconfig: opts.kubeconfig,
            clusters,
            istio: Boolean(opts.istio),
            ...(opts.seed ? { seed: opts.seed } : {}),
            zones: opts.zone ?? [],
            records: opts.record ?? [],
            signal,
          },
          (line) => io.stdout.write(line + "\n"),
        );
      },
    );

  program
    .command("demo")
    .description(
      "Migrate a sample shop between simulated clusters: plan, progress and a summary, offline, in under a minute.",
    )
    .option("--non-interactive", "do not ask before applying or rolling back")
    .option("--rollback", "then roll the migration back and show that everything is as before")
    .addHelpText(
      "after",
      examples("npx clustershift demo", "npx clustershift demo --rollback --non-interactive"),
    )
    .action(async (opts: { nonInteractive?: boolean; rollback?: boolean }) => {
      const { runDemo } = await import("../demo/demo.js");
      const nonInteractive = Boolean(opts.nonInteractive) || !process.stdin.isTTY;
      await runDemo({ nonInteractive, rollback: Boolean(opts.rollback) }, io, signal);
    });

  program
    .command("schema")
    .description("Print the JSON Schema of the playbook, for editors.")
    .addHelpText("after", examples("clustershift schema > clustershift.schema.json"))
    .action(async () => {
      const { playbookJsonSchema } = await import("../playbook/json-schema.js");
      io.stdout.write(JSON.stringify(playbookJsonSchema(), null, 2) + "\n");
    });

  return program;
}

const REQUIRED_FILE = "the playbook (YAML) (required)";

/** The `Examples:` block every subcommand's help ends with. */
function examples(...lines: string[]): string {
  return ["", "Examples:", ...lines.map((line) => `  ${line}`)].join("\n");
}

interface ApplyOptions extends StateOptions {
  yes?: boolean;
  /** `--no-color` makes it false. */
  color?: boolean;
  nonInteractive?: boolean;
  output: string;
}

async function runApply(opts: ApplyOptions, io: Io, signal: AbortSignal, saved?: SavedPlan): Promise<void> {
  const interactive = !opts.nonInteractive && Boolean(process.stdin.isTTY);
  if (!opts.yes && !interactive) {
    throw new UsageError("apply without a terminal needs --yes: there is no one to confirm the plan");
  }
  const { apply, applySummary, confirm, renderApplySummary, renderPlanText, RunClock, savedPlanDrift } =
    await runtime();
  const mode: OutputMode = opts.output === "json" ? "json" : io.stdout.isTTY ? "tty" : "plain";
  const stateExisted = existsSync(opts.stateDir);
  const engine = await makeEngine(opts, io, signal, mode, { nonInteractive: !interactive });
  // Times the run from its events, for the summary: waiting (pauses, TTL, gates) against working.
  const clock = new RunClock(engine.sink);
  engine.sink = clock;
  try {
    // A finished run plans as "No changes" and asks nothing: a saved plan older than the journal is refused here.
    const seq = saved && ((await engine.store.read()).at(-1)?.seq ?? 0);
    if (saved && seq !== saved.journalSeq) {
      throw new DriftError(
        `the saved plan no longer holds; nothing was changed:\n  the journal moved since the plan (entry ${saved.journalSeq} then, ${seq} now)\n` +
          "Run `clustershift plan --out FILE` again to review and save a new plan.",
      );
    }
    const outcome = await apply(engine, async (approved) => {
      if (saved) {
        const drift = await savedPlanDrift(saved, approved, await engine.store.read());
        if (drift.length > 0) {
          throw new DriftError(
            [
              "the saved plan no longer holds; nothing was changed:",
              ...drift.map((line) => `  ${line}`),
              "Run `clustershift plan --out FILE` again to review and save a new plan.",
            ].join("\n"),
          );
        }
      }
      if (opts.output !== "json") {
        const color = colorWanted(io.stdout, process.env, opts.color !== false);
        io.stdout.write(
          renderPlanText(approved, opts.file, { color }) +
            (await defaultsText(opts.file, engine.playbook, color)) +
            "\n",
        );
      }
      if (opts.yes) return true;
      return confirm({ message: "Apply this plan?", default: false }, { signal });
    });
    const finished = outcome.outcome === "cancelled" ? "completed" : outcome.outcome;
    // What moved, the weights, where DNS points, waiting against working: from the journal and this run's events.
    const timing = clock.timing();
    const summary =
      timing && outcome.outcome !== "cancelled"
        ? applySummary(engine.playbook, await engine.store.read(), timing)
        : undefined;
    // NDJSON: the summary is one more record, and run-finished stays the last.
    if (summary && opts.output === "json")
      io.stdout.write(JSON.stringify({ time: new Date().toISOString(), type: "summary", ...summary }) + "\n");
    engine.sink.emit({ type: "run-finished", outcome: finished, message: outcome.message });
    engine.sink.close();
    // On a terminal, below the task tree's last frame.
    if (summary && opts.output !== "json") io.stdout.write("\n" + renderApplySummary(summary));
  } catch (error) {
    const outcome = exitCodeOf(error) === 3 ? "rolled-back" : "failed";
    engine.sink.emit({ type: "run-finished", outcome, message: messageOf(error) });
    await removeEmptyState(opts.stateDir, engine.playbook.metadata.name, stateExisted);
    throw error;
  } finally {
    engine.sink.close();
  }
}

async function makeEngine(
  opts: StateOptions,
  io: Io,
  signal: AbortSignal,
  /** `notes`: the command's product is its stdout (a plan, a status), so progress notes go to stderr. */
  mode: OutputMode | "notes",
  extra: Partial<RunOptions>,
): Promise<Engine> {
  const engine = await makeReadEngine(opts, io, signal, mode, extra);
  return { ...engine, store: await (await runtime()).openStore(engine.playbook, engine.options) };
}

/** For `plan` and `status`: the journal opened read-only, so that neither can create or change any state. */
async function makeReadEngine(
  opts: StateOptions,
  io: Io,
  signal: AbortSignal,
  mode: OutputMode | "notes" = "notes",
  extra: Partial<RunOptions> = {},
): Promise<ReadEngine> {
  const { loadPlaybook } = await import("../playbook/load.js");
  const { builtinRegistry, createNoteSink, createSink, openReader } = await runtime();
  const playbook = await loadPlaybook(opts.file, signal);
  const options: RunOptions = {
    playbookFile: opts.file,
    stateDir: opts.stateDir,
    nonInteractive: true,
    ...(process.env.KUBECONFIG ? { kubeconfig: process.env.KUBECONFIG } : {}),
    ...gkeTimingFromEnv(process.env),
    ...extra,
  };
  const registry = await builtinRegistry();
  const sink = mode === "notes" ? createNoteSink(io.stderr) : createSink(mode, io.stdout);
  const store = await openReader(playbook, options);
  return { registry, playbook, options, store, sink, signal };
}

/**
 * A run that failed before it wrote anything leaves no state behind: its folder held only the lock, released by
 * now. rmdir removes empty folders only, so nothing written (by this run or another) can be lost.
 */
async function removeEmptyState(stateDir: string, playbook: string, existed: boolean): Promise<void> {
  await rmdir(join(stateDir, playbook)).catch(() => undefined);
  if (!existed) await rmdir(stateDir).catch(() => undefined);
}

/**
 * Node's own words for a directory where a file belongs (`EISDIR: illegal operation on a directory, open '/tmp'`)
 * said plainly, exit 1 as before, and not as a bug of ours; other errors pass as they are.
 */
function translated(error: unknown): unknown {
  const { code, path } = (error ?? {}) as NodeJS.ErrnoException;
  if (code === "EISDIR" && path !== undefined)
    return new RuntimeError(`${path} is a directory: give the path of a file there`, { cause: error });
  return error;
}

/**
 * SDK warnings meant for their developers, not for our users: google-auth's MetadataLookupWarning says only that
 * this machine is not a GCE VM (credentials come from elsewhere). Node prints warnings through its own listener;
 * ours drops that one (unless CLUSTERSHIFT_DEBUG) and prints the others one line each, as `warning: …`.
 */
function quietSdkWarnings(): void {
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    if (warning.name === "MetadataLookupWarning" && !process.env.CLUSTERSHIFT_DEBUG) return;
    process.stderr.write(`warning: ${warning.name}: ${warning.message}\n`);
  });
}

/**
 * The `Warning:` block of defaults the playbook leaves unsaid, under the plan; read from the file as written,
 * since the loaded playbook has its defaults filled in. Nothing when the file cannot be read again.
 */
async function defaultsText(file: string, playbook: Playbook, color: boolean): Promise<string> {
  // yaml is imported statically by the renderer: the bundle's chunk of a dynamic import("yaml") has no `parse`.
  const { defaultsWarning } = await import("../render/defaults.js");
  const text = await readFile(file, "utf8").catch(() => undefined);
  return text === undefined ? "" : defaultsWarning(text, playbook, { color });
}

/** A path as a shell reads it back: quoted only when it must be. */
function shellWord(text: string): string {
  return /^[\w./~:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

function isPromptCancellation(error: unknown): boolean {
  return error instanceof Error && (error.name === "ExitPromptError" || error.name === "AbortPromptError");
}

/** Our own typed errors carry messages meant for users; anything else escaped a check. */
function isExpected(error: unknown): boolean {
  return error instanceof Error && (EXPECTED_ERRORS.has(error.name) || isEnvironmentError(error));
}

/** The machine's refusal (a full disk, a read-only or foreign directory), not a fault of ours. */
function isEnvironmentError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    code !== undefined &&
    ["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EPERM", "EMFILE", "ENFILE", "ENOENT", "ENOTDIR"].includes(code)
  );
}

const EXPECTED_ERRORS = new Set([
  "UsageError",
  "GateFailedError",
  "DriftError",
  "LockedError",
  "RuntimeError",
  "CancelledError",
  "InterruptedError",
  "AbortError",
  "ContextNotFoundError",
  "KubeApiError",
]);

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  // `clustershift plan | head`: a reader that hangs up early is not an error of ours.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
  quietSdkWarnings();
  process.exitCode = await run(process.argv.slice(2));
}
