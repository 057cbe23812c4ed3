/**
 * Markdown -> HTML, shared by the live preview and by tests/render.mjs.
 *
 * It must give exactly the HTML of the server's markdown-it-py 4.3:
 *   MarkdownIt('commonmark', {'html': False}).enable(['table', 'strikethrough'])
 * markdown-it is pinned to 14.1.0, the release markdown-it-py 4.3 ports, and markdown-compat.js
 * ports the fixes markdown-it-py made since. Raw HTML is off, so the output holds no markup the
 * author typed, and markdown-it's own validateLink keeps javascript:, vbscript:, file: and
 * non-image data: URLs out of links.
 */
import markdownit from 'markdown-it'
import { keepingBom, likeMarkdownItPy } from './markdown-compat.js'

const md = likeMarkdownItPy(
  markdownit('commonmark', { html: false, linkify: false, typographer: false })
    .enable(['table', 'strikethrough'])
)

/**
 * @param {string} source Markdown text
 * @returns {string} HTML
 */
export function renderMarkdown (source) {
  return keepingBom(source, (text) => md.render(text))
}
