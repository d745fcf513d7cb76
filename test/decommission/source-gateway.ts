import { createServer, type Server } from "node:http";
import { closeServer, listenOnLoopback } from "../support/net.js";

/** The labels Envoy in an Istio ingress gateway puts on the requests it reports. */
export const GATEWAY_LABELS =
  'reporter="source",source_workload="istio-ingressgateway",source_workload_namespace="istio-system"';

/** The source gateway's request rate over 3 s: Prometheus scrapes every second in these tests. */
export const GATEWAY_RATE = `sum(rate(istio_requests_total{${GATEWAY_LABELS}}[3s]))`;

/**
 * The source ingress gateway's request counter as Envoy serves it (`/stats/prometheus`): every scrape adds
 * `perScrape` requests, so the test sets the rate Prometheus (or a direct scrape) sees.
 */
export class SourceGatewayStats {
  perScrape = 0;
  private total = 0;
  private server: Server | undefined;
  url = "";

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      if (req.url !== "/stats/prometheus") return void res.writeHead(404).end();
      this.total += this.perScrape;
      res
        .writeHead(200, { "content-type": "text/plain; version=0.0.4" })
        .end(
          [
            "# TYPE istio_requests_total counter",
            `istio_requests_total{${GATEWAY_LABELS},response_code="200"} ${this.total}`,
            `istio_requests_total{reporter="destination",source_workload="other",response_code="200"} 99`,
            "",
          ].join("\n"),
        );
    });
    const port = await listenOnLoopback(this.server);
    this.url = `http://127.0.0.1:${port}/stats/prometheus`;
    return `127.0.0.1:${port}`;
  }

  stop(): Promise<void> {
    return closeServer(this.server);
  }
}
