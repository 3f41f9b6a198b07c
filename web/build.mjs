// `make web`: bundle the upload page and the API reference with esbuild.
//
// Output (committed, so `make dev` needs no Node):
//   functions/web/static/index.html, docs.html   the pages, naming hashed assets
//   functions/web/static/assets/*-HASH.{js,css}  served with a year-long cache
//   functions/web/static/build.json              the hash of what they were built from
//   tests/browser/static/uppy.js                 stock Uppy for the browser tests' own page
//
// build.json's `sources_sha256` covers package.json, the lock, this script and src/; a unit
// test recomputes it (tests/unit/test_web_assets.py) and fails when the build is stale.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const WEB = dirname(fileURLToPath(import.meta.url))
const ROOT = dirname(WEB)
const STATIC = join(ROOT, 'functions', 'web', 'static')
const ASSETS = join(STATIC, 'assets')
const TESTBED = join(ROOT, 'tests', 'browser', 'static')
const INPUTS = ['package.json', 'package-lock.json', '.npmrc', 'build.mjs']
const PAGES = { 'index.html': ['app'], 'docs.html': ['docs'] }

function filesUnder (dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(WEB, join(entry.parentPath, entry.name)).split(sep).join('/'))
}

// The same walk as tests/unit/test_web_assets.py: sorted paths, each as path NUL bytes NUL.
function sourcesHash () {
  const hash = createHash('sha256')
  for (const name of [...INPUTS, ...filesUnder(join(WEB, 'src'))].sort()) {
    hash.update(`${name}\0`)
    hash.update(readFileSync(join(WEB, name)))
    hash.update('\0')
  }
  return hash.digest('hex')
}

const common = {
  bundle: true,
  minify: true,
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  legalComments: 'eof',
  logLevel: 'warning',
  absWorkingDir: WEB,
  define: { 'process.env.NODE_ENV': '"production"' }
}

async function buildSite (sha) {
  rmSync(ASSETS, { recursive: true, force: true })
  mkdirSync(ASSETS, { recursive: true })
  const result = await esbuild.build({
    ...common,
    entryPoints: { app: 'src/app.js', docs: 'src/docs.js' },
    outdir: ASSETS,
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true
  })
  const outputs = {}
  for (const [path, output] of Object.entries(result.metafile.outputs)) {
    if (!output.entryPoint && !output.cssBundle) continue
    const entry = output.entryPoint ?? result.metafile.outputs[output.cssBundle]?.entryPoint
    const name = path.split('/').pop()
    const stem = entry.replace(/^src\//, '').replace(/\.js$/, '')
    outputs[`${stem}.js`] = `/assets/${name}`
    if (output.cssBundle) outputs[`${stem}.css`] = `/assets/${output.cssBundle.split('/').pop()}`
  }
  for (const [page] of Object.entries(PAGES)) {
    let html = readFileSync(join(WEB, 'src', page), 'utf8')
    html = html.replace(/\{\{([\w.]+)\}\}/g, (_, asset) => {
      if (asset === 'build') return sha
      if (!outputs[asset]) throw new Error(`${page}: no built asset ${asset}`)
      return outputs[asset]
    })
    writeFileSync(join(STATIC, page), html)
  }
  const assets = readdirSync(ASSETS).sort()
  const manifest = { sources_sha256: sha, esbuild: esbuild.version, pages: Object.keys(PAGES), assets }
  writeFileSync(join(STATIC, 'build.json'), JSON.stringify(manifest, null, 2) + '\n')
}

async function buildTestbed (sha) {
  mkdirSync(TESTBED, { recursive: true })
  await esbuild.build({
    ...common,
    entryPoints: ['src/testbed.js'],
    outfile: join(TESTBED, 'uppy.js'),
    banner: { js: `/* stowage web build ${sha} */` }
  })
}

const sha = sourcesHash()
await buildSite(sha)
await buildTestbed(sha)
console.log(`web: built ${relative(ROOT, STATIC)} and ${relative(ROOT, TESTBED)} (sources ${sha.slice(0, 12)})`)
