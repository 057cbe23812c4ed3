/**
 * The editor page: title, connection and saved badges, who is here, the language switcher,
 * the name form, the editor on the left and the live preview on the right.
 *
 * The document is the Y.Doc's Text 'content', synced with the server over y-websocket at
 * /sync/{id} and kept in IndexedDB ('accord-{id}') so that offline edits survive a reload.
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import { ApiError, getDocument } from './api.js'
import { closeMessage, connectionBadge, dropAnswersOnClosingSocket, stopOnFinalClose } from './connection.js'
import { h } from './dom.js'
import { createEditor } from './editor.js'
import { onLangChange, t, translated } from './i18n.js'
import { langSwitch } from './lang-switch.js'
import { nameForm } from './name-form.js'
import { whoIsHere } from './presence.js'
import { livePreview } from './preview.js'
import { savedBadge } from './saved-badge.js'
import { trackSaved } from './saved.js'

/**
 * The shared document and its two homes: the server (not connected yet) and IndexedDB.
 * @param {string} id
 */
function openDocument (id) {
  const ydoc = new Y.Doc()
  const persistence = new IndexeddbPersistence('accord-' + id, ydoc)
  const syncUrl = window.location.origin.replace(/^http/, 'ws') + '/sync'
  const provider = new WebsocketProvider(syncUrl, id, ydoc, { connect: false })
  dropAnswersOnClosingSocket(provider)
  const saved = trackSaved(ydoc, provider, new Set([persistence]))
  return { ydoc, ytext: ydoc.getText('content'), provider, saved }
}

/**
 * #error, which also hides the workspace: a document that cannot be opened shows no editor.
 * @param {HTMLElement[]} workspace
 */
function errorBanner (workspace) {
  const element = h('p', { id: 'error', className: 'error', attrs: { role: 'alert' } })
  element.hidden = true
  /** @type {number | null} */
  let code = null
  const render = () => {
    if (code === null) return
    element.replaceChildren(closeMessage(code), ' ', translated(h('a', { attrs: { href: '/' } }), 'error.back'))
    element.hidden = false
    for (const el of workspace) el.hidden = true
  }
  onLangChange(render)
  return {
    element,
    closed: () => code !== null,
    /** @param {number} closeCode a 44xx close code (4404 for a document the API does not know) */
    show: (closeCode) => { code = closeCode; render() }
  }
}

/**
 * #doc-title from the API, and the page's <title>.
 * @param {string} id
 * @param {() => void} onMissing
 */
function documentTitle (id, onMissing) {
  const heading = translated(h('h1', { id: 'doc-title' }), 'editor.loading')
  let title = ''
  const setPageTitle = () => {
    document.title = t('page.title', { title: title || t('page.editor'), app: t('app.name') })
  }
  onLangChange(setPageTitle)
  setPageTitle()
  getDocument(id).then((doc) => {
    title = doc.title || t('docs.untitled')
    delete heading.dataset.i18n
    heading.textContent = title
    setPageTitle()
  }).catch((err) => {
    translated(heading, 'page.editor')
    if (err instanceof ApiError && err.status === 404) onMissing()
  })
  return heading
}

/**
 * @param {HTMLElement} app
 * @param {string} id
 */
export function editorPage (app, id) {
  const { ydoc, ytext, provider, saved } = openDocument(id)
  const { form, changeButton } = nameForm(provider.awareness)
  const editorHost = h('div', { className: 'editor' })
  const preview = h('article', { id: 'preview', className: 'preview markdown-body' })
  const presence = h('section', { className: 'presence' }, [
    translated(h('h2', {}), 'who.heading'), whoIsHere(provider.awareness), changeButton
  ])
  const panes = h('div', { className: 'panes' }, [
    h('section', { className: 'pane source' }, [translated(h('h2', {}), 'editor.source'), editorHost]),
    h('section', { className: 'pane rendered' }, [translated(h('h2', {}), 'editor.preview'), preview])
  ])
  const error = errorBanner([form, presence, panes])
  stopOnFinalClose(provider, error.show)
  const title = documentTitle(id, () => { provider.disconnect(); error.show(4404) })

  app.replaceChildren(
    h('header', { className: 'topbar' }, [
      translated(h('a', { className: 'brand', attrs: { href: '/' } }), 'app.name'),
      title,
      h('span', { className: 'spacer' }),
      h('span', { className: 'badges' }, [connectionBadge(provider), savedBadge(saved, provider)]),
      langSwitch()
    ]),
    error.element, form, presence, panes
  )
  createEditor({ parent: editorHost, ytext, awareness: provider.awareness, undoManager: new Y.UndoManager(ytext) })
  livePreview(preview, ytext)
  if (!error.closed()) provider.connect()

  // leave "who is here" at once when the tab goes, not when the server times us out
  window.addEventListener('pagehide', () => provider.awareness.setLocalState(null))
  window.addEventListener('pageshow', (event) => { if (event.persisted) window.location.reload() })

  // for tests: the shared document and its provider, nothing secret
  Object.assign(window, { accord: { ydoc, provider } })
}
