import sharp from 'sharp';
import { readFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
sharp.concurrency(1); sharp.cache(false);
const files = execSync('find /tmp/mixup-bench-verify/tree -name "*.jpg"').toString().trim().split('\n').slice(0, 300);
const bufs = files.map((f) => readFileSync(f));
const time = async (label, fn, bs = bufs) => { const t = performance.now(); for (const b of bs) await fn(b); console.log(label.padEnd(40), ((performance.now() - t) / bs.length).toFixed(2), 'ms/img'); };
const smooth = await Promise.all(bufs.slice(0, 100).map((b) => sharp(b).blur(3).jpeg({ quality: 85 }).toBuffer()));
console.log('sizes', bufs[0].length, smooth[0].length);
for (let rep = 0; rep < 2; rep++) {
await time('resize to 80 (shrink 8)', (b) => sharp(b).resize(80, 80, { fit: 'inside' }).raw().toBuffer());
await time('resize to 160 (shrink 4)', (b) => sharp(b).resize(160, 160, { fit: 'inside' }).raw().toBuffer());
await time('resize to 320 (shrink 2)', (b) => sharp(b).resize(320, 320, { fit: 'inside' }).raw().toBuffer());
await time('full raw', (b) => sharp(b).raw().toBuffer());
await time('smooth full raw', (b) => sharp(b).raw().toBuffer(), smooth);
await time('smooth to 80', (b) => sharp(b).resize(80, 80, { fit: 'inside' }).raw().toBuffer(), smooth);
await time('toColourspace b-w full', (b) => sharp(b).greyscale().raw().toBuffer());
}
