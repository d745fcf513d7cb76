import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/engine/errors.js";
import type { KubeObject } from "../../src/providers/kubernetes/port.js";
import { SUBSTRATES } from "../support/clusters.js";
import { goldenPath, toStoredYaml } from "./fixtures.js";
import {
  Driver,
  ingressAddress,
  names,
  normalizeAddress,
  seed,
  seedFixture,
  seedSourceService,
  seedTargetIngress,
  stored,
  targetIngressObjects,
  trafficPlaybook,
  useWorld,
  type World,
} from "./world.js";

/**
 * What expose-target and shift-traffic refuse before any write (issue 12), and the source mesh's mutual TLS,
 * on both substrates: the playbook path in every error, nothing written, and a DestinationRule only where Istio
 * would send the remote host mutual TLS.
 */

const ONLINE_BOUTIQUE = {
  gateway: "onlineboutique/frontend-gateway",
  namespace: "onlineboutique",
  service: "frontend",
  port: 80,
};

const ISTIO = "networking.istio.io/v1";
const DR_REF = {
  apiVersion: ISTIO,
  kind: "DestinationRule",
  namespace: "istio-system",
  name: "clustershift-frontend-remote",
};

async function onlineBoutique(w: World): Promise<World> {
  await seedSourceService(w, "onlineboutique", "frontend");
  await seedFixture(w, "source", "online-boutique/frontend-gateway.yaml", "onlineboutique");
  await seedTargetIngress(w, "onlineboutique");
  await ingressAddress(w);
  return w;
}

/** The error a plan fails with, or undefined. */
async function planError(driver: Driver, id: string): Promise<unknown> {
  return driver.plan(id).then(
    () => undefined,
    (error: unknown) => error,
  );
}

/** Nothing of clustershift's on either cluster: every Istio networking object there is the test's own. */
async function nothingWritten(w: World): Promise<void> {
  for (const kind of ["VirtualService", "ServiceEntry", "DestinationRule"]) {
    for (const client of [w.source, w.target]) {
      const objects = await client.list(ISTIO, kind);
      expect(
        objects.filter((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "clustershift"),
        kind,
      ).toEqual([]);
    }
  }
}

function gateway(servers: Record<string, unknown>[]): KubeObject {
  const base = targetIngressObjects().find((o) => o.kind === "Gateway") as KubeObject;
  return { ...base, spec: { ...(base.spec as object), servers } };
}

const TIMEOUT = { sandbox: 60_000, "real kube-apiserver": 180_000 } as const;

describe.each(SUBSTRATES)("expose-target's checks and the source's mutual TLS on %s", (substrate) => {
  const world = useWorld(substrate);
  const timeout = TIMEOUT[substrate];

  it(
    "Given traffic.service names a Service the source does not have, When planned, Then both steps fail naming spec.traffic.service and no clustershift-<typo>-split is proposed",
    async () => {
      const w = await onlineBoutique(world());
      const driver = new Driver(w, trafficPlaybook({ ...ONLINE_BOUTIQUE, service: "frontnd" }));
      const line =
        'spec.traffic.service: Service "frontnd" not found in namespace "onlineboutique" on context "source"';
      for (const id of ["expose-target", "shift-traffic[1]"]) {
        const error = await planError(driver, id);
        expect(error, id).toBeInstanceOf(UsageError);
        expect((error as UsageError).lines, id).toEqual([line]);
      }
      await expect(driver.planAll()).rejects.toThrow(line);
      await nothingWritten(w);
    },
    timeout,
  );

  it(
    "Given traffic.port is not a port of the Service, When planned, Then it fails naming spec.traffic.port and the ports the Service has",
    async () => {
      const w = await onlineBoutique(world());
      const driver = new Driver(w, trafficPlaybook({ ...ONLINE_BOUTIQUE, port: 8080 }));
      await expect(planError(driver, "expose-target")).resolves.toMatchObject({
        lines: [
          'spec.traffic.port: Service "frontend" in namespace "onlineboutique" on context "source" has no port 8080 (its ports: 80)',
        ],
      });
    },
    timeout,
  );

  it.each([
    {
      given: "no target Gateway",
      gateway: undefined,
      line: 'spec.target.ingress.gateway: Gateway asm-ingress/asm-ingressgateway not found on context "target"',
    },
    {
      given: "a target Gateway with only an HTTPS server",
      gateway: gateway([
        {
          port: { number: 443, name: "https", protocol: "HTTPS" },
          hosts: ["*"],
          tls: { mode: "SIMPLE", credentialName: "shop-cert" },
        },
      ]),
      line: 'spec.target.ingress.gateway: Gateway asm-ingress/asm-ingressgateway has no HTTP server (context "target")',
    },
    {
      given: "a target Gateway serving HTTP on a port its Service does not expose",
      gateway: gateway([{ port: { number: 9090, name: "http", protocol: "HTTP" }, hosts: ["*"] }]),
      line:
        "spec.target.ingress.gateway: Gateway asm-ingress/asm-ingressgateway serves HTTP on 9090, but Service " +
        "asm-ingress/asm-ingressgateway has no port 9090 and no port with targetPort 9090 (its ports: 80→8080) " +
        '(context "target")',
    },
  ])(
    "Given $given, When expose-target is planned, Then it fails naming spec.target.ingress.gateway and nothing is written",
    async ({ gateway: replacement, line }) => {
      const w = await onlineBoutique(world());
      await w.target.delete({
        apiVersion: ISTIO,
        kind: "Gateway",
        namespace: "asm-ingress",
        name: "asm-ingressgateway",
      });
      if (replacement) await seed(w, "target", [replacement]);
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      await expect(planError(driver, "expose-target")).resolves.toMatchObject({ lines: [line] });
      // apply observes the same way before its first write.
      await expect(driver.run("expose-target")).rejects.toThrow(line);
      await nothingWritten(w);
    },
    timeout,
  );

  it(
    "Given a mesh-wide DestinationRule (host *, ISTIO_MUTUAL) on the source, When exposed, Then a DestinationRule disables TLS for the remote host in the gateway's namespace, the plan says why, and rollback deletes it",
    async () => {
      const w = await onlineBoutique(world());
      await seedFixture(w, "source", "online-boutique/frontend-gateway.yaml", "onlineboutique");
      await seed(w, "source", [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } },
        {
          apiVersion: ISTIO,
          kind: "DestinationRule",
          metadata: { name: "default", namespace: "istio-system" },
          spec: { host: "*", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
        },
      ]);
      const driver = new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE));
      const { text } = await driver.planAll();
      expect(text).toContain(
        "+ [source] DestinationRule istio-system/clustershift-frontend-remote  " +
          "frontend.target.clustershift.internal tls.mode DISABLE; DestinationRule istio-system/default " +
          '(host "*") would make the source gateway send ISTIO_MUTUAL',
      );
      await driver.run("expose-target");
      const dr = await stored(w.source, DR_REF);
      await expect(normalizeAddress(toStoredYaml(dr), await ingressAddress(w))).toMatchFileSnapshot(
        goldenPath("expose-target-destinationrule.yaml"),
      );
      await driver.rollback();
      expect(await stored(w.source, DR_REF)).toBeUndefined();
      expect(await names(w.source, ISTIO, "DestinationRule")).toEqual(["istio-system/default"]);
    },
    timeout,
  );

  it(
    "Given a mesh-wide STRICT PeerAuthentication and no DestinationRule on the source, When planned, Then no DestinationRule is proposed and the plan says why",
    async () => {
      const w = await onlineBoutique(world());
      const pa = {
        apiVersion: "security.istio.io/v1",
        kind: "PeerAuthentication",
        metadata: { name: "default", namespace: "istio-system" },
        spec: { mtls: { mode: "STRICT" } },
      };
      await seed(w, "source", [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } },
        pa,
      ]);
      try {
        const plan = await new Driver(w, trafficPlaybook(ONLINE_BOUTIQUE)).plan("expose-target");
        expect(plan.changes.map((c) => c.address)).toEqual([
          "VirtualService onlineboutique/clustershift-frontend-ingress",
          "ServiceEntry onlineboutique/clustershift-frontend-remote",
        ]);
        expect(plan.changes[1]?.detail).toContain(
          "plain HTTP, no DestinationRule needed: no DestinationRule sets TLS for it; PeerAuthentication " +
            "istio-system/default (mesh-wide STRICT) says what the source's workloads accept, not what the " +
            "gateway sends to a MESH_EXTERNAL host",
        );
      } finally {
        await w.source.delete({
          apiVersion: pa.apiVersion,
          kind: pa.kind,
          namespace: "istio-system",
          name: "default",
        });
      }
    },
    timeout,
  );
});
