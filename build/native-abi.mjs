#!/usr/bin/env node
// Keeps two builds of the ABI-specific native addons (better-sqlite3: a V8 addon, not N-API) in one
// node_modules: the Node build (the CLI, `serve`, the tests) and the Electron build (the desktop app).
// Both live in node_modules/.cache/mixup-native/<runtime>/; the one in place is swapped as needed.
//
//   node build/native-abi.mjs rebuild-electron   build the Electron copy once (needs Electron's headers
//                                                 or prebuilt binaries from the network), keep Node's in place
//   node build/native-abi.mjs run -- CMD...       run CMD (electron-vite dev/preview) with the Electron build
//                                                 in place, then put the Node build back
//   node build/native-abi.mjs package -- ARGS...  electron-builder ARGS (it rebuilds for Electron in place),
//                                                 then put the Node build back
//   node build/native-abi.mjs status
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// MIXUP_NATIVE_ROOT: another project folder (the tests point it at a scratch copy).
const root = process.env.MIXUP_NATIVE_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(root, 'node_modules');
const cache = join(modules, '.cache', 'mixup-native');
const electronVersion = (() => {
  try {
    return JSON.parse(readFileSync(join(modules, 'electron', 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
})();
const TAGS = { node: `node-abi${process.versions.modules}`, electron: `electron-${electronVersion}` };

/** The addon binaries of packages built with node-gyp (binding.gyp + build/Release/*.node). */
function addonFiles() {
  const files = [];
  const visit = (pkgDir) => {
    const release = join(pkgDir, 'build', 'Release');
    if (!existsSync(join(pkgDir, 'binding.gyp')) || !existsSync(release)) return;
    for (const f of readdirSync(release)) if (f.endsWith('.node')) files.push(relative(modules, join(release, f)));
  };
  for (const name of readdirSync(modules)) {
    if (name.startsWith('.')) continue;
    const dir = join(modules, name);
    if (name.startsWith('@')) for (const sub of readdirSync(dir)) visit(join(dir, sub));
    else if (statSync(dir).isDirectory()) visit(dir);
  }
  return files;
}

function stash(tag) {
  const files = addonFiles();
  for (const f of files) {
    const to = join(cache, tag, f);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(modules, f), to);
  }
  console.error(`native-abi: kept ${files.length} addon(s) as ${tag}`);
}

function use(tag) {
  const dir = join(cache, tag);
  if (!existsSync(dir)) return false;
  const files = addonFiles().filter((f) => existsSync(join(dir, f)));
  for (const f of files) copyFileSync(join(dir, f), join(modules, f));
  console.error(`native-abi: ${tag} build in place (${files.length} addon(s))`);
  return true;
}

function run(cmd, args) {
  const bin = join(modules, '.bin', process.platform === 'win32' ? `${cmd}.cmd` : cmd);
  const res = spawnSync(existsSync(bin) ? bin : cmd, args, { stdio: 'inherit', cwd: root, shell: process.platform === 'win32' });
  return res.status ?? 1;
}

const [command, ...rest] = process.argv.slice(2);
const after = rest[0] === '--' ? rest.slice(1) : rest;
let code = 0;
switch (command) {
  case 'rebuild-electron':
    stash(TAGS.node);
    code = run('electron-builder', ['install-app-deps']);
    if (code === 0) stash(TAGS.electron);
    use(TAGS.node);
    break;
  case 'run': {
    if (!existsSync(join(cache, TAGS.electron))) {
      console.error(`native-abi: no Electron build of the native addons yet: run \`npm run rebuild:electron\` once (it needs network access to Electron's headers)`);
      process.exit(1);
    }
    stash(TAGS.node);
    use(TAGS.electron);
    try {
      code = run(after[0], after.slice(1));
    } finally {
      use(TAGS.node);
    }
    break;
  }
  case 'package':
    stash(TAGS.node);
    try {
      code = run('electron-builder', after);
    } finally {
      use(TAGS.node);
    }
    break;
  case 'status':
    console.log(JSON.stringify({ tags: TAGS, addons: addonFiles(), cached: existsSync(cache) ? readdirSync(cache) : [] }, null, 2));
    break;
  default:
    console.error('usage: node build/native-abi.mjs rebuild-electron | run -- CMD... | package -- ARGS... | status');
    code = 2;
}
process.exit(code);
