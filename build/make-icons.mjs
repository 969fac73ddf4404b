// Renders the app icon (build/icon.svg) to the PNGs electron-builder takes (it derives .ico/.icns from
// icon.png, which must be at least 512x512 for macOS). Run: node build/make-icons.mjs
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const here = dirname(fileURLToPath(import.meta.url));
const svg = join(here, 'icon.svg');
for (const [size, name] of [[1024, 'icon.png'], [256, 'icon-256.png']]) {
  await sharp(svg, { density: 400 }).resize(size, size).png().toFile(join(here, name));
  console.log(`${name} ${size}x${size}`);
}
copyFileSync(svg, join(here, '..', 'src-renderer', 'public', 'favicon.svg'));
