import { RuntimeError } from "../../engine/errors.js";

/** gRPC status codes by number, as google.rpc.Code names them; REST errors carry the same names in `error.status`. */
const CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

export function codeName(code: number | string | undefined): string {
  if (typeof code === "number") return CODE_NAMES[code] ?? `code ${code}`;
  return code ?? "UNKNOWN";
}

/** A failed Google API call, reduced to the canonical code and the API's message. */
export interface ApiFailure {
  code: string;
  message: string;
  cause: unknown;
}

/** What the caller was doing, for a message the user can act on. */
export interface CallInfo {
  /** `create cluster projects/p/locations/z/clusters/c`. */
  what: string;
  project: string;
  /** The IAM permission the call needs, and a predefined role that grants it. */
  permission: string;
  role: string;
  /** The API's host, for "enable the API" hints. */
  service: string;
}

/** Turns an API failure into a RuntimeError saying what failed and what to do about it. */
export function apiError(call: CallInfo, failure: ApiFailure): RuntimeError {
  const said = failure.message.trim();
  return new RuntimeError(`${call.what} failed: ${failure.code}: ${said}${hint(call, failure.code, said)}`, {
    cause: failure.cause,
  });
}

function hint(call: CallInfo, code: string, message: string): string {
  if (/has not been used|is disabled|SERVICE_DISABLED/i.test(message)) {
    return `\n  Enable the API: gcloud services enable ${call.service} --project ${call.project}`;
  }
  switch (code) {
    case "PERMISSION_DENIED":
      return (
        `\n  The caller needs the ${call.permission} permission on project ${call.project}` +
        ` (role ${call.role}), e.g.:` +
        `\n    gcloud projects add-iam-policy-binding ${call.project} --member=user:YOU --role=${call.role}`
      );
    case "UNAUTHENTICATED":
      return "\n  Sign in for Application Default Credentials: gcloud auth application-default login";
    case "RESOURCE_EXHAUSTED":
      return `\n  A quota is exhausted: see https://console.cloud.google.com/iam-admin/quotas?project=${call.project}`;
    case "UNAVAILABLE":
    case "DEADLINE_EXCEEDED":
      return `\n  ${call.service} could not be reached; check the network and retry (apply resumes).`;
    default:
      return "";
  }
}

/** Application Default Credentials missing: google-auth-library's own error has no code. */
export function credentialsError(call: CallInfo, error: Error): RuntimeError {
  return new RuntimeError(
    `${call.what} failed: no Google credentials (${error.message.split("\n")[0]})` +
      "\n  Sign in for Application Default Credentials: gcloud auth application-default login" +
      "\n  or set GOOGLE_APPLICATION_CREDENTIALS to a service account key file.",
    { cause: error },
  );
}

export function isCredentialsError(error: unknown): error is Error {
  return (
    error instanceof Error &&
    /default credentials|Could not load the default credentials/i.test(error.message)
  );
}
