import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
sharp.concurrency(Number(process.env.C || 1)); sharp.cache(false);
const tiny = execSync('find /tmp/mixup-bench-index/tree/class-00 -name "*.jpg"').toString().trim().split('\n').slice(0, 300).map((f) => readFileSync(f));
const files = execSync('find /tmp/mixup-bench-verify/tree -name "*.jpg"').toString().trim().split('\n').slice(0, 300);
const bufs = files.map((f) => readFileSync(f));
const time = async (label, fn, bs = bufs) => { const t = performance.now(); for (const b of bs) await fn(b); console.log(label.padEnd(40), ((performance.now() - t) / bs.length).toFixed(2), 'ms/img'); };
const png = await Promise.all(bufs.slice(0, 100).map((b) => sharp(b).png({ compressionLevel: 1 }).toBuffer()));
const rawpx = await sharp(bufs[0]).raw().toBuffer();
for (let rep = 0; rep < 2; rep++) {
await time('tiny 28x28 jpeg raw', (b) => sharp(b).raw().toBuffer(), tiny);
await time('640 png raw', (b) => sharp(b).raw().toBuffer(), png);
await time('640 raw input -> raw', () => sharp(rawpx, { raw: { width: 640, height: 480, channels: 3 } }).raw().toBuffer(), bufs.slice(0, 100));
await time('640 jpeg raw', (b) => sharp(b).raw().toBuffer());
await time('640 jpeg toFormat jpeg', (b) => sharp(b).jpeg().toBuffer(), bufs.slice(0, 100));
}
