/**
 * Child process of bounded-reads.test.ts: scans, verifies, serves a thumbnail and decodes for training a
 * dataset holding 1 GB sparse images, then prints what each step said and the process's peak RSS. Run in
 * its own process so that the peak RSS is this work's alone.
 */
import { join } from 'node:path';
import { openServices } from '../../src-main/db/open-home';
import { resolveMedia } from '../../src-main/datasets/media';
import { scanDataset } from '../../src-main/datasets/scan';
import { verifyDataset } from '../../src-main/datasets/verify';
import { decodeImage } from '../../src-main/training/decode';
import { ImageStore } from '../../src-main/training/image-store';

const [home, root, grown] = process.argv.slice(2);
const steps: Record<string, unknown> = {};
const services = openServices({ home });
const rows = () =>
  services.db.prepare('SELECT id, rel_path AS rel, status, reason FROM images ORDER BY rel_path').all() as {
    id: number;
    rel: string;
    status: string;
    reason: string | null;
  }[];
const message = async (fn: () => Promise<unknown>) => {
  try {
    await fn();
    return 'ok';
  } catch (err) {
    return (err as Error).message;
  }
};

async function main() {
  await scanDataset(services.db, { root, name: 'big', workers: 0 });
  steps.scan = rows();
  // Files that grew to 1 GB after the scan: the verify pass, the media route and training read them.
  for (const g of grown.split(',')) {
    const { truncateSync } = await import('node:fs');
    truncateSync(join(root, g), 1024 * 1024 * 1024);
  }
  const byRel = new Map(rows().map((r) => [r.rel, r]));
  steps.media = await message(() => resolveMedia(services, 'thumb', byRel.get('a/grow-media.jpg')!.id));
  steps.verify = await verifyDataset(services, 'big', { workers: 0 });
  steps.afterVerify = rows();
  const left: string[] = [];
  const store = await ImageStore.build(
    [{ id: 1, path: join(root, 'a', 'grow-train.jpg'), classIndex: 0, hash: null }],
    { inputSize: [8, 8], channels: 1, cacheDir: null, workers: 0, onCorrupt: (_it, reason) => left.push(reason) },
  );
  steps.train = { kept: store.items.length, corrupt: left };
  steps.predict = await message(() => decodeImage(join(root, 'a', 'big.jpg'), [8, 8], 1));
  steps.maxRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  process.stdout.write(JSON.stringify(steps));
  services.close();
}

main().catch((err) => {
  process.stderr.write(String((err as Error).stack ?? err));
  process.exit(1);
});
