import { openServices } from '../../src-main/core/services';
import { scanDataset } from '../../src-main/datasets/scan';
const s = openServices({ home: process.argv[2] });
const t0 = performance.now();
const r = await scanDataset(s.db, { root: '/tmp/mixup-bench-index/tree', workers: Number(process.argv[3]) });
console.log(r.images, r.added, r.unchanged, ((performance.now() - t0) / 1000).toFixed(2), JSON.stringify(process.resourceUsage().userCPUTime/1e6));
s.close();
