/**
 * Other people's cursors and selections, with name labels.
 *
 * Replaces y-codemirror.next's yRemoteSelections (after y-remote-selections.js, MIT) for two
 * reasons:
 * - its caret carries a `style` attribute, which the page's Content-Security-Policy
 *   (style-src 'self') refuses: carets lost their colour and each logged a violation. Colours
 *   here go through the CSSOM, which CSP allows;
 * - its caret is a widget inside the text, so the name label became part of the editor's text
 *   (for screen readers too). Carets and labels here live in a layer beside the text, the way
 *   CodeMirror draws its own cursor; the classes stay cm-ySelectionCaret / cm-ySelectionInfo.
 * Selections remain mark decorations (background only, no text).
 * ytext and awareness come from yCollab's ySyncFacet. Like the original, the plugin also
 * publishes the local cursor into awareness. Only people who gave a name are drawn.
 */
import * as Y from 'yjs'
import { Annotation, EditorSelection } from '@codemirror/state'
import { Decoration, EditorView, RectangleMarker, ViewPlugin, layer } from '@codemirror/view'
import { ySyncFacet } from 'y-codemirror.next'

/** @typedef {import('@codemirror/view').ViewUpdate} ViewUpdate */
/** @typedef {import('@codemirror/view').DecorationSet} DecorationSet */
/** @typedef {import('@codemirror/view').LayerMarker} LayerMarker */
/** @typedef {import('y-websocket').WebsocketProvider['awareness']} Awareness */

const COLOR = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i
const DEFAULT_COLOR = '#6c737a'

/** Marks the transactions dispatched because someone else's awareness changed. */
const awarenessChanged = Annotation.define()

/**
 * @typedef {object} RemoteCursor
 * @property {number} anchor
 * @property {number} head
 * @property {string} name
 * @property {string} color
 * @property {string} colorLight
 */

/**
 * @param {unknown} value
 * @param {string} fallback
 */
function safeColor (value, fallback) {
  return typeof value === 'string' && COLOR.test(value) ? value : fallback
}

/**
 * The cursors of everyone else in the awareness, in document positions.
 * @param {EditorView} view
 * @returns {RemoteCursor[]}
 */
function remoteCursorsOf (view) {
  const { ytext } = view.state.facet(ySyncFacet)
  /** @type {Awareness} */
  const awareness = view.state.facet(ySyncFacet).awareness
  const ydoc = /** @type {Y.Doc} */ (ytext.doc)
  const length = view.state.doc.length
  /** @type {RemoteCursor[]} */
  const cursors = []
  awareness.getStates().forEach((state, clientId) => {
    const { cursor, user } = state
    if (clientId === ydoc.clientID || cursor == null || cursor.anchor == null || cursor.head == null) return
    if (!user || typeof user.name !== 'string' || !user.name) return
    const anchor = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.anchor), ydoc)
    const head = Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(cursor.head), ydoc)
    if (anchor == null || head == null || anchor.type !== ytext || head.type !== ytext) return
    const color = safeColor(user.color, DEFAULT_COLOR)
    cursors.push({
      anchor: Math.min(anchor.index, length),
      head: Math.min(head.index, length),
      name: user.name,
      color,
      colorLight: safeColor(user.colorLight, color + '33')
    })
  })
  return cursors
}

/**
 * @param {string} colorLight
 * @param {boolean} line
 */
function selectionMark (colorLight, line) {
  const attributes = { style: `background-color: ${colorLight}` } // CodeMirror sets it via CSSOM
  return line
    ? Decoration.line({ attributes: { ...attributes, class: 'cm-yLineSelection' } })
    : Decoration.mark({ attributes, class: 'cm-ySelection' })
}

/**
 * @param {EditorView} view
 * @param {RemoteCursor[]} cursors
 * @returns {DecorationSet}
 */
function selectionDecorations (view, cursors) {
  const doc = view.state.doc
  /** @type {import('@codemirror/state').Range<Decoration>[]} */
  const ranges = []
  for (const { anchor, head, colorLight } of cursors) {
    const start = Math.min(anchor, head)
    const end = Math.max(anchor, head)
    if (start === end) continue
    const startLine = doc.lineAt(start)
    const endLine = doc.lineAt(end)
    if (startLine.number === endLine.number) {
      ranges.push(selectionMark(colorLight, false).range(start, end))
      continue
    }
    if (startLine.to > start) ranges.push(selectionMark(colorLight, false).range(start, startLine.to))
    for (let n = startLine.number + 1; n < endLine.number; n++) {
      const from = doc.line(n).from
      ranges.push(selectionMark(colorLight, true).range(from))
    }
    if (end > endLine.from) ranges.push(selectionMark(colorLight, false).range(endLine.from, end))
  }
  return Decoration.set(ranges, true)
}

/** @implements {LayerMarker} */
class CaretMarker {
  /**
   * @param {RectangleMarker} rect where CodeMirror would draw a cursor at that position
   * @param {string} color
   * @param {string} name
   */
  constructor (rect, color, name) {
    this.left = rect.left
    this.top = rect.top
    this.height = rect.height
    this.color = color
    this.name = name
  }

  draw () {
    const caret = document.createElement('div')
    caret.className = 'cm-ySelectionCaret'
    caret.setAttribute('aria-hidden', 'true')
    caret.style.borderColor = this.color
    caret.style.backgroundColor = this.color
    const dot = document.createElement('div')
    dot.className = 'cm-ySelectionCaretDot'
    const info = document.createElement('div')
    info.className = 'cm-ySelectionInfo'
    info.textContent = this.name
    caret.append(dot, info)
    this.place(caret)
    return caret
  }

  /** @param {HTMLElement} el */
  place (el) {
    el.style.left = `${this.left}px`
    el.style.top = `${this.top}px`
    el.style.height = `${this.height}px`
  }

  /**
   * @param {HTMLElement} el
   * @param {CaretMarker} previous
   */
  update (el, previous) {
    if (previous.color !== this.color || previous.name !== this.name) return false
    this.place(el)
    return true
  }

  /**
   * @param {LayerMarker} other
   * @returns {boolean}
   */
  eq (other) {
    return other instanceof CaretMarker && other.left === this.left && other.top === this.top &&
      other.height === this.height && other.color === this.color && other.name === this.name
  }
}

const caretLayer = layer({
  above: true,
  class: 'cm-yRemoteCarets',
  update: (update) => update.docChanged || update.viewportChanged || update.geometryChanged ||
    update.transactions.some((tr) => tr.annotation(awarenessChanged) !== undefined),
  markers: (view) => remoteCursorsOf(view).flatMap(({ anchor, head, color, name }) => {
    // like the original widget: outside the remote selection, on the side the head moved to
    const at = EditorSelection.cursor(head, head > anchor ? -1 : 1)
    return RectangleMarker.forRange(view, '', at).map((rect) => new CaretMarker(rect, color, name))
  })
})

// Over y-codemirror.next's theme (still loaded by yCollab): a caret here is a positioned box.
const caretTheme = EditorView.baseTheme({
  '.cm-yRemoteCarets .cm-ySelectionCaret': {
    position: 'absolute',
    display: 'block',
    width: '0',
    marginLeft: '-1px',
    borderLeft: '1px solid',
    borderRight: '1px solid',
    boxSizing: 'border-box',
    pointerEvents: 'auto'
  },
  '.cm-yRemoteCarets .cm-ySelectionInfo': {
    fontFamily: 'system-ui, sans-serif',
    borderRadius: '3px',
    padding: '0 4px'
  }
})

class RemoteSelections {
  /** @param {EditorView} view */
  constructor (view) {
    /** @type {Awareness} */
    this.awareness = view.state.facet(ySyncFacet).awareness
    this.decorations = selectionDecorations(view, remoteCursorsOf(view))
    /** @param {{ added: number[], updated: number[], removed: number[] }} changes */
    this.listener = ({ added, updated, removed }) => {
      const own = this.awareness.doc.clientID
      if ([...added, ...updated, ...removed].some((id) => id !== own)) {
        view.dispatch({ annotations: awarenessChanged.of(true) })
      }
    }
    this.awareness.on('change', this.listener)
  }

  destroy () {
    this.awareness.off('change', this.listener)
  }

  /** @param {ViewUpdate} update */
  update (update) {
    this.publishLocalCursor(update)
    this.decorations = selectionDecorations(update.view, remoteCursorsOf(update.view))
  }

  /** @param {ViewUpdate} update */
  publishLocalCursor (update) {
    const { ytext } = update.state.facet(ySyncFacet)
    const local = this.awareness.getLocalState()
    if (local == null || !update.view.hasFocus || !update.view.dom.ownerDocument.hasFocus()) return
    const sel = update.state.selection.main
    const anchor = Y.createRelativePositionFromTypeIndex(ytext, sel.anchor)
    const head = Y.createRelativePositionFromTypeIndex(ytext, sel.head)
    const current = local.cursor
    if (current == null ||
        !Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.anchor), anchor) ||
        !Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.head), head)) {
      this.awareness.setLocalStateField('cursor', { anchor, head })
    }
  }
}

/** The extension: selections as decorations, carets and labels in their layer. */
export const remoteCursors = [
  ViewPlugin.fromClass(RemoteSelections, { decorations: (v) => v.decorations }),
  caretLayer,
  caretTheme
]
