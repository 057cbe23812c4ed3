/**
 * Where each review thread is in the text now: its anchor resolved against the local Y.Doc
 * (anchors.js), whether its text was deleted, whether a suggestion no longer matches what it
 * would replace; and the order of the sidebar (by position, deleted ones last).
 */
import { resolveAnchor } from './anchors.js'

/** @typedef {import('./comments-api.js').Thread} Thread */
/** @typedef {import('./review-thread.js').ThreadState & { pos: { from: number, to: number } | null }} Placed */

/**
 * @typedef {object} Where
 * @property {import('yjs').Doc} ydoc
 * @property {import('yjs').Text} ytext
 * @property {number | null} selected the selected thread
 * @property {string} [text] the whole text now (when placing many threads)
 */

/**
 * @param {Thread} thread
 * @param {Where} where
 * @returns {Placed}
 */
export function placeThread (thread, { ydoc, ytext, selected, text }) {
  const pos = resolveAnchor(thread.anchor, ydoc)
  const base = { thread, pos, selected: thread.id === selected }
  if (!pos) return { ...base, deleted: thread.deleted, conflict: thread.conflict && thread.status === 'open', current: thread.current }
  const current = (text === undefined ? ytext.toString() : text).slice(pos.from, pos.to)
  const deleted = thread.quote !== '' && pos.to <= pos.from
  const conflict = thread.kind === 'suggestion' && thread.status === 'open' && current !== thread.quote
  return { ...base, deleted, conflict, current }
}

/** @param {Placed} p where it starts: here, else on the server (null when its text is gone) */
const start = (p) => p.pos ? p.pos.from : p.thread.range ? p.thread.range.from : 0

/** @param {Placed} a @param {Placed} b */
const byPlace = (a, b) =>
  Number(a.deleted) - Number(b.deleted) ||
  (a.deleted ? 0 : start(a) - start(b)) ||
  a.thread.id - b.thread.id

/**
 * Every thread placed, in the sidebar's order.
 * @param {Thread[]} threads
 * @param {Where} where
 * @returns {Placed[]}
 */
export function orderPlaced (threads, where) {
  const text = where.ytext.toString()
  return threads.map((thread) => placeThread(thread, { ...where, text })).sort(byPlace)
}

/**
 * Is it marked in the editor and the preview: open, and its text still there.
 * @param {Placed} p
 */
export const isMarked = (p) => Boolean(p.pos && !p.deleted && p.thread.status === 'open')
