import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer, connect } from "node:net";
import { delimiter, join } from "node:path";
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ResourceRecordSet,
} from "@aws-sdk/client-route-53";

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

export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const child = spawn(motoServerPath(), ["-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  await waitForPort(port, child, () => stderr);
  const endpoint = `http://127.0.0.1:${port}`;
  const sdk = new Route53Client({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  return {
    endpoint,
    sdk,
    stop: () =>
      new Promise((resolve) => {
        sdk.destroy();
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGTERM");
  throw new Error(`moto_server did not listen on 127.0.0.1:${port} within 20s: ${stderr()}`);
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

/** Every record set of the zone except its NS and SOA, as the API returns them. */
export async function recordsOf(sdk: Route53Client, zoneId: string): Promise<ResourceRecordSet[]> {
  const { ResourceRecordSets } = await sdk.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  return (ResourceRecordSets ?? []).filter((set) => set.Type !== "NS" && set.Type !== "SOA");
}
