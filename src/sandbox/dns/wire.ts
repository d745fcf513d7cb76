import { isIPv4, isIPv6 } from "node:net";

/**
 * Just enough of the DNS wire format (RFC 1035) for an authoritative server on loopback: one question in,
 * answers of type A, AAAA, CNAME or TXT out, the zone's SOA in the authority section of a negative answer
 * (RFC 2308), REFUSED for names of no zone of ours.
 */

export const TYPE_CODES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28 };
const TYPE_NAMES = new Map(Object.entries(TYPE_CODES).map(([name, code]) => [code, name]));

export interface Question {
  id: number;
  /** Lower-case, with a trailing dot. */
  name: string;
  /** `A`, `AAAA`…, or the number for a type we do not know. */
  type: string;
  recursionDesired: boolean;
  /** The question section as received, echoed in the reply. */
  raw: Buffer;
}

export interface WireRecord {
  type: string;
  ttl: number;
  value: string;
}

export type Reply =
  | { rcode: "NOERROR"; answers: WireRecord[]; soa?: { name: string; ttl: number; value: string } }
  | { rcode: "REFUSED" | "FORMERR" };

const RCODES = { NOERROR: 0, FORMERR: 1, REFUSED: 5 } as const;

/** The first question of a query; undefined when the packet is not one we can read. */
export function parseQuery(packet: Buffer): Question | undefined {
  if (packet.length < 12 || packet.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = packet[offset];
    if (length === undefined || length > 63) return undefined;
    offset += 1;
    if (length === 0) break;
    if (offset + length > packet.length) return undefined;
    labels.push(packet.subarray(offset, offset + length).toString("latin1"));
    offset += length;
  }
  if (offset + 4 > packet.length) return undefined;
  const code = packet.readUInt16BE(offset);
  return {
    id: packet.readUInt16BE(0),
    name: `${labels.join(".").toLowerCase()}.`,
    type: TYPE_NAMES.get(code) ?? String(code),
    recursionDesired: ((packet[2] ?? 0) & 0x01) === 1,
    raw: packet.subarray(12, offset + 4),
  };
}

/** The reply to `question`: authoritative, no recursion available. */
export function encodeReply(question: Question, reply: Reply): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(question.id, 0);
  // QR, AA; RD copied from the query; RA clear: this server does not recurse.
  const flags = 0x8400 | (question.recursionDesired ? 0x0100 : 0) | RCODES[reply.rcode];
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  const answers = reply.rcode === "NOERROR" ? reply.answers.map((r) => encodeRecord(question.name, r)) : [];
  const authority =
    reply.rcode === "NOERROR" && answers.length === 0 && reply.soa
      ? [encodeRecord(reply.soa.name, { type: "SOA", ttl: reply.soa.ttl, value: reply.soa.value })]
      : [];
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(authority.length, 8);
  return Buffer.concat([header, question.raw, ...answers, ...authority]);
}

function encodeRecord(name: string, record: WireRecord): Buffer {
  const data = encodeData(record);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_CODES[record.type] ?? 0, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(record.ttl >>> 0, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([encodeName(name), fixed, data]);
}

function encodeData(record: WireRecord): Buffer {
  switch (record.type) {
    case "A":
      if (!isIPv4(record.value)) throw new Error(`not an IPv4 address: ${record.value}`);
      return Buffer.from(record.value.split(".").map(Number));
    case "AAAA":
      if (!isIPv6(record.value)) throw new Error(`not an IPv6 address: ${record.value}`);
      return ipv6Bytes(record.value);
    case "CNAME":
    case "NS":
      return encodeName(record.value);
    case "TXT":
      return encodeTxt(record.value);
    case "SOA": {
      const [mname = ".", rname = ".", ...numbers] = record.value.trim().split(/\s+/);
      const counters = Buffer.alloc(20);
      numbers.slice(0, 5).forEach((n, i) => counters.writeUInt32BE(Number(n) >>> 0, i * 4));
      return Buffer.concat([encodeName(mname), encodeName(rname), counters]);
    }
    default:
      throw new Error(`cannot encode ${record.type} records`);
  }
}

/** Route 53 keeps TXT values quoted (`"a" "b"`): each quoted part is one character-string. */
function encodeTxt(value: string): Buffer {
  const parts = [...value.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
  const strings = parts.length > 0 ? parts : [value];
  return Buffer.concat(
    strings.map((part) => {
      const bytes = Buffer.from(part, "utf8").subarray(0, 255);
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    }),
  );
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([
    ...labels.map((label) => {
      const bytes = Buffer.from(label, "latin1");
      return Buffer.concat([Buffer.from([bytes.length]), bytes]);
    }),
    Buffer.from([0]),
  ]);
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail = ""] = address.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(head);
  const right = address.includes("::") ? groups(tail) : [];
  const missing = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(Math.max(0, missing)).fill("0"), ...right];
  const bytes = Buffer.alloc(16);
  all.slice(0, 8).forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16) || 0, i * 2));
  return bytes;
}
