import { readFileSync } from "node:fs";
import type { Server as HttpServer } from "node:http";
import { connect, createServer, type AddressInfo, type Server } from "node:net";

/** Starts `server` on a free loopback port; resolves with the port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return (server.address() as AddressInfo).port;
}

const handedOut = new Set<number>();

/**
 * A loopback port that was free a moment ago: for a server process to listen on, or where nothing listens.
 * Drawn below the kernel's ephemeral range (net.ipv4.ip_local_port_range), so no outgoing connection can take it
 * between this check and the server's bind (a port from listen(0) is an ephemeral one, and an etcd once lost its
 * port that way); never the same port twice in one process.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
    if (handedOut.has(port)) continue;
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (!free) continue;
    await new Promise((resolve) => server.close(resolve));
    handedOut.add(port);
    return port;
  }
  throw new Error("no free loopback port below the ephemeral range after 200 tries");
}

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return low > 10_100 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Whether something accepts connections on the loopback `port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Stops an HTTP server, dropping its kept-alive connections rather than waiting for them. */
export async function closeServer(server: HttpServer | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
