/** What install-ingress-gateway creates, in order: Google's asm-ingress gateway. */
export const GATEWAY_CREATES = [
  "create Namespace asm-ingress",
  "create ServiceAccount asm-ingress/asm-ingressgateway",
  "create Role asm-ingress/asm-ingressgateway",
  "create RoleBinding asm-ingress/asm-ingressgateway",
  "create Deployment asm-ingress/asm-ingressgateway",
  "create Service asm-ingress/asm-ingressgateway",
  "create Gateway asm-ingress/asm-ingressgateway",
];

/** Its plan: the creates, then the rollout and the external address waited for. */
export const GATEWAY_PLAN = [
  ...GATEWAY_CREATES,
  "wait rollout Deployment asm-ingress/asm-ingressgateway",
  "wait external address Service asm-ingress/asm-ingressgateway",
];
