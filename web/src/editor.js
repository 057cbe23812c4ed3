/**
 * The CodeMirror 6 editor, bound to the shared Y.Text with y-codemirror.next.
 *
 * Undo and redo come from the Y.UndoManager (yUndoManagerKeymap), not from @codemirror/commands'
 * history(): that one would also undo other people's edits.
 */
import { Compartment, EditorState } from '@codemirror/state'
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers
} from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yRemoteSelections, yUndoManagerKeymap } from 'y-codemirror.next'
import { markdown } from './markdown-language.js'
import { remoteCursors } from './remote-cursors.js'
import { onLangChange, t } from './i18n.js'

const theme = EditorView.theme({
  '&': { flex: '1', minWidth: '0', height: '100%', backgroundColor: '#ffffff', color: '#1d2125' },
  '&.cm-focused': { outline: '2px solid #8cb8e0' },
  '.cm-scroller': {
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
    fontSize: '0.95rem',
    lineHeight: '1.55'
  },
  '.cm-content': { tabSize: '4', padding: '0.75rem 0' },
  '.cm-line': { padding: '0 1rem 0 0.5rem' },
  '.cm-gutters': { backgroundColor: '#faf9f7', borderRight: '1px solid #d9d6cf', color: '#8b9096' },
  '.cm-activeLine': { backgroundColor: '#f5f8fb' },
  '.cm-activeLineGutter': { backgroundColor: '#eaf0f6' }
}, { dark: false })

/**
 * @param {object} options
 * @param {HTMLElement} options.parent
 * @param {import('yjs').Text} options.ytext
 * @param {import('y-websocket').WebsocketProvider['awareness']} options.awareness
 * @param {import('yjs').UndoManager} options.undoManager
 * @param {import('@codemirror/state').Extension} [options.extensions] e.g. read-only mode
 * @returns {EditorView}
 */
export function createEditor ({ parent, ytext, awareness, undoManager, extensions = [] }) {
  const label = new Compartment()
  const ariaLabel = () => EditorView.contentAttributes.of({ 'aria-label': t('editor.source_label') })
  // yCollab's remote selections write style attributes, which CSP refuses: use ours instead
  const collab = /** @type {import('@codemirror/state').Extension[]} */ (
    yCollab(ytext, awareness, { undoManager })
  ).filter((extension) => extension !== yRemoteSelections)

  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        drawSelection(),
        highlightActiveLine(),
        EditorView.lineWrapping,
        theme,
        markdown(),
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
        collab,
        remoteCursors,
        label.of(ariaLabel()),
        extensions
      ]
    })
  })
  onLangChange(() => view.dispatch({ effects: label.reconfigure(ariaLabel()) }))
  return view
}
