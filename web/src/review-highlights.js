/**
 * The review marks in the editor: each open thread's range is highlighted
 * (.cm-review-comment); a suggestion shows its range struck through (.cm-review-deletion) and
 * its replacement as an inserted widget after it (.cm-review-insertion). The selected thread
 * also gets .cm-review-selected. Every mark carries data-thread-id; a click on one selects
 * that thread (`onSelect`).
 *
 * Ranges come from the anchors' relative positions: resolved again after every change of
 * the Y.Doc (the marks are mapped through CodeMirror's changes in between, so they never
 * jump), never from the server's offsets.
 */
import { RangeSetBuilder, StateEffect, StateField } from '@codemirror/state'
import { Decoration, EditorView, WidgetType } from '@codemirror/view'

/**
 * @typedef {object} Mark
 * @property {number} id
 * @property {'comment' | 'suggestion'} kind
 * @property {number} from
 * @property {number} to
 * @property {string | null} replacement
 * @property {boolean} selected
 */

class InsertionWidget extends WidgetType {
  /**
   * @param {number} id
   * @param {string} text
   * @param {boolean} selected
   */
  constructor (id, text, selected) {
    super()
    this.id = id
    this.text = text
    this.selected = selected
  }

  /** @param {InsertionWidget} other */
  eq (other) {
    return other.id === this.id && other.text === this.text && other.selected === this.selected
  }

  toDOM () {
    const span = document.createElement('ins')
    span.className = 'cm-review-insertion' + (this.selected ? ' cm-review-selected' : '')
    span.dataset.threadId = String(this.id)
    span.textContent = this.text
    return span
  }

  ignoreEvent () {
    return false
  }
}

/** @type {import('@codemirror/state').StateEffectType<Mark[]>} */
const setMarks = StateEffect.define()

/**
 * @param {Mark[]} marks
 * @param {number} length the document's
 */
function decorate (marks, length) {
  /** @type {{ from: number, to: number, deco: Decoration }[]} */
  const ranges = []
  for (const mark of marks) {
    const from = Math.min(mark.from, length)
    const to = Math.min(Math.max(mark.to, from), length)
    const selected = mark.selected ? ' cm-review-selected' : ''
    const attributes = { 'data-thread-id': String(mark.id) }
    if (mark.kind === 'suggestion') {
      if (to > from) ranges.push({ from, to, deco: Decoration.mark({ class: 'cm-review-deletion' + selected, attributes }) })
      if (mark.replacement) {
        ranges.push({ from: to, to, deco: Decoration.widget({ widget: new InsertionWidget(mark.id, mark.replacement, mark.selected), side: 1 }) })
      }
    } else if (to > from) {
      ranges.push({ from, to, deco: Decoration.mark({ class: 'cm-review-comment' + selected, attributes }) })
    }
  }
  ranges.sort((a, b) => a.from - b.from || a.deco.startSide - b.deco.startSide)
  /** @type {RangeSetBuilder<Decoration>} */
  const builder = new RangeSetBuilder()
  for (const { from, to, deco } of ranges) builder.add(from, to, deco)
  return builder.finish()
}

const field = StateField.define({
  create: () => Decoration.none,
  update (value, tr) {
    let next = value.map(tr.changes)
    for (const effect of tr.effects) {
      if (effect.is(setMarks)) next = decorate(effect.value, tr.state.doc.length)
    }
    return next
  },
  provide: (f) => EditorView.decorations.from(f)
})

/**
 * @param {(id: number) => void} onSelect
 * @returns {import('@codemirror/state').Extension}
 */
export function reviewHighlights (onSelect) {
  return [
    field,
    EditorView.domEventHandlers({
      mousedown: (event) => {
        const target = event.target instanceof Element ? event.target.closest('[data-thread-id]') : null
        if (target) onSelect(Number(/** @type {HTMLElement} */ (target).dataset.threadId))
        return false
      }
    })
  ]
}

/**
 * Replace the marks (call it outside CodeMirror's update cycle).
 * @param {EditorView} view
 * @param {Mark[]} marks
 */
export function showMarks (view, marks) {
  view.dispatch({ effects: setMarks.of(marks) })
}
