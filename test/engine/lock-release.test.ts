import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/engine/errors.js";
import { promote } from "../../src/engine/executor.js";
import { LocalJournalStore } from "../../src/engine/journal/local-store.js";
import type { JournalStore } from "../../src/engine/journal/store.js";
import { Registry } from "../../src/engine/registry.js";
import { RunHarness } from "../support/harness.js";
import { testPlaybook } from "../support/step-harness.js";
import { useTempDir } from "../support/temp.js";

/** A local store whose lock cannot be released, as on a disk that went read-only during the run. */
function unreleasableLock(inner: JournalStore): JournalStore {
  return Object.assign(Object.create(inner) as JournalStore, {
    async lock(...args: Parameters<JournalStore["lock"]>) {
      await inner.lock(...args);
      return {
        release: () =>
          Promise.reject(
            Object.assign(new Error("EROFS: read-only file system, unlink '.clustershift/x/lock.json'"), {
              code: "EROFS",
            }),
          ),
      };
    },
  });
}

describe("lock release", () => {
  const dir = useTempDir("lock-release");

  it("Given a lock that cannot be released, When the command fails, Then its own error is what is thrown and the release failure is a warning beside it", async () => {
    const playbook = testPlaybook();
    const { engine, events } = new RunHarness(new Registry(), playbook, {
      options: { stateDir: dir() },
      store: unreleasableLock(new LocalJournalStore(dir(), playbook.metadata.name)),
    });

    const failure = await promote(engine).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(UsageError);
    expect((failure as Error).message).toBe("nothing to promote: the run is not started");
    expect(events).toContainEqual({
      type: "warn",
      message:
        "could not release the lock: EROFS: read-only file system, unlink '.clustershift/x/lock.json': " +
        "the file system is read-only: give --state-dir (or CLUSTERSHIFT_STATE_DIR) a directory on a writable disk",
    });
  });

  it("Given a lock that cannot be released, When the command succeeded, Then the release failure is the error", async () => {
    const playbook = testPlaybook();
    const store = new LocalJournalStore(dir(), `${playbook.metadata.name}-ok`);
    await store.append({
      seq: 1,
      time: "2026-11-27T00:00:00.000Z",
      type: "run-started",
      playbook: "x",
      pid: 1,
      host: "h",
    });
    await store.append({
      seq: 2,
      time: "2026-11-27T00:00:01.000Z",
      type: "gate",
      step: "shift-traffic[1]",
      address: "shift-traffic[1]/approval",
      state: "waiting",
    });
    const { engine } = new RunHarness(new Registry(), playbook, {
      options: { stateDir: dir() },
      store: unreleasableLock(store),
    });

    await expect(promote(engine)).rejects.toThrow("EROFS: read-only file system");
  });
});
