/**
 * Anchors: where a comment or suggestion sits in the text, as a pair of Yjs relative
 * positions that follow their characters through everybody's edits.
 *
 *   start = relative position of index `from`, assoc 0  (sticks to the character at `from`)
 *   end   = relative position of index `to`, assoc -1   (sticks to the character before `to`)
 *
 * each encoded with Y.encodeRelativePosition and then base64 (the server decodes the same
 * bytes with pycrdt's StickyIndex). Resolved against the local Y.Doc, an anchor gives the
 * current range in UTF-16 code units, the units of CodeMirror and Yjs.
 */
import * as Y from 'yjs'
import { fromBase64, toBase64 } from 'lib0/buffer'

/** @typedef {import('./comments-api.js').Anchor} Anchor */

/**
 * @param {Y.Text} ytext
 * @param {number} from
 * @param {number} to
 * @returns {Anchor}
 */
export function makeAnchor (ytext, from, to) {
  const start = Y.createRelativePositionFromTypeIndex(ytext, from, 0)
  const end = Y.createRelativePositionFromTypeIndex(ytext, to, -1)
  return {
    start: toBase64(Y.encodeRelativePosition(start)),
    end: toBase64(Y.encodeRelativePosition(end))
  }
}

/**
 * @param {string} encoded
 * @param {Y.Doc} ydoc
 * @returns {number | null} null when this copy of the document does not know the position yet
 */
function resolveOne (encoded, ydoc) {
  try {
    const position = Y.createAbsolutePositionFromRelativePosition(Y.decodeRelativePosition(fromBase64(encoded)), ydoc)
    return position ? position.index : null
  } catch {
    return null // not a relative position: nothing to show
  }
}

/**
 * The range an anchor covers now. A range whose text was deleted collapses (from === to).
 * @param {Anchor} anchor
 * @param {Y.Doc} ydoc
 * @returns {{ from: number, to: number } | null} null until the anchored text reaches this copy
 */
export function resolveAnchor (anchor, ydoc) {
  const from = resolveOne(anchor.start, ydoc)
  const to = resolveOne(anchor.end, ydoc)
  if (from === null || to === null) return null
  return { from, to: Math.max(from, to) }
}
