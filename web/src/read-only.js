/**
 * Read-only editing: a CodeMirror compartment that stops changes (EditorState.readOnly) and
 * makes the text not editable (EditorView.editable), and the #readonly badge that says why.
 */
import { Compartment, EditorState } from '@codemirror/state'
import { EditorView } from '@codemirror/view'
import { h } from './dom.js'
import { translated } from './i18n.js'

/** @param {boolean} readOnly */
const config = (readOnly) => readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []

/** @type {Record<string, string>} why, by role */
const REASONS = {
  reviewer: 'readonly.reviewer',
  observer: 'readonly.observer'
}
/** @type {Record<string, string>} why, by the document's status (it comes first: it holds for everyone) */
const STATUS_REASONS = {
  review: 'readonly.review',
  ratified: 'readonly.ratified'
}

/**
 * @param {import('./access.js').AccessTracker} access
 * @returns {{ extension: import('@codemirror/state').Extension, attach: (view: EditorView) => void, badge: HTMLElement }}
 */
export function readOnlyMode (access) {
  const compartment = new Compartment()
  const badge = h('span', { id: 'readonly', className: 'badge', attrs: { role: 'status' } })
  /** @type {EditorView | null} */
  let view = null
  let applied = false

  const render = () => {
    const { role, status, readOnly, pending, denied } = access.get()
    badge.hidden = !readOnly || (pending && !denied) // while the role is asked for: nothing to say yet
    if (readOnly) translated(badge, STATUS_REASONS[status || ''] || REASONS[role || ''] || 'readonly.denied')
    if (view && readOnly !== applied) {
      applied = readOnly
      view.dispatch({ effects: compartment.reconfigure(config(readOnly)) })
    }
  }
  access.onChange(render)
  applied = access.get().readOnly
  render()
  return {
    extension: compartment.of(config(applied)),
    attach: (editor) => {
      view = editor
      render()
    },
    badge
  }
}
