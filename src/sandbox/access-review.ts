import { isObject, type Json, type JsonObject } from "./json.js";
import { badRequest } from "./status.js";

export const ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

/**
 * The answer to a SelfSubjectAccessReview, shaped as the real kube-apiserver's (201, the review echoed with
 * `status.allowed`). The sandbox has no authorization: every token may do everything, so every review is allowed.
 * Like the real server's, it stores nothing.
 */
export function answerAccessReview(body: Json | undefined): JsonObject {
  const spec = isObject(body) && isObject(body["spec"]) ? body["spec"] : undefined;
  if (!spec || (!isObject(spec["resourceAttributes"]) && !isObject(spec["nonResourceAttributes"]))) {
    throw badRequest(
      'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  }
  return {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: {},
    spec,
    status: { allowed: true, reason: "the sandbox authorizes every request" },
  };
}
