/**
 * A word-level diff, built from the API's operations (GET /api/documents/{id}/diff): unchanged
 * text as it is, insertions in <ins>, deletions in <del>, and the long unchanged stretches the
 * server folded ("skip") as a button labelled in the reader's language ("12 unchanged lines")
 * that unfolds them in place. Built with DOM nodes, never HTML strings.
 */
import { h } from './dom.js'
import { translated } from './i18n.js'

/** @param {string} text */
function lineCount (text) {
  const breaks = (text.match(/\n/g) || []).length
  return Math.max(1, text.endsWith('\n') ? breaks : breaks + 1)
}

/**
 * A folded stretch: a button that gives way to its text.
 * @param {string} text
 */
function folded (text) {
  const lines = lineCount(text)
  const fold = translated(
    h('button', { className: 'diff-skip link-button', attrs: { type: 'button' }, data: { lines: String(lines) } }),
    lines === 1 ? 'diff.skipped_one' : 'diff.skipped_many',
    { count: lines }
  )
  fold.addEventListener('click', () => fold.replaceWith(h('span', { className: 'diff-unfolded' }, [text])))
  return fold
}

/**
 * @param {import('./versions-api.js').Diff} diff
 * @returns {HTMLElement} div.diff (white-space: pre-wrap)
 */
export function diffView (diff) {
  const out = h('div', { className: 'diff' })
  for (const [op, text] of diff.ops) {
    if (op === 'insert') out.append(h('ins', {}, [text]))
    else if (op === 'delete') out.append(h('del', {}, [text]))
    else if (op === 'skip') out.append(folded(text))
    else out.append(text)
  }
  return out
}

/**
 * "+12 words, −3 words"
 * @param {import('./versions-api.js').Diff} diff
 */
export function diffStats (diff) {
  const stats = diff.stats || { inserted_words: 0, deleted_words: 0 }
  return translated(h('p', { className: 'diff-stats hint' }), 'diff.stats', {
    inserted: stats.inserted_words,
    deleted: stats.deleted_words
  })
}
