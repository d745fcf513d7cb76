import { RuntimeError } from "../../engine/errors.js";

/** The kubeconfig has no context of that name. Callers planning against a cluster that a later step creates catch it. */
export class ContextNotFoundError extends RuntimeError {
  constructor(
    readonly context: string,
    readonly available: string[],
    where: string,
  ) {
    super(
      `kubeconfig context "${context}" not found in ${where}; available: ${available.length > 0 ? available.join(", ") : "(none)"}. ` +
        "Fix the context's name in the playbook, or point KUBECONFIG at the file that has it (`kubectl config get-contexts` lists them)",
    );
  }
}

/** An API call failed with an HTTP status; `reason` is the Status reason (NotFound, AlreadyExists, Conflict…). */
export class KubeApiError extends RuntimeError {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | undefined,
    options?: ErrorOptions,
    /** Tries it took; above 1 an earlier try may have been carried out although its answer was lost. */
    readonly attempts = 1,
  ) {
    super(message, options);
  }
}

export function isApiStatus(error: unknown, status: number): error is KubeApiError {
  return error instanceof KubeApiError && error.status === status;
}
