import type { KubeObject } from "../../providers/kubernetes/port.js";
import { resolveGateway } from "../shift-traffic/virtual-service.js";
import { groupOf } from "./kinds.js";

/**
 * Gateways that selected the source's ingress gateway are left out of the mirror, not re-pointed at the target's.
 *
 * On the target such a Gateway (`selector: {istio: ingressgateway}`) selects nothing: the installed gateway's pods
 * carry labels of their own (`asm: ingressgateway`, as Google's asm-ingress has them), so istioctl reports it
 * (IST0101) and it configures nothing. Re-pointed at the target gateway's pods, it would add a second `*` server
 * on the same port to the target gateway's own Gateway, which istioctl reports as conflicting (IST0145,
 * ConflictingGateways, an error; test/mirror/gateways.test.ts shows it), and the app's routes would be served
 * twice on one listener. Google's migration guide does what is left: on the
 * target the app is reached through the target gateway's own Gateway only, with VirtualServices bound to it
 * (expose-target writes them, with the app's route table). VirtualServices bound only to left-out Gateways are
 * left out with them (bound to a Gateway that is not there, istioctl reports them, IST0101); those also bound
 * elsewhere (`mesh`) keep their other bindings.
 */

/** `namespace/name` of a Gateway, as VirtualServices refer to it once resolved. */
export function gatewayKey(gateway: Pick<KubeObject, "metadata">): string {
  return `${gateway.metadata.namespace ?? "default"}/${gateway.metadata.name}`;
}

export function isIstio(object: Pick<KubeObject, "apiVersion" | "kind">, kind: string): boolean {
  return object.kind === kind && groupOf(object.apiVersion) === "networking.istio.io";
}

/** Whether an Istio Gateway selects a pod with `podLabels` (every label of its selector there; none selects all). */
export function selectsPods(gateway: KubeObject, podLabels: Record<string, string>): boolean {
  const selector = (gateway.spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
  const required = Object.entries(selector);
  return required.length > 0 && required.every(([key, value]) => podLabels[key] === value);
}

export type Rebinding =
  | { action: "keep"; object: KubeObject }
  | { action: "rebind"; object: KubeObject; dropped: string[] }
  | { action: "leave-out"; dropped: string[] };

/** A VirtualService without its bindings to `leftOut` Gateways (`namespace/name`). */
export function rebindVirtualService(vs: KubeObject, leftOut: ReadonlySet<string>): Rebinding {
  const spec = vs.spec as { gateways?: string[] } | undefined;
  const refs = spec?.gateways ?? [];
  // No gateways: the mesh's sidecars only.
  const isLeftOut = (ref: string) =>
    ref !== "mesh" && leftOut.has(resolveGateway(ref, vs.metadata.namespace));
  const dropped = refs.filter(isLeftOut);
  if (dropped.length === 0) return { action: "keep", object: vs };
  const kept = refs.filter((ref) => !isLeftOut(ref));
  if (kept.length === 0) return { action: "leave-out", dropped };
  return { action: "rebind", object: { ...vs, spec: { ...spec, gateways: kept } }, dropped };
}
