/**
 * May this browser change the text? Two sources, either of which makes it read-only:
 * - the role (GET /api/documents/{id}): reviewers and observers read; asked again on every
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
const PERMISSION_DENIED = 0

/** @typedef {import('./api.js').Role} Role */

/**
 * @typedef {object} Access
 * @property {Role | null} role null until the API answers
 * @property {boolean} readOnly
 * @property {boolean} pending no answer yet about the role
 * @property {boolean} denied the server refused this connection's edits
 */

/**
 * @typedef {object} AccessTracker
 * @property {() => Access} get
 * @property {(role: unknown) => void} setRole
 * @property {() => void} unknown the role cannot be learnt now: leave it to the server
 * @property {(listener: (access: Access) => void) => void} onChange
 */

/**
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {() => Promise<unknown>} fetchRole
 * @returns {AccessTracker}
 */
export function trackAccess (provider, fetchRole) {
  /** @type {Role | null} */
  let role = null
  let pending = true
  let denied = false
  let connections = 0
  /** @type {Set<(access: Access) => void>} */
  const listeners = new Set()

  const get = () => ({ role, pending, denied, readOnly: denied || pending || (role !== null && !canEdit(role)) })
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
  const unknown = () => {
    if (!pending) return
    pending = false
    emit()
  }
  const refresh = () => { fetchRole().then(setRole, () => {}) }

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

  return { get, setRole, unknown, onChange: (listener) => { listeners.add(listener) } }
}
