import { describe, expect, it } from "vitest";
import { serviceHosts } from "../../src/steps/shift-traffic/virtual-service.js";
import { formatMoves, shiftWeights, type VirtualService } from "../../src/steps/shift-traffic/weights.js";
import { fixtureObject, goldenPath, toYaml } from "./fixtures.js";

const REMOTE = "frontend.target.clustershift.internal";

/** The VirtualService with every weight and every remote destination taken out: what must never change. */
function skeleton(vs: VirtualService, remoteHost: string): VirtualService {
  const copy = structuredClone(vs);
  for (const route of copy.spec?.http ?? []) {
    route.route = (route.route ?? [])
      .filter((d) => d.destination.host !== remoteHost)
      .map(({ weight: _w, ...d }) => d);
  }
  return copy;
}

describe.each([
  {
    app: "online-boutique",
    file: "online-boutique/frontend-gateway.yaml",
    name: "frontend-ingress",
    namespace: "onlineboutique",
    service: "frontend",
    remoteHost: REMOTE,
    port: 80,
    details: ["frontend 100→90, target 0→10", "frontend 90→50, target 10→50", "frontend 50→0, target 50→100"],
  },
  {
    app: "bookinfo",
    file: "bookinfo/virtual-service-reviews-80-20.yaml",
    name: "reviews",
    namespace: "default",
    service: "reviews",
    remoteHost: "reviews.target.clustershift.internal",
    port: 9080,
    details: [
      "reviews/v1 80→72, reviews/v2 20→18, target 0→10",
      "reviews/v1 72→40, reviews/v2 18→10, target 10→50",
      "reviews/v1 40→0, reviews/v2 10→0, target 50→100",
    ],
  },
])(
  "Given $app's $name VirtualService",
  ({ app, file, name, namespace, service, remoteHost, port, details }) => {
    const original = fixtureObject(file, "VirtualService", name, namespace) as VirtualService;
    const target = (weight: number) => ({
      serviceHosts: serviceHosts(service, namespace, namespace),
      remoteHost,
      port,
      weight,
    });

    it("When shifted 10 → 50 → 100, Then each weight's VirtualService matches its golden file and nothing else moved", async () => {
      let current = original;
      for (const [i, weight] of [10, 50, 100].entries()) {
        const result = shiftWeights(current, target(weight));
        expect(result.modified).toBe(true);
        expect(formatMoves(result.moves)).toBe(details[i]);
        expect(skeleton(result.next, remoteHost)).toEqual(skeleton(original, remoteHost));
        await expect(toYaml(result.next)).toMatchFileSnapshot(goldenPath(`${app}-${name}-${weight}.yaml`));
        expect(shiftWeights(result.next, target(weight)).modified).toBe(false);
        current = result.next;
      }
    });
  },
);
