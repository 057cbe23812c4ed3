/**
 * The editor page: the top bar (title; connection, saved and read-only badges; the person),
 * who is here and the members, the editor on the left and the live preview on the right.
 *
 * The document is the Y.Doc's Text 'content', synced with the server over y-websocket at
 * /sync/{id} and kept in IndexedDB ('accord-{id}') so that offline edits survive a reload.
 * The server names everyone in "who is here" from their account; reviewers and observers
 * get the same editor, read-only. Beside them, the review sidebar (review.js): comments and
 * suggestions on the text, live.
 */
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { IndexeddbPersistence } from 'y-indexeddb'
import { ApiError, getDocument, getMe } from './api.js'
import { trackAccess } from './access.js'
import { closeMessage, connectionBadge, dropAnswersOnClosingSocket, stopOnFinalClose } from './connection.js'
import { h } from './dom.js'
import { createEditor } from './editor.js'
import { errorBox } from './error-box.js'
import { t, translated } from './i18n.js'
import { userFor } from './identity.js'
import { membersPanel } from './members-panel.js'
import { setPageTitle } from './page-title.js'
import { whoIsHere } from './presence.js'
import { livePreview } from './preview.js'
import { readOnlyMode } from './read-only.js'
import { auditPanel } from './audit-panel.js'
import { historyPanel } from './history-panel.js'
import { statusBar } from './status-bar.js'
import { review } from './review.js'
import { loginUrl } from './session.js'
import { savedBadge } from './saved-badge.js'
import { trackSaved } from './saved.js'
import { topbar } from './topbar.js'

const RETRY_4401_MS = 10_000 // a second "sign in first" sooner than this: go and sign in
const LOCAL_LOAD_MS = 2_000 // IndexedDB that does not answer by then is not waited for

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
  return { ydoc, ytext: ydoc.getText('content'), provider, persistence, saved }
}

/**
 * What a final close (4400-4499) means here. 4401: the session ended, or was renewed (a
 * password change closes every connection): reconnect if /api/me still answers, else the
 * 401 goes to the login page. 4403: access was taken away; the copy in this browser goes too.
 * @param {ReturnType<typeof openDocument>} doc
 * @param {(code: number) => void} stop shows the message and hides the workspace
 */
function onFinalClose ({ provider, persistence }, stop) {
  let lastRetry = -Infinity
  stopOnFinalClose(provider, (code) => {
    if (code === 4401 && Date.now() - lastRetry > RETRY_4401_MS) {
      lastRetry = Date.now()
      getMe().then(() => provider.connect(), () => stop(code))
      return
    }
    if (code === 4401) {
      window.location.assign(loginUrl())
      return
    }
    if (code === 4403) persistence.clearData().catch(() => {})
    stop(code)
  })
}

/**
 * #doc-title from the API, and the page's <title>; the role goes to `access`.
 * @param {string} id
 * @param {import('./access.js').AccessTracker} access
 * @param {(code: number) => void} stop
 */
function documentTitle (id, access, stop) {
  const heading = translated(h('h1', { id: 'doc-title' }), 'editor.loading')
  let title = ''
  setPageTitle(() => title || t('page.editor'))
  getDocument(id).then((doc) => {
    title = doc.title || t('docs.untitled')
    delete heading.dataset.i18n
    heading.textContent = title
    setPageTitle(() => title)
    access.setDocument(doc)
  }).catch((err) => {
    translated(heading, 'page.editor')
    if (err instanceof ApiError && (err.status === 404 || err.status === 403)) stop(err.status === 404 ? 4404 : 4403)
    else access.unknown()
  })
  return heading
}

/**
 * @param {HTMLElement} app
 * @param {string} id
 * @param {Promise<import('./api.js').Me>} me
 */
export function editorPage (app, id, me) {
  const doc = openDocument(id)
  const { ydoc, ytext, provider } = doc
  const error = errorBox()
  const access = trackAccess(provider, () => getDocument(id))
  const readOnly = readOnlyMode(access)
  const members = membersPanel(id, error)
  const stage = statusBar({ id, access, error })
  const history = historyPanel(id, access, error)
  const audit = auditPanel(id, access, error)
  const reviews = review({ id, ydoc, ytext, provider, me, access, error })
  const editorHost = h('div', { className: 'editor' })
  const preview = h('article', { id: 'preview', className: 'preview markdown-body' })
  const presence = h('section', { className: 'presence' }, [
    translated(h('h2', {}), 'who.heading'), whoIsHere(provider.awareness),
    h('span', { className: 'spacer' }), stage.actions, reviews.toggle, history.button, audit.button, members.button
  ])
  const panes = h('div', { className: 'panes' }, [
    h('section', { className: 'pane source' }, [translated(h('h2', {}), 'editor.source'), editorHost]),
    h('section', { className: 'pane rendered' }, [translated(h('h2', {}), 'editor.preview'), preview]),
    reviews.element
  ])
  let stopped = false
  /** @param {number} code */
  const stop = (code) => {
    stopped = true
    provider.disconnect()
    reviews.stop()
    error.final(() => [closeMessage(code), ' ', translated(h('a', { attrs: { href: '/' } }), 'error.back')])
    for (const el of [presence, members.panel, history.panel, audit.panel, panes]) el.hidden = true
  }
  onFinalClose(doc, stop)
  const title = documentTitle(id, access, stop)
  const saved = savedBadge(doc.saved, provider)
  // in review or ratified nobody writes: nothing to save (and a read-only connection is never
  // told what the server holds, so the badge could not tell anyway)
  // nothing to save where this browser may not write: in review, ratified, or for reviewers
  // and observers (the server never asks a read-only connection for its state)
  access.onChange(({ status, role }) => {
    saved.hidden = status === 'review' || status === 'ratified' || role === 'reviewer' || role === 'observer'
  })
  const badges = h('span', { className: 'badges' }, [
    stage.badge, connectionBadge(provider), saved, readOnly.badge
  ])

  app.replaceChildren(
    topbar({ me, error, middle: [title], end: [badges] }),
    error.element, presence, members.panel, history.panel, audit.panel, panes, stage.dialog
  )
  const view = createEditor({
    parent: editorHost,
    ytext,
    awareness: provider.awareness,
    undoManager: new Y.UndoManager(ytext),
    extensions: [readOnly.extension, reviews.extension]
  })
  readOnly.attach(view)
  const rendered = livePreview(preview, ytext, (container) => reviews.markPreview(container))
  reviews.attach(view, preview, rendered.refresh)
  // the server names us to the others; this is how we see ourselves
  me.then((user) => provider.awareness.setLocalStateField('user', userFor(user.organization ? `${user.name} (${user.organization.short_name})` : user.name, user.color)), () => {})
  // connect once the local copy is loaded: loaded later, it would go to the server as a new
  // update, which a read-only connection may not send
  const loaded = new Promise((resolve) => setTimeout(resolve, LOCAL_LOAD_MS))
  Promise.race([doc.persistence.whenSynced, loaded]).catch(() => {}).then(() => {
    if (!stopped) provider.connect()
  })

  // leave "who is here" at once when the tab goes, not when the server times us out
  window.addEventListener('pagehide', () => provider.awareness.setLocalState(null))
  window.addEventListener('pageshow', (event) => { if (event.persisted) window.location.reload() })

  // for tests: the shared document and its provider, nothing secret
  Object.assign(window, { accord: { ydoc, provider } })
}
