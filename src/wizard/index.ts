import { existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { checkbox, confirm, input, select } from "@inquirer/prompts";
import { RuntimeError, UsageError } from "../engine/errors.js";
import { formatDiagnostic, parsePlaybook } from "../playbook/load.js";
import type {
  DnsAnswers,
  ExcludedService,
  IngressRef,
  ProbeAnswers,
  Provision,
  TrafficAnswers,
  WizardAnswers,
} from "./build.js";
import { playbookYaml } from "./build.js";
import { liveWizardDeps, noKubeconfigMessage } from "./client.js";
import type { ContextInfo, DnsRecordInfo, HostedZoneInfo, ServiceDestination, WizardDeps } from "./deps.js";
import * as q from "./questions.js";
import { parseHosts, parseWeights, recordIn } from "./validate.js";
import { writeFileAtomic } from "./write.js";

export type { WizardAnswers } from "./build.js";
export type { WizardDeps } from "./deps.js";
export { liveWizardDeps } from "./client.js";

export interface WizardOptions {
  /** Where to write the playbook, relative to `cwd`; default `playbook.yaml`. */
  out?: string;
  /** KUBECONFIG-style path list; absent: `$KUBECONFIG`, then `~/.kube/config`. */
  kubeconfig?: string;
  /** Aborting it cancels the question on screen; nothing is written. */
  signal?: AbortSignal;
  cwd?: string;
}

interface Writer {
  write(text: string): unknown;
}

export interface WizardIo {
  stdout: Writer;
  /** Where the cancellation notice goes; default stdout. */
  stderr?: Writer;
}

export interface WizardResult {
  /** The path written, as the user gave it (relative to `cwd` unless absolute). */
  file: string;
  /** The YAML text written, which `parsePlaybook` accepts. */
  playbook: string;
}

export const DEFAULT_OUT = "playbook.yaml";
export const CANCELLED = "wizard cancelled; nothing written";
export const NEEDS_TERMINAL =
  "wizard needs a terminal: it asks its questions on one (stdin is not a TTY). Run it in a terminal, or write a " +
  "playbook by hand (examples in playbooks/) and run `clustershift validate -f FILE`";

/** The CLI's guard: without a terminal the prompts cannot read keys, and would fail as if cancelled. */
export function requireTerminal(stdin: { isTTY?: boolean }): void {
  if (!stdin.isTTY) throw new UsageError(NEEDS_TERMINAL);
}

/**
 * Asks what to migrate, offering choices read from the kubeconfig, the source cluster and Route 53, and writes a
 * valid playbook. Returns undefined when the user cancels (Ctrl-C or `signal`), after printing {@link CANCELLED}:
 * nothing is written before the last answer, and then atomically.
 */
export async function runWizard(
  options: WizardOptions,
  io: WizardIo,
  deps: WizardDeps = liveWizardDeps(
    options.kubeconfig === undefined ? {} : { kubeconfig: options.kubeconfig },
  ),
): Promise<WizardResult | undefined> {
  try {
    return await wizard(options, io, deps);
  } catch (error) {
    if (!isCancellation(error, options.signal)) throw error;
    (io.stderr ?? io.stdout).write(`${CANCELLED}\n`);
    return undefined;
  }
}

/** Ctrl-C in a prompt (ExitPromptError), the signal aborting one (AbortPromptError) or the write. */
export function isCancellation(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return error instanceof Error && ["ExitPromptError", "AbortPromptError", "AbortError"].includes(error.name);
}

function asker(signal: AbortSignal | undefined) {
  const context = signal === undefined ? {} : { signal };
  return {
    select: <T>(question: q.SelectQuestion<T>) => select<T>(question, context),
    input: async (question: q.InputQuestion) => (await input(question, context)).trim(),
    confirm: (question: q.ConfirmQuestion) => confirm(question, context),
    checkbox: <T>(question: q.CheckboxQuestion<T>) => checkbox<T>(question, context),
  };
}

type Ask = ReturnType<typeof asker>;
type TargetIngress = NonNullable<WizardAnswers["target"]["ingress"]>;

async function wizard(options: WizardOptions, io: WizardIo, deps: WizardDeps): Promise<WizardResult> {
  const cwd = options.cwd ?? process.cwd();
  const out = options.out ?? DEFAULT_OUT;
  checkDirectory(resolve(cwd, out), out);
  const ask = asker(options.signal);
  const note = (text: string) => io.stdout.write(`${text}\n`);

  const contexts = await deps.contexts();
  if (contexts.length === 0) {
    throw new RuntimeError(noKubeconfigMessage("the kubeconfig has no contexts"));
  }
  const sourceName = await ask.select(q.sourceContextQuestion(contexts));
  const source = contexts.find((context) => context.name === sourceName) as ContextInfo;
  const target = await askTarget(ask, contexts, source);

  const namespaceQuestion = q.namespacesQuestion(await deps.namespaces(source.name), source.name);
  let namespaces: string[] = [];
  if (namespaceQuestion.choices.length === 0) {
    note(`${source.name} has no application namespaces: nothing to mirror`);
  } else {
    namespaces = await ask.checkbox(namespaceQuestion);
  }

  const answers: WizardAnswers = { name: "", source: { context: source.name }, target, namespaces };
  if (await ask.confirm(q.shiftTrafficQuestion())) {
    const targetIsSandbox = contexts.find((context) => context.name === target.context)?.sandbox ?? true;
    const shift = await askTraffic(ask, deps, answers, targetIsSandbox, note);
    if (shift) {
      answers.source.ingress = shift.sourceIngress;
      answers.target.ingress = shift.targetIngress;
      answers.traffic = shift.traffic;
    }
  }
  const revision = await gatewayRevision(deps, answers);
  if (
    revision !== undefined &&
    answers.namespaces.length > 0 &&
    answers.target.provision?.provider !== "gke"
  ) {
    answers.namespaceLabels = { "istio.io/rev": revision };
    note(
      `The target gateway's namespace injects by istio.io/rev=${revision}: the mirrored namespaces get that label.`,
    );
  }
  const exclude = await askExclusions(ask, deps, answers);
  if (exclude.length > 0) answers.exclude = exclude;
  if (await ask.confirm(q.dnsQuestion())) {
    const hosts = [
      ...(answers.traffic?.hosts ?? []),
      ...(await hostsOf(deps, source.name, answers.source.ingress?.gateway)),
    ];
    answers.dns = await askDns(ask, deps, source, hosts, note);
  }
  answers.name = await ask.input(q.nameQuestion(defaultName(answers)));

  const file = await askFile(ask, cwd, out);
  const text = playbookYaml(answers, file);
  const parsed = parsePlaybook(text, file);
  if (!parsed.ok) {
    const lines = parsed.diagnostics.map(formatDiagnostic);
    throw new Error(
      `the wizard built a playbook that does not validate; this is a bug:\n${lines.join("\n")}`,
    );
  }
  await writeFileAtomic(resolve(cwd, file), text, options.signal);
  note(`Wrote ${file}: playbook ${answers.name}.`);
  return { file, playbook: text };
}

async function askTarget(
  ask: Ask,
  contexts: readonly ContextInfo[],
  source: ContextInfo,
): Promise<WizardAnswers["target"]> {
  const choice = await ask.select(q.targetQuestion(contexts, source));
  const taken = contexts.map((context) => context.name);
  switch (choice.kind) {
    case "context":
      return { context: choice.context };
    case "sandbox": {
      const name = await ask.input(q.clusterNameQuestion(taken, uniqueName("target", taken)));
      return { context: name, provision: { provider: "sandbox", name } };
    }
    case "gke": {
      const project = await ask.input(q.gkeProjectQuestion());
      const location = await ask.input(q.gkeLocationQuestion());
      const name = await ask.input(q.clusterNameQuestion(taken, uniqueName("clustershift-target", taken)));
      const machineType = await ask.input(q.machineTypeQuestion());
      const nodeCount = Number(await ask.input(q.nodeCountQuestion()));
      const provision: Provision = { provider: "gke", project, location, name, machineType, nodeCount };
      return { context: name, provision };
    }
  }
}

async function askTraffic(
  ask: Ask,
  deps: WizardDeps,
  answers: WizardAnswers,
  targetIsSandbox: boolean,
  note: (text: string) => void,
): Promise<{ sourceIngress: IngressRef; targetIngress: TargetIngress; traffic: TrafficAnswers } | undefined> {
  const context = answers.source.context;
  const services = await deps.ingressServices(context);
  if (services.length === 0) {
    note(
      `${context} has no ingress gateway Service (type LoadBalancer, labelled istio=ingressgateway or ` +
        "app=istio-ingressgateway): leaving traffic shifting out",
    );
    return undefined;
  }
  const service = await ask.select(q.ingressServiceQuestion(services, context));
  const gateways = await deps.gateways(context);
  const gateway =
    gateways.length > 0
      ? await ask.select(q.gatewayQuestion(gateways, service))
      : await ask.input(q.gatewayRefQuestion(`${service.namespace}/${service.name}`));

  const split = await ask.select(q.splitQuestion(await deps.virtualServices(context), gateway));
  const destination: ServiceDestination =
    split.kind === "destination"
      ? split.destination
      : {
          namespace: await ask.select(
            q.splitNamespaceQuestion(
              answers.namespaces.length > 0 ? answers.namespaces : [service.namespace],
            ),
          ),
          service: await ask.input(q.serviceNameQuestion()),
        };
  const port = destination.port ?? Number(await ask.input(q.portQuestion()));
  if (!answers.namespaces.includes(destination.namespace)) {
    note(
      `note: ${destination.namespace} is not mirrored: the target must already run ${destination.service}`,
    );
  }
  const suggested = await hostsOf(deps, answers.source.context, gateway);
  const hosts = parseHosts(await ask.input(q.hostsQuestion(suggested))) as string[];
  const remoteHost = await ask.input(q.remoteHostQuestion(destination.service));
  const { ingress: targetIngress, address } = await askTargetIngress(
    ask,
    deps,
    answers.target,
    targetIsSandbox,
    note,
  );
  const weights = parseWeights(await ask.input(q.weightsQuestion())) as number[];
  const pause = weights.length > 1 ? await ask.input(q.pauseQuestion()) : q.DEFAULT_PAUSE;
  const approval = await ask.confirm(q.approvalQuestion(weights));
  const prometheus = await ask.input(q.prometheusQuestion(destination.service));
  const probe = await askProbe(ask, weights, address, hosts[0] ?? suggested[0]);
  const onFailure = await ask.select(q.onFailureQuestion());
  return {
    sourceIngress: { namespace: service.namespace, service: service.name, gateway },
    targetIngress,
    traffic: {
      namespace: destination.namespace,
      service: destination.service,
      port,
      remoteHost,
      ...(hosts.length > 0 ? { hosts } : {}),
      weights,
      pause,
      approval,
      ...(prometheus ? { prometheus } : {}),
      ...(probe ? { probe } : {}),
      onFailure,
    },
  };
}

/**
 * The probe gate, on the step before the last weight. Its URL defaults to the target's ingress when it has a
 * routable address: a sandbox load balancer's address answers nothing, so there the default is no probe.
 */
async function askProbe(
  ask: Ask,
  weights: readonly number[],
  targetAddress: string | undefined,
  host: string | undefined,
): Promise<ProbeAnswers | undefined> {
  const when = weights.length > 1 ? `before going to ${weights.at(-1)}%` : "after the shift";
  const fallback = targetAddress === undefined ? "" : `http://${targetAddress}/`;
  const url = await ask.input(q.probeUrlQuestion(fallback, when));
  if (url === "") return undefined;
  const header = await ask.input(q.probeHostQuestion(host?.includes("*") ? undefined : host));
  const expectStatus = Number(await ask.input(q.expectStatusQuestion()));
  return { url, ...(header ? { host: header } : {}), expectStatus };
}

/**
 * The revision label that injects sidecars where the target gateway runs: a managed mesh injects by revision
 * only, so namespaces mirrored with `istio-injection=enabled` would start without sidecars (the plan warns so).
 * An installed gateway gets the managed revision; an existing one's namespace says which.
 */
async function gatewayRevision(deps: WizardDeps, answers: WizardAnswers): Promise<string | undefined> {
  const ingress = answers.target.ingress;
  if (ingress === undefined) return undefined;
  if (ingress.install) return q.MANAGED_REVISION;
  const labels = await deps.namespaceLabels(answers.target.context, ingress.namespace);
  if (labels === undefined || labels["istio-injection"] !== undefined) return undefined;
  return labels["istio.io/rev"];
}

/**
 * Other LoadBalancer and NodePort Services of the mirrored namespaces than the one being shifted: offered to be
 * left out, ticked, since each would open a second public entry point on the target that no shift governs.
 */
async function askExclusions(ask: Ask, deps: WizardDeps, answers: WizardAnswers): Promise<ExcludedService[]> {
  if (answers.namespaces.length === 0) return [];
  const shifted = answers.traffic;
  const exposed = (await deps.exposedServices(answers.source.context, answers.namespaces)).filter(
    (service) => !(shifted && service.namespace === shifted.namespace && service.name === shifted.service),
  );
  if (exposed.length === 0) return [];
  const chosen = await ask.checkbox(q.exclusionsQuestion(exposed));
  return chosen.map(({ namespace, name }) => ({ namespace, name }));
}

/** The target's ingress, and its load balancer's address when it has one a probe could reach. */
async function askTargetIngress(
  ask: Ask,
  deps: WizardDeps,
  target: WizardAnswers["target"],
  sandbox: boolean,
  note: (text: string) => void,
): Promise<{ ingress: TargetIngress; address?: string }> {
  if (target.provision) {
    note(
      `The new cluster gets the ingress gateway ${q.INSTALLED_INGRESS.namespace}/${q.INSTALLED_INGRESS.service}.`,
    );
    return { ingress: { ...q.INSTALLED_INGRESS, install: true } };
  }
  const choice = await ask.select(
    q.targetIngressQuestion(await deps.ingressServices(target.context), target.context),
  );
  if (choice.kind === "install") return { ingress: { ...q.INSTALLED_INGRESS, install: true } };
  const { service } = choice;
  const gateways = await deps.gateways(target.context);
  const gateway =
    gateways.length > 0
      ? await ask.select(q.gatewayQuestion(gateways, service))
      : await ask.input(q.gatewayRefQuestion(`${service.namespace}/${service.name}`));
  const ingress = { namespace: service.namespace, service: service.name, gateway, install: false };
  return sandbox || service.address === undefined ? { ingress } : { ingress, address: service.address };
}

/** Public host names the application already answers to (wildcards left out), to suggest hosts and the record. */
async function hostsOf(deps: WizardDeps, context: string, gateway: string | undefined): Promise<string[]> {
  if (gateway === undefined) return [];
  const bound = (await deps.virtualServices(context)).filter((vs) => vs.gateways.includes(gateway));
  return [...new Set(bound.flatMap((vs) => vs.hosts).filter((host) => !host.includes("*")))];
}

/**
 * The zone and record, chosen from what the DNS provider in use lists (Route 53 through the product's client, or
 * the sandbox DNS next to the source cluster's API); typed by hand when it cannot be listed or is not there.
 */
async function askDns(
  ask: Ask,
  deps: WizardDeps,
  source: ContextInfo,
  hosts: readonly string[],
  note: (text: string) => void,
): Promise<DnsAnswers> {
  const provider = source.sandbox ? await ask.select(q.dnsProviderQuestion()) : "route53";
  const listed = async <T>(list: () => Promise<T[]>, what: string): Promise<T[]> => {
    try {
      return await list();
    } catch (error) {
      note(`${(error as Error).message}; type the ${what}.`);
      return [];
    }
  };
  const zones = await listed(() => deps.dnsZones(provider, source.name), "zone's name");
  let zone: HostedZoneInfo | undefined;
  if (zones.length > 0) {
    const choice = await ask.select(q.zoneQuestion(zones, provider));
    if (choice.kind === "zone") zone = choice.zone;
  }
  const zoneName = zone?.name ?? (await ask.input(q.zoneNameQuestion()));
  const ambiguous = zone !== undefined && zones.filter((other) => other.name === zone.name).length > 1;
  const suggestion = hosts.find((host) => recordIn(zoneName)(host) === true);

  let chosen: DnsRecordInfo | undefined;
  if (zone !== undefined) {
    const inZone = zone;
    const records = await listed(() => deps.dnsRecords(provider, source.name, inZone), "record's name");
    if (records.length > 0) {
      const choice = await ask.select(q.recordChoiceQuestion(records, suggestion));
      if (choice.kind === "record") chosen = choice.record;
    }
  }
  const record = chosen?.name.replace(/\.$/, "") ?? (await ask.input(q.recordQuestion(zoneName, suggestion)));
  const type = chosen?.type ?? (await ask.select(q.recordTypeQuestion()));
  const lowTtl = Number(await ask.input(q.ttlQuestion(chosen?.ttl)));
  const address = await ask.input(q.dnsTargetQuestion(type));
  return {
    provider,
    zone: zoneName,
    ...(ambiguous && zone ? { zoneId: zone.id } : {}),
    record,
    type,
    lowTtl,
    ...(address ? { target: address } : {}),
  };
}

async function askFile(ask: Ask, cwd: string, out: string): Promise<string> {
  let file = out;
  while (existsSync(resolve(cwd, file))) {
    if (await ask.confirm(q.overwriteQuestion(file))) return file;
    file = await ask.input(q.outFileQuestion(uniqueFile(cwd, file)));
    checkDirectory(resolve(cwd, file), file);
  }
  return file;
}

/** Fails before the first question, not after the last, when the playbook could not be written there. */
function checkDirectory(path: string, shown: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`--out ${shown}: the directory ${dirname(shown)} does not exist`);
  }
}

function uniqueName(base: string, taken: readonly string[]): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!taken.includes(name)) return name;
  }
}

function uniqueFile(cwd: string, file: string): string {
  const match = /^(.*?)(\.[^./]*)?$/.exec(file);
  const [stem, ext] = [match?.[1] ?? file, match?.[2] ?? ""];
  for (let i = 2; ; i++) {
    const candidate = `${stem}-${i}${ext}`;
    if (!existsSync(resolve(cwd, candidate))) return candidate;
  }
}

/** `frontend-to-cluster-with-csm`, made a DNS label whatever the context names look like. */
export function defaultName(answers: Pick<WizardAnswers, "namespaces" | "traffic" | "target">): string {
  const what = answers.traffic?.service ?? answers.namespaces[0] ?? "migration";
  const label = `${what}-to-${answers.target.context}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .slice(0, 63)
    .replace(/^-+|-+$/g, "");
  return label || "migration";
}
