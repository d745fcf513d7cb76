import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A control-plane service mounted on every sandbox cluster port under `/sandbox/v1/<prefix>/`,
 * behind the same bearer token (the sandbox DNS provider is one).
 */
export interface SandboxExtension {
  /** Path segment after `/sandbox/v1/`, e.g. `dns`. */
  readonly prefix: string;
  /** `path` is what follows `/sandbox/v1/<prefix>`; `body` the parsed JSON body, if any. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, body: unknown): Promise<void>;
}
