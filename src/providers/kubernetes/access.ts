/**
 * SelfSubjectAccessReview (authorization.k8s.io/v1): the API server tells the caller whether it may do something,
 * by the same authorizers (RBAC, webhooks) that would judge the request itself. It is a question: the server
 * answers it in the response and stores nothing, so `plan` may ask it and still change nothing.
 */

export const ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/** What is asked: `verb` on `resource` (plural) of `group` (`""` for the core group), in `namespace` if any. */
export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

export interface AccessDecision {
  allowed: boolean;
  /** The authorizer's words, when it gave any (RBAC denies without a reason). */
  reason?: string;
}

export function accessReviewBody(attributes: ResourceAttributes): Record<string, unknown> {
  return {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: { resourceAttributes: { ...attributes } },
  };
}

/**
 * The decision in a review's answer: `status.allowed` is the verdict; `denied` only says whether an authorizer
 * denied outright rather than had no opinion, which comes to the same for us. Anything but `true` is a no.
 */
export function accessDecision(review: unknown): AccessDecision {
  const status = (review as { status?: { allowed?: unknown; reason?: unknown } } | undefined)?.status;
  const reason = typeof status?.reason === "string" && status.reason !== "" ? status.reason : undefined;
  return { allowed: status?.allowed === true, ...(reason === undefined ? {} : { reason }) };
}

/** `create serviceentries.networking.istio.io in namespace "istio-system"`. */
export function describeAccess(attributes: ResourceAttributes): string {
  const resource =
    attributes.group === "" ? attributes.resource : `${attributes.resource}.${attributes.group}`;
  return `${attributes.verb} ${resource}${attributes.namespace ? ` in namespace "${attributes.namespace}"` : ""}`;
}
