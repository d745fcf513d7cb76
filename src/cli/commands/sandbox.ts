import { UsageError } from "../../engine/errors.js";
import { createClusterClient } from "../../providers/kubernetes/client.js";
import { fqdn } from "../../providers/route53/names.js";
import type { RecordSet } from "../../providers/route53/port.js";
import { createSandboxDns, InvalidChangeBatch, type SandboxDns } from "../../sandbox/dns/index.js";
import { startSandbox } from "../../sandbox/index.js";
import { SEED_APPS, SEED_ZONE, seedApp } from "../../sandbox/seeds/index.js";
import { plural } from "../../render/words.js";

export interface RunSandboxOptions {
  kubeconfig: string;
  clusters: string[];
  istio: boolean;
  /** An app of {@link SEED_APPS} to put on the first cluster, with its ingress gateway and DNS record. */
  seed?: string;
  /** Hosted zones to create in the sandbox DNS (`example.com.`). */
  zones?: string[];
  /** Records to add, `NAME TYPE VALUE[,VALUE…] [TTL]`, each in the zone that contains it. */
  records?: string[];
  /** Stops the sandbox like SIGINT/SIGTERM do (tests). */
  signal?: AbortSignal;
}

export const SEED_NAMES = Object.keys(SEED_APPS);

/**
 * `clustershift sandbox`: starts local simulated clusters, writes their kubeconfig and serves in the foreground
 * until SIGINT/SIGTERM (or `signal`), then stops cleanly. Tokens stay in the kubeconfig file, never in output.
 */
export async function runSandbox(opts: RunSandboxOptions, out: (line: string) => void): Promise<void> {
  const app = opts.seed === undefined ? undefined : SEED_APPS[opts.seed];
  if (opts.seed !== undefined && !app) {
    throw new UsageError(`--seed ${opts.seed}: unknown app; choose one of ${SEED_NAMES.join(", ")}`);
  }
  // Everything the flags say is checked before anything starts.
  const records = (opts.records ?? []).map(parseRecord);
  const zones = [...new Set([...(opts.zones ?? []).map(fqdn), ...(app ? [SEED_ZONE] : [])])];
  for (const record of records) zoneOf(record, zones);

  // The sandbox DNS (`dns.provider: sandbox`) lives on the same ports, so a rehearsal can cut DNS over too.
  const dns = createSandboxDns();
  const sandbox = await startSandbox({
    clusters: opts.clusters,
    istio: opts.istio || app !== undefined,
    extensions: [dns],
  });
  const signal = opts.signal ?? new AbortController().signal;
  try {
    await sandbox.writeKubeconfig(opts.kubeconfig);
    const withIstio = opts.istio || app !== undefined;
    out(
      `Sandbox running: ${plural(sandbox.clusters.size, "cluster")}${withIstio ? " with Istio CRDs" : ""}.`,
    );
    out("State lives in memory: stopping the sandbox forgets everything.");
    for (const cluster of sandbox.clusters.values()) out(`  context ${cluster.name}: ${cluster.httpsServer}`);
    out(`Kubeconfig written to ${opts.kubeconfig}.`);
    const first = opts.clusters[0] ?? "source";
    if (app) {
      const source = createClusterClient(first, { kubeconfig: opts.kubeconfig });
      const seeded = await seedApp(app, source, dns, signal);
      out(
        `Seeded ${app.name} on "${first}": ${seeded.objectCount} objects in ${app.namespace} and istio-system; ` +
          `ingress istio-system/istio-ingressgateway at ${seeded.ingressAddress}.`,
      );
    }
    // The seeded app brought its zone; the others are created empty, then the records go into them.
    for (const zone of zones) if (!zoneId(dns, zone)) dns.addZone({ name: zone });
    for (const record of records) {
      try {
        dns.addRecords(zoneId(dns, zoneOf(record, zones)) ?? "", [record]);
      } catch (error) {
        if (error instanceof InvalidChangeBatch)
          throw new UsageError(`--record ${record.name}: ${error.message}`);
        throw error;
      }
    }
    describeDns(dns, out);
    if (app) {
      out("Rehearse the migration in another terminal:");
      out(`  export KUBECONFIG=${opts.kubeconfig}`);
      out(`  clustershift plan -f ${app.playbook}`);
      out(`  clustershift apply -f ${app.playbook}`);
    } else {
      out(`Try: kubectl --kubeconfig ${opts.kubeconfig} --context ${first} get ns`);
      out(`Or:  export KUBECONFIG=${opts.kubeconfig}`);
    }
    out("Press Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        signal.removeEventListener("abort", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      if (signal.aborted) stop();
      else signal.addEventListener("abort", stop);
    });
    out("Stopping the sandbox.");
  } finally {
    await sandbox.stop();
  }
}

const RECORD_TYPES = new Set(["A", "AAAA", "CNAME", "TXT"]);

/** `NAME TYPE VALUE[,VALUE…] [TTL]`, as a zone file line says it; TTL 300 by default, as Route 53's console. */
export function parseRecord(text: string): RecordSet {
  const parts = text.trim().split(/\s+/);
  const [name, type, values, ttl = "300", ...rest] = parts;
  const usage = `--record "${text}": expected NAME TYPE VALUE[,VALUE…] [TTL], e.g. --record "shop.example.com A 127.0.0.1 300"`;
  if (!name || !type || !values || rest.length > 0) throw new UsageError(usage);
  if (!RECORD_TYPES.has(type.toUpperCase()))
    throw new UsageError(`${usage}; TYPE is one of ${[...RECORD_TYPES].join(", ")}`);
  if (!/^\d+$/.test(ttl) || Number(ttl) > 2_147_483_647)
    throw new UsageError(`${usage}; TTL is whole seconds`);
  return { name: fqdn(name), type: type.toUpperCase(), ttl: Number(ttl), values: values.split(",") };
}

/** The longest of `zones` that contains `record`; the record must lie in one. */
function zoneOf(record: RecordSet, zones: string[]): string {
  const zone = zones
    .filter((z) => record.name === z || record.name.endsWith(`.${z}`))
    .sort((a, b) => b.length - a.length)[0];
  if (!zone) {
    throw new UsageError(
      `--record ${record.name}: no zone contains it; add one with --zone (zones: ${zones.join(", ") || "none"})`,
    );
  }
  return zone;
}

function zoneId(dns: SandboxDns, name: string): string | undefined {
  return dns.zones().find((zone) => zone.name === name)?.id;
}

function describeDns(dns: SandboxDns, out: (line: string) => void): void {
  const zones = dns.zones();
  if (zones.length === 0) {
    out(
      "Sandbox DNS (playbook dns.provider: sandbox): no zones; add them with --zone example.com. and records",
    );
    out('  with --record "shop.example.com A 127.0.0.1 300".');
    return;
  }
  out("Sandbox DNS (playbook dns.provider: sandbox):");
  for (const zone of zones) {
    out(`  zone ${zone.name} (${zone.id})`);
    for (const r of dns.recordSets(zone.id)) {
      out(
        `    ${r.name} ${r.type} ${r.values?.join(",") ?? r.alias?.dnsName ?? ""} (TTL ${r.ttl ?? "alias"})`,
      );
    }
  }
}
