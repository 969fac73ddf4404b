import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Services } from '../../src-main/core/services';
import { openServices } from '../../src-main/db/open-home';

/** A fresh temp folder, removed by the returned cleanup. */
export function tempDir(prefix = 'mixup-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Real services over a real SQLite file in a temp home. */
export function tempServices(): Services & { cleanup(): void } {
  const t = tempDir('mixup-home-');
  const services = openServices({ home: t.dir });
  return Object.assign(services, {
    cleanup() {
      services.close();
      t.cleanup();
    },
  });
}

/** tempServices() whose cleanup joins a test file's list (the file runs the list in afterAll/afterEach). */
export function tempServicesIn(cleanups: (() => void)[]): Services & { cleanup(): void } {
  const s = tempServices();
  cleanups.push(s.cleanup);
  return s;
}

/** An OpContext for calling operations directly in tests, with the events it received. */
export function testContext(services: Services) {
  const events: { topic: string; data: unknown }[] = [];
  const controller = new AbortController();
  return {
    ctx: { services, signal: controller.signal, emit: (topic: string, data: unknown) => events.push({ topic, data }) },
    events,
    controller,
  };
}
