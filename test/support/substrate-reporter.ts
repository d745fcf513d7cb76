import type { Reporter, TestModule } from "vitest/node";

/** Judges nobody here wrote, and the words that name them in test names. */
const JUDGES = {
  "a real kube-apiserver": ["real kube-apiserver"],
  "Istio's own code (istioctl analyze, istio-route-sim)": ["istioctl", "istio-route-sim"],
} as const;

/** Ends the run with how many tests each real oracle judged (test names carry the judge). */
export default class SubstrateReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const lines = Object.entries(JUDGES).map(([judge, words]) => {
      let ran = 0;
      let passed = 0;
      for (const module of testModules) {
        for (const test of module.children.allTests()) {
          if (!words.some((word) => test.fullName.includes(word))) continue;
          ran += 1;
          if (test.result().state === "passed") passed += 1;
        }
      }
      return `  ${ran} tests judged by ${judge} (${passed} passed)`;
    });
    process.stdout.write(`\nreal oracles:\n${lines.join("\n")}\n`);
  }
}
