// Bundle the browser app into the Python package, so that installing the server needs no Node:
//   web/src/main.js -> server/static/app.js (ESM, minified, es2020)
//   web/src/app.css -> server/static/app.css
// The output is deterministic (no timestamps, no comments), so a rebuild without source
// changes leaves git clean.
import { build } from 'esbuild'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

// CodeMirror's styles come from style-mod, which writes a <style> element into a document and
// uses a constructed stylesheet (adoptedStyleSheets) only in shadow roots. The page's CSP
// (style-src 'self', no 'unsafe-inline') refuses the <style> element, so the editor would lose
// its base theme. Constructed stylesheets are not subject to CSP, and every current browser
// adopts them in documents too: use them there as well. The build fails if style-mod changes.
const STYLE_MOD_TEST = 'if (!root.head && root.adoptedStyleSheets && win.CSSStyleSheet) {'
const STYLE_MOD_PATCH = 'if (root.adoptedStyleSheets && win.CSSStyleSheet) {'
/** @type {import('esbuild').Plugin} */
const constructedStylesheets = {
  name: 'style-mod-constructed-stylesheets',
  setup (b) {
    b.onLoad({ filter: /[\\/]style-mod[\\/]src[\\/]style-mod\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8')
      if (!source.includes(STYLE_MOD_TEST)) {
        throw new Error(`style-mod changed: ${args.path} no longer holds the line build.mjs patches`)
      }
      return { contents: source.replace(STYLE_MOD_TEST, STYLE_MOD_PATCH), loader: 'js' }
    })
  }
}
const outDir = join(here, '..', 'server', 'static')

await mkdir(outDir, { recursive: true })
const result = await build({
  entryPoints: [join(here, 'src', 'main.js')],
  outfile: join(outDir, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  legalComments: 'none',
  sourcemap: false,
  charset: 'utf8',
  metafile: true,
  plugins: [constructedStylesheets],
  logLevel: 'warning'
})
await copyFile(join(here, 'src', 'app.css'), join(outDir, 'app.css'))

const bytes = Object.values(result.metafile.outputs).reduce((sum, out) => sum + out.bytes, 0)
console.log(`server/static/app.js ${(bytes / 1024).toFixed(1)} KiB, server/static/app.css copied`)
