// Bundles the dashboard with esbuild (its JavaScript API): src/app.js and everything it
// imports into assets/app.js, the DAG layout worker into assets/layout-worker.js, the
// style sheet into assets/app.css, and copies index.html and the icon. Minified, no
// source maps, no network. Run by CMake (web/CMakeLists fragment in the top-level
// CMakeLists.txt) after `npm ci` into the build directory:
//
//   node web/build.mjs --modules BUILD/web/node_modules --out BUILD/web/dist
//
// --modules is where `npm ci` put esbuild and the libraries (never web/node_modules
// during a CMake build); --out receives index.html and assets/.
import { createRequire } from 'node:module';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
function arg(name) {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) {
    console.error(`web/build.mjs: ${name} DIR is required`);
    process.exit(2);
  }
  return resolve(args[i + 1]);
}
const modules = arg('--modules');
const out = arg('--out');
const esbuild = createRequire(join(modules, 'noop.js'))('esbuild');

mkdirSync(join(out, 'assets'), { recursive: true });
const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['es2020'],
  nodePaths: [modules],
  logLevel: 'warning',
  absWorkingDir: here,
};
await esbuild.build({ ...common, entryPoints: ['src/app.js'], outfile: join(out, 'assets/app.js'), format: 'esm' });
await esbuild.build({ ...common, entryPoints: ['src/layout-worker.js'], outfile: join(out, 'assets/layout-worker.js'), format: 'iife' });
await esbuild.build({ ...common, entryPoints: ['src/style.css'], outfile: join(out, 'assets/app.css') });
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
copyFileSync(join(here, 'src/favicon.svg'), join(out, 'assets/favicon.svg'));
for (const f of ['assets/app.js', 'assets/layout-worker.js', 'assets/app.css']) {
  console.log(`web/build.mjs: ${f} ${statSync(join(out, f)).size} bytes`);
}
