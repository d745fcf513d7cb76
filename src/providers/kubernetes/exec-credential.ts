import { spawn } from "node:child_process";
import type { KubeConfig, User } from "@kubernetes/client-node";
import { RuntimeError } from "../../engine/errors.js";
import { formatDuration } from "../../playbook/duration.js";

/** How long a credential plugin (gke-gcloud-auth-plugin, aws eks get-token, kubelogin) may take to answer. */
export const EXEC_TIMEOUT_MS = 30_000;
/** Of a failing plugin's stderr, the tail is what says why. */
const STDERR_TAIL = 600;

interface ExecConfig {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[];
  apiVersion?: string;
}

interface ExecCredential {
  status?: {
    token?: string;
    clientCertificateData?: string;
    clientKeyData?: string;
    expirationTimestamp?: string;
  };
}

/**
 * Runs a kubeconfig `users[].exec` credential plugin in place of the library's ExecAuth, which waits for the
 * plugin forever (a hanging plugin hung plan and apply), cannot be stopped by Ctrl-C or SIGTERM, and reports a
 * plugin that fails silently with an empty message. Here the plugin gets `timeoutMs`, is killed when the run's
 * signal aborts, and a failure names the plugin, the context, the exit status and the end of its stderr.
 */
export class ExecCredentials {
  private cached: { credential: ExecCredential; expires: number } | undefined;

  constructor(
    private readonly context: string,
    private readonly timeoutMs = EXEC_TIMEOUT_MS,
    private readonly signal?: AbortSignal,
  ) {}

  /** Puts this in place of the library's exec authenticator of `config` (a KubeConfig of one cluster). */
  install(config: KubeConfig): void {
    // The list is private in the library's types; it is a plain array consulted in order on every request.
    const list = (config as unknown as { authenticators?: unknown[] }).authenticators;
    if (!Array.isArray(list)) return;
    const index = list.findIndex(
      (a) => (a as { constructor?: { name?: string } }).constructor?.name === "ExecAuth",
    );
    if (index >= 0) list[index] = this;
    else list.unshift(this);
  }

  isAuthProvider(user: User | undefined | null): boolean {
    return execOf(user) !== undefined;
  }

  async applyAuthentication(
    user: User,
    opts: { headers?: Record<string, unknown>; cert?: unknown; key?: unknown },
  ) {
    const exec = execOf(user);
    if (!exec) return;
    const status = (await this.credential(user.name, exec)).status ?? {};
    if (status.clientCertificateData) opts.cert = status.clientCertificateData;
    if (status.clientKeyData) opts.key = status.clientKeyData;
    if (status.token) {
      opts.headers ??= {};
      opts.headers.Authorization = `Bearer ${status.token}`;
    }
  }

  private async credential(user: string, exec: ExecConfig): Promise<ExecCredential> {
    if (this.cached && this.cached.expires > Date.now()) return this.cached.credential;
    const credential = await this.run(user, exec);
    const expires = Date.parse(credential.status?.expirationTimestamp ?? "");
    // Without an expiry the plugin decides each time (kubectl runs it again too).
    this.cached = Number.isNaN(expires) ? undefined : { credential, expires };
    return credential;
  }

  private run(user: string, exec: ExecConfig): Promise<ExecCredential> {
    const command = exec.command ?? "";
    const who = `credential plugin "${command}" of user "${user}" (context "${this.context}")`;
    if (command === "")
      return Promise.reject(new RuntimeError(`${who}: the kubeconfig's exec entry names no command`));
    this.signal?.throwIfAborted();
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const { name, value } of exec.env ?? []) env[name] = value;
    // What kubectl tells a plugin: no terminal to ask on, so it must not prompt.
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      spec: { interactive: false },
    });
    return new Promise((resolve, reject) => {
      const child = spawn(command, exec.args ?? [], { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let failure: Error | undefined;
      child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
      child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
      const stop = (error: Error) => {
        failure ??= error;
        child.kill("SIGKILL");
      };
      const timer = setTimeout(
        () =>
          stop(
            new RuntimeError(
              `${who} gave no credential within ${formatDuration(this.timeoutMs)} and was stopped; ` +
                `run \`${[command, ...(exec.args ?? [])].join(" ")}\` by hand to see what it waits for (a login, a network)`,
            ),
          ),
        this.timeoutMs,
      );
      const onAbort = () => stop(this.signal?.reason as Error);
      this.signal?.addEventListener("abort", onAbort, { once: true });
      child.on("error", (error: NodeJS.ErrnoException) => {
        failure ??=
          error.code === "ENOENT"
            ? new RuntimeError(
                `${who} was not found: install it or put it on PATH (PATH=${env.PATH ?? ""})`,
                {
                  cause: error,
                },
              )
            : new RuntimeError(`${who} could not be started: ${error.message}`, { cause: error });
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        this.signal?.removeEventListener("abort", onAbort);
        if (failure) return reject(failure);
        const said = tail(stderr);
        if (code !== 0) {
          const how = code === null ? `was killed by ${signal ?? "a signal"}` : `exited with status ${code}`;
          return reject(
            new RuntimeError(
              `${who} ${how}: ${said || "(it wrote nothing on stderr)"}; ` +
                "fix its login or configuration, or the kubeconfig's users[].exec entry",
            ),
          );
        }
        try {
          const credential = JSON.parse(stdout) as ExecCredential;
          if (
            typeof credential !== "object" ||
            credential === null ||
            typeof credential.status !== "object"
          ) {
            throw new Error("no status in it");
          }
          resolve(credential);
        } catch (error) {
          reject(
            new RuntimeError(
              `${who} did not print an ExecCredential (${(error as Error).message})` +
                `${said ? `; its stderr: ${said}` : ""}`,
              { cause: error },
            ),
          );
        }
      });
    });
  }
}

function execOf(user: User | undefined | null): ExecConfig | undefined {
  if (!user) return undefined;
  const exec = (user.exec ??
    (user.authProvider as { config?: { exec?: unknown } } | undefined)?.config?.exec) as
    ExecConfig | undefined;
  return exec ?? undefined;
}

function tail(text: string): string {
  const trimmed = text.trim().replace(/\s*\n\s*/g, " | ");
  return trimmed.length > STDERR_TAIL ? `…${trimmed.slice(-STDERR_TAIL)}` : trimmed;
}
