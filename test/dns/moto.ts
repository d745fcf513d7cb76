import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";
import { accepts, freePort } from "../support/net.js";
import { startServerProcess } from "../support/process.js";

export interface Moto {
  endpoint: string;
  /** A raw SDK client for arranging and inspecting the world, apart from the code under test. */
  sdk: Route53Client;
  stop(): Promise<void>;
}

/** moto_server from PATH, else through pyenv; a missing one fails the test (never a silent skip). */
export function motoServerPath(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, "moto_server");
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  try {
    return execFileSync("pyenv", ["which", "moto_server"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(
      "moto_server is not on PATH and `pyenv which moto_server` does not find it: the Route 53 tests need it " +
        "(pip install 'moto[server]')",
    );
  }
}

/** moto_server with Route 53's change-batch semantics (see moto-route53-batch.py): its own Python runs it. */
const BATCH_SEMANTICS = fileURLToPath(new URL("./moto-route53-batch.py", import.meta.url));

/**
 * The command line of the Python that runs moto_server: its script's `#!` line (`/usr/bin/env python3` as two
 * words). A pyenv shim on PATH is a shell script: then the script pyenv points it at.
 */
function motoPython(): string[] {
  const words = (script: string) =>
    /^#!(.*)/.exec(readFileSync(script, "utf8"))?.[1]?.trim().split(/\s+/) ?? [];
  let command = words(motoServerPath());
  if (!command.some((word) => /python/.test(word))) {
    const real = execFileSync("pyenv", ["which", "moto_server"], { encoding: "utf8" }).trim();
    command = words(real);
  }
  if (!command.some((word) => /python/.test(word)))
    throw new Error("cannot tell which Python runs moto_server: reinstall it (pip install 'moto[server]')");
  return command;
}

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const [python = "python3", ...pythonArgs] = motoPython();
  const server = await startServerProcess(
    python,
    [...pythonArgs, BATCH_SEMANTICS, "-H", "127.0.0.1", "-p", String(port)],
    () => accepts(port),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const sdk = new Route53Client({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  return {
    endpoint,
    sdk,
    stop: () => {
      sdk.destroy();
      return server.stop();
    },
  };
}

let zoneCount = 0;

/** A fresh zone `<prefix>N.test.` holding `records(name)`, so tests do not share state. */
export async function createZone(
  sdk: Route53Client,
  prefix: string,
  records: (zone: string) => ResourceRecordSet[] = () => [],
  options: { name?: string; vpc?: { VPCRegion: "us-east-1"; VPCId: string } } = {},
): Promise<{ id: string; name: string }> {
  const name = options.name ?? `${prefix}${++zoneCount}.test.`;
  const vpc = options.vpc;
  const { HostedZone } = await sdk.send(
    new CreateHostedZoneCommand({
      Name: name,
      CallerReference: `${name}-${Date.now()}-${Math.random()}`,
      ...(vpc ? { VPC: vpc, HostedZoneConfig: { PrivateZone: true } } : {}),
    }),
  );
  const id = (HostedZone?.Id ?? "").replace("/hostedzone/", "");
  if (!vpc) await repairSoa(sdk, id, name);
  const sets = records(name);
  if (sets.length > 0) {
    await sdk.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: id,
        ChangeBatch: { Changes: sets.map((set) => ({ Action: "CREATE", ResourceRecordSet: set })) },
      }),
    );
  }
  return { id, name };
}

/**
 * moto 5.2.1 seeds a new zone's SOA with its value as a Python dict's text (`{'Value': 'ns-2048… 86400'}`);
 * Route 53 answers the plain value (`ns-2048.awsdns-64.com. awsdns-hostmaster.amazon.com. 1 7200 900 1209600
 * 86400`). The product reads Route 53's form, so the zone gets its SOA as Route 53 would have it, same fields.
 */
async function repairSoa(sdk: Route53Client, zoneId: string, name: string): Promise<void> {
  const { ResourceRecordSets } = await sdk.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: name,
      StartRecordType: "SOA",
    }),
  );
  const soa = ResourceRecordSets?.find((set) => set.Type === "SOA");
  const value = soa?.ResourceRecords?.[0]?.Value ?? "";
  const plain = /^\{'Value': '(.*)'\}$/.exec(value)?.[1];
  if (!soa || plain === undefined) return;
  await sdk.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: {
        Changes: [{ Action: "UPSERT", ResourceRecordSet: { ...soa, ResourceRecords: [{ Value: plain }] } }],
      },
    }),
  );
}

/** Every record set of the zone except its NS and SOA, as the API returns them. */
export async function recordsOf(sdk: Route53Client, zoneId: string): Promise<ResourceRecordSet[]> {
  const { ResourceRecordSets } = await sdk.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (ResourceRecordSets ?? []).filter((set) => set.Type !== "NS" && set.Type !== "SOA");
}
