// Bundles the web page into dist/: index.html, app.js (+ app.css) and MapLibre's worker, all
// served by `lantu serve` from the same origin. Nothing is fetched at build or run time.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const require = createRequire(import.meta.url);

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

await build({
  entryPoints: { app: join(here, 'src/main.js') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  outdir: dist,
  logLevel: 'warning',
});

// MapLibre 6 runs its tile workers from a separate module next to the library; the page points
// setWorkerUrl at this copy.
const worker = require.resolve('maplibre-gl/dist/maplibre-gl-worker.mjs');
await copyFile(worker, join(dist, 'maplibre-gl-worker.mjs'));

const html = await readFile(join(here, 'index.html'), 'utf8');
await writeFile(join(dist, 'index.html'), html);
console.log(`built ${dist}`);
