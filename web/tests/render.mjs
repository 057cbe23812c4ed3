#!/usr/bin/env node
// Render Markdown the way the browser does, for the Python tests that compare both sides.
// stdin: a JSON array of Markdown strings; stdout: a JSON array of HTML strings, same order.
import { renderMarkdown } from '../src/render.js'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const sources = JSON.parse(Buffer.concat(chunks).toString('utf8'))
if (!Array.isArray(sources) || !sources.every((s) => typeof s === 'string')) {
  process.stderr.write('render.mjs: expected a JSON array of strings on stdin\n')
  process.exit(2)
}
process.stdout.write(JSON.stringify(sources.map(renderMarkdown)))
