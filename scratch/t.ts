import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { normalisedThumb } from '../src-main/curation/near-duplicates';
import { mapLimit } from '../src-main/core/map-limit';
const root = '/tmp/x/fm-3000';
const files = readdirSync(root).flatMap((c) => readdirSync(join(root, c)).map((f) => join(root, c, f)));
(async () => {
  for (const lim of [1, 4, 8]) { const t = performance.now(); await mapLimit(files, lim, normalisedThumb); console.log(lim, (performance.now() - t) / files.length, 'ms/img'); }
})();
