/**
 * May this browser change the text? Two sources, either of which makes it read-only:
 * - the document (GET /api/documents/{id}): reviewers and observers read, and nobody edits a
 *   document whose status is not "draft" (in review, ratified); asked again on every
 *   reconnection and after every refusal, so that a role changed meanwhile shows. Until the
 *   first answer the text is read-only too (without a badge), unless the API cannot be
 *   reached at all (offline: the editor works on the local copy, and the server decides);
 * - the sync connection: the server sends y-websocket's auth message "permission denied"
 *   (`[2, 0, reason]`) to a read-only connection, and when the role is lowered live. It holds
 *   until the next connection. y-websocket only logs that message: its handler is replaced.
 */
import * as decoding from 'lib0/decoding'
import { canEdit, isRole } from './roles.js'

const MESSAGE_AUTH = 2
const RECHECK_MS = [200, 400, 800, 1600, 3200] // a refusal the document does not explain yet
const PERMISSION_DENIED = 0

/** @typedef {import('./api.js').Role} Role */
/** @typedef {'draft' | 'review' | 'ratified'} DocStatus */

/**
 * @typedef {object} Access
 * @property {Role | null} role null until the API answers
 * @property {DocStatus | null} status the document's status, null until the API answers
 * @property {boolean} readOnly
 * @property {boolean} pending no answer yet about the role
 * @property {boolean} denied the server refused this connection's edits
 */

/**
 * @typedef {object} AccessTracker
 * @property {() => Access} get
 * @property {(role: unknown) => void} setRole
 * @property {(doc: { role?: unknown, status?: unknown }) => void} setDocument the role and status of the document's JSON
 * @property {() => void} unknown the role cannot be learnt now: leave it to the server
 * @property {(listener: (access: Access) => void) => void} onChange
 */

/**
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {() => Promise<{ role?: unknown, status?: unknown }>} fetchDocument
 * @returns {AccessTracker}
 */
export function trackAccess (provider, fetchDocument) {
  /** @type {Role | null} */
  let role = null
  /** @type {DocStatus | null} */
  let docStatus = null
  let pending = true
  let denied = false
  let connections = 0
  /** @type {Set<(access: Access) => void>} */
  const listeners = new Set()

  const frozen = () => docStatus !== null && docStatus !== 'draft'
  const get = () => ({ role, status: docStatus, pending, denied, readOnly: denied || pending || frozen() || (role !== null && !canEdit(role)) })
  const emit = () => {
    const access = get()
    for (const listener of listeners) listener(access)
  }
  /** @param {unknown} next */
  const setRole = (next) => {
    if (!isRole(next)) return
    role = next
    pending = false
    emit()
  }
  /** @param {{ role?: unknown, status?: unknown }} doc */
  const setDocument = (doc) => {
    const next = doc.status
    if ((next === 'draft' || next === 'review' || next === 'ratified') && next !== docStatus) {
      docStatus = next
      if (!isRole(doc.role)) emit()
    }
    setRole(doc.role)
  }
  const unknown = () => {
    if (!pending) return
    pending = false
    emit()
  }
  /** @param {number} [attempt] */
  const refresh = (attempt = 0) => {
    fetchDocument().then((doc) => {
      setDocument(doc)
      // the connection and the document disagree (refused, yet a draft this role may edit;
      // or accepted, yet not a draft): the status is changing (the server lets writes in or
      // stops them first, then records the new status), so ask again shortly
      const disagree = denied === (docStatus === 'draft') && provider.wsconnected
      if (disagree && canEdit(role) && attempt < RECHECK_MS.length) {
        setTimeout(() => refresh(attempt + 1), RECHECK_MS[attempt])
      }
    }, () => {})
  }

  provider.messageHandlers[MESSAGE_AUTH] = (_encoder, decoder, _provider, fromServer) => {
    // fromServer (y-websocket's emitSynced) is false for messages from other tabs
    if (!fromServer || decoding.readVarUint(decoder) !== PERMISSION_DENIED) return
    if (!denied) {
      denied = true
      emit()
      refresh()
    }
  }
  provider.on('status', ({ status }) => {
    if (status !== 'connected') return
    connections++
    if (denied) {
      denied = false
      emit()
    }
    if (connections > 1) refresh() // the first one's role comes with the document
  })

  return { get, setRole, setDocument, unknown, onChange: (listener) => { listeners.add(listener) } }
}
