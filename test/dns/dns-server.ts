import { createSocket } from "node:dgram";
import { isIPv4 } from "node:net";

export interface FakeAnswer {
  values: string[];
  ttl: number;
}

export interface FakeDns {
  /** `127.0.0.1:port`, for Resolver.setServers. */
  server: string;
  queries: string[];
  close(): Promise<void>;
}

const TYPES: Record<number, string> = { 1: "A", 5: "CNAME" };
const CODES: Record<string, number> = { A: 1, CNAME: 5 };

/**
 * A tiny authoritative DNS server on UDP loopback: answers A and CNAME questions from `lookup`
 * (NODATA when it returns nothing), so verification can query "the zone's name servers" in a test.
 */
export async function startFakeDns(
  lookup: (name: string, type: string) => Promise<FakeAnswer | undefined>,
): Promise<FakeDns> {
  const socket = createSocket("udp4");
  const queries: string[] = [];
  socket.on("message", (message, remote) => {
    void (async () => {
      const { name, qtype, questionEnd } = parseQuestion(message);
      const type = TYPES[qtype] ?? String(qtype);
      queries.push(`${name} ${type}`);
      const answer = TYPES[qtype] ? await lookup(name, type) : undefined;
      socket.send(response(message, questionEnd, type, answer), remote.port, remote.address);
    })();
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A loopback UDP port nobody listens on: queries to it fail with ECONNREFUSED at once. */
export async function closedUdpPort(): Promise<string> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

function parseQuestion(message: Buffer): { name: string; qtype: number; questionEnd: number } {
  const labels: string[] = [];
  let offset = 12;
  for (let length = message[offset] ?? 0; length > 0; length = message[offset] ?? 0) {
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString("ascii"));
    offset += length + 1;
  }
  offset += 1;
  return {
    name: `${labels.join(".").toLowerCase()}.`,
    qtype: message.readUInt16BE(offset),
    questionEnd: offset + 4,
  };
}

function response(query: Buffer, questionEnd: number, type: string, answer: FakeAnswer | undefined): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  const recursionDesired = (query[2] ?? 0) & 0x01;
  header.writeUInt16BE(0x8400 | (recursionDesired << 8), 2);
  header.writeUInt16BE(1, 4);
  const records = (answer?.values ?? []).map((value) => resourceRecord(type, value, answer?.ttl ?? 0));
  header.writeUInt16BE(records.length, 6);
  return Buffer.concat([header, query.subarray(12, questionEnd), ...records]);
}

function resourceRecord(type: string, value: string, ttl: number): Buffer {
  const data = type === "A" && isIPv4(value) ? Buffer.from(value.split(".").map(Number)) : encodeName(value);
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0);
  fixed.writeUInt16BE(CODES[type] ?? 1, 2);
  fixed.writeUInt16BE(1, 4);
  fixed.writeUInt32BE(ttl, 6);
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".");
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")])),
    Buffer.from([0]),
  ]);
}
