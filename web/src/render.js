/**
 * Markdown -> HTML, shared by the live preview and by tests/render.mjs.
 *
 * It must give exactly the HTML of the server's markdown-it-py 4.3:
 *   MarkdownIt('commonmark', {'html': False}).enable(['table', 'strikethrough'])
 * markdown-it is pinned to 14.1.0, the release markdown-it-py 4.3 ports, and markdown-compat.js
 * ports the fixes markdown-it-py made since. Raw HTML is off, so the output holds no markup the
 * author typed, and markdown-it's own validateLink keeps javascript:, vbscript:, file: and
 * non-image data: URLs out of links.
 *
 * Every block element gets data-line="N": the 1-based source line it starts on (token.map),
 * for the line gutter of the rendered view; server/render.py adds the same attribute.
 */
import markdownit from 'markdown-it'
import { keepingBom, likeMarkdownItPy } from './markdown-compat.js'

/** @typedef {import('markdown-it/lib/rules_core/state_core.mjs').default} StateCore */

/**
 * data-line on every block token that opens an element and knows its source lines.
 * @param {StateCore} state
 */
function sourceLines (state) {
  for (const token of state.tokens) {
    if (token.block && token.nesting >= 0 && token.map && token.type !== 'inline') {
      token.attrSet('data-line', String(token.map[0] + 1))
    }
  }
}

const md = likeMarkdownItPy(
  markdownit('commonmark', { html: false, linkify: false, typographer: false })
    .enable(['table', 'strikethrough'])
)
md.core.ruler.push('source_lines', sourceLines)

/**
 * @param {string} source Markdown text
 * @returns {string} HTML
 */
export function renderMarkdown (source) {
  return keepingBom(source, (text) => md.render(text))
}
