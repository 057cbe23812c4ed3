/**
 * The review marks in the rendered view. Every block of the preview carries data-line, the
 * source line it starts on (render.js). For each thread, the text it covers now is looked for
 * in the text of the innermost block that starts at or before the thread's first line (then
 * in that block's enclosing blocks) and wrapped in <mark class="review-mark">, one <mark> per
 * text node it crosses. Where the text is not found as such (Markdown markup inside the
 * range, or a range over several blocks), the blocks of its lines are marked whole
 * (.review-block). Marks carry data-thread-id; .review-selected marks the selected thread.
 */
import { h } from './dom.js'

/**
 * @typedef {object} PreviewMark
 * @property {number} id
 * @property {number} line 1-based source line of the range's start
 * @property {number} endLine 1-based source line of the range's end
 * @property {string} text the text the range covers now
 * @property {boolean} selected
 */

/**
 * Blocks by start line, innermost last for the same line (document order).
 * @param {HTMLElement} container
 */
function blocks (container) {
  return [...container.querySelectorAll('[data-line]')].map((el) => ({
    el: /** @type {HTMLElement} */ (el),
    line: Number(/** @type {HTMLElement} */ (el).dataset.line)
  }))
}

/**
 * Wrap the characters [start, end) of `block`'s text in <mark> elements.
 * @param {HTMLElement} block
 * @param {number} start
 * @param {number} end
 * @param {string} className
 * @param {number} id
 */
function wrap (block, start, end, className, id) {
  const walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT)
  /** @type {{ node: Text, from: number }[]} */
  const nodes = []
  let offset = 0
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = /** @type {Text} */ (node)
    nodes.push({ node: text, from: offset })
    offset += text.data.length
  }
  for (const { node, from } of nodes) {
    const to = from + node.data.length
    if (to <= start || from >= end) continue
    let piece = node
    if (start > from) piece = piece.splitText(start - from)
    if (end < to) piece.splitText(end - Math.max(start, from))
    const mark = h('mark', { className, data: { threadId: String(id) } })
    piece.replaceWith(mark)
    mark.append(piece)
  }
}

/**
 * @param {HTMLElement} container the preview
 * @param {PreviewMark[]} marks
 */
export function markPreview (container, marks) {
  const all = blocks(container)
  for (const mark of marks) {
    const className = 'review-mark' + (mark.selected ? ' review-selected' : '')
    const before = all.filter((b) => b.line <= mark.line)
    /** @type {HTMLElement | null} */
    let block = before.length ? before[before.length - 1].el : null
    let found = false
    const needle = mark.text.trim()
    while (block && needle) {
      const at = (block.textContent || '').indexOf(needle)
      if (at >= 0) {
        wrap(block, at, at + needle.length, className, mark.id)
        found = true
        break
      }
      block = block.parentElement ? block.parentElement.closest('[data-line]') : null
      if (block && !container.contains(block)) block = null
    }
    if (found) continue
    for (const b of all) {
      if (b.line >= (before.length ? before[before.length - 1].line : mark.line) && b.line <= mark.endLine) {
        b.el.classList.add('review-block')
        if (mark.selected) b.el.classList.add('review-selected')
        if (!b.el.dataset.threadId) b.el.dataset.threadId = String(mark.id)
      }
    }
  }
}
