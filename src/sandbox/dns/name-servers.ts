import { createSocket, type Socket } from "node:dgram";
import type { NameServer } from "../../providers/route53/port.js";
import { encodeReply, parseQuery, type Question, type Reply } from "./wire.js";

/**
 * The sandbox DNS's authoritative name servers: one UDP socket on loopback each, bound on first use (the
 * sandbox factory is synchronous) and unref'd, so a sandbox nobody asks over DNS opens no port and none keeps
 * a process alive. `answer` gives each server's reply from that server's own view of the zones.
 */
export class NameServerFleet {
  private sockets: Promise<Map<string, Socket>> | undefined;

  constructor(
    readonly hosts: readonly string[],
    private readonly answer: (host: string, question: Question) => Reply,
  ) {}

  /** Every server with its `127.0.0.1:port`, in host order. */
  async addresses(): Promise<NameServer[]> {
    const sockets = await (this.sockets ??= this.bind());
    return this.hosts.map((host) => {
      const socket = sockets.get(host);
      return socket
        ? { host, address: `127.0.0.1:${socket.address().port}` }
        : { host, problem: "not bound" };
    });
  }

  async close(): Promise<void> {
    const bound = this.sockets;
    this.sockets = undefined;
    if (!bound) return;
    const sockets = await bound;
    await Promise.all(
      [...sockets.values()].map((socket) => new Promise<void>((r) => socket.close(() => r()))),
    );
  }

  private async bind(): Promise<Map<string, Socket>> {
    const sockets = new Map<string, Socket>();
    for (const host of this.hosts) {
      const socket = createSocket("udp4");
      socket.on("message", (packet, remote) => {
        const question = parseQuery(packet);
        // Not a query we can read: drop it, as a server does with garbage; the client times out.
        if (!question) return;
        let reply: Buffer;
        try {
          reply = encodeReply(question, this.answer(host, question));
        } catch {
          reply = encodeReply(question, { rcode: "FORMERR" });
        }
        socket.send(reply, remote.port, remote.address);
      });
      // A stray ICMP error for a client that went away must not crash the sandbox.
      socket.on("error", () => undefined);
      await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
      socket.unref();
      sockets.set(host, socket);
    }
    return sockets;
  }
}
