import type { Reporter, TestModule } from "vitest/node";

/** Ends the run with how many tests a real control plane judged (their names carry the substrate). */
export default class SubstrateReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const counts = { "real kube-apiserver": [0, 0], istioctl: [0, 0] };
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        for (const [judge, count] of Object.entries(counts)) {
          if (!test.fullName.includes(judge)) continue;
          count[0]! += 1;
          if (test.result().state === "passed") count[1]! += 1;
        }
      }
    }
    const [real, realPassed] = counts["real kube-apiserver"];
    const [istio, istioPassed] = counts.istioctl;
    process.stdout.write(
      `\njudged by real oracles: ${real} tests against a real kube-apiserver (${realPassed} passed), ` +
        `${istio} by istioctl (${istioPassed} passed)\n`,
    );
  }
}
