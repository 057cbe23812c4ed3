/**
 * The saved state: has the server durably stored everything this browser holds?
 *
 * What the server holds durably, as a state vector, is learnt from what it sends us, peeked at
 * in the provider's sync handler before y-websocket handles each message as usual:
 * - a SyncStep1 (`[0, 0, stateVector]`): the greeting of each new connection, which replaces
 *   what we knew (a reconnect may meet a server reloaded from storage), and the notice the
 *   server sends after it committed our updates, which adds to it;
 * - a SyncStep2 or Update (`[0, 1 | 2, update]`): the server sends only committed state, so
 *   the clocks in it are durable too. This is how an observer learns that other people's
 *   edits are saved without a notice of its own.
 * The document is saved exactly when that vector covers the local one: every client's clock
 * in the local state vector is <= the server's.
 *
 * A deletion adds no clock to a state vector, so a local edit that deletes also counts as
 * unsaved until the server's next notice (not the greeting of a new connection).
 */
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'

const MESSAGE_SYNC = 0
const SYNC_STEP_1 = 0
const SYNC_STEP_2 = 1
const SYNC_UPDATE = 2

/** @typedef {Map<number, number>} StateVector */

/**
 * @param {StateVector} server the server's state vector
 * @param {StateVector} local the local state vector
 * @returns {boolean} whether every local clock is covered by the server's
 */
export function covers (server, local) {
  for (const [client, clock] of local) {
    if (clock > (server.get(client) ?? 0)) return false
  }
  return true
}

/**
 * @param {StateVector} into raised to the larger clock of each client
 * @param {StateVector} vector
 */
function raise (into, vector) {
  for (const [client, clock] of vector) {
    if (clock > (into.get(client) ?? 0)) into.set(client, clock)
  }
}

/**
 * @typedef {object} SavedTracker
 * @property {() => boolean} saved
 * @property {(listener: (saved: boolean) => void) => void} onChange
 */

/**
 * @param {Y.Doc} doc
 * @param {import('y-websocket').WebsocketProvider} provider
 * @param {Set<unknown>} loadOrigins transaction origins that load stored state rather than
 *   make an edit (the IndexedDB persistence); their deletions are not new
 * @returns {SavedTracker}
 */
export function trackSaved (doc, provider, loadOrigins) {
  /** @type {StateVector} */
  let durable = new Map()
  let deletionPending = false
  let greetingExpected = true
  let saved = false
  /** @type {Set<(saved: boolean) => void>} */
  const listeners = new Set()

  const recompute = () => {
    const next = !deletionPending && covers(durable, Y.decodeStateVector(Y.encodeStateVector(doc)))
    if (next === saved) return
    saved = next
    for (const listener of listeners) listener(saved)
  }

  /** @param {decoding.Decoder} decoder positioned after the message type */
  const learn = (decoder) => {
    const peek = decoding.clone(decoder)
    const kind = decoding.readVarUint(peek)
    const payload = decoding.readVarUint8Array(peek)
    if (kind === SYNC_STEP_1) {
      const vector = Y.decodeStateVector(payload)
      if (greetingExpected) {
        greetingExpected = false
        durable = vector
      } else {
        deletionPending = false
        raise(durable, vector)
      }
    } else if (kind === SYNC_STEP_2 || kind === SYNC_UPDATE) {
      raise(durable, Y.parseUpdateMeta(payload).to) // where each client's structs in it end
    }
  }

  const syncHandler = provider.messageHandlers[MESSAGE_SYNC]
  provider.messageHandlers[MESSAGE_SYNC] = (encoder, decoder, prov, emitSynced, messageType) => {
    // emitSynced is false for messages from other tabs (BroadcastChannel): not the server
    if (emitSynced) {
      try {
        learn(decoder)
      } catch { /* malformed: the handler below reports it */ }
    }
    syncHandler(encoder, decoder, prov, emitSynced, messageType)
    recompute()
  }

  provider.on('status', ({ status }) => {
    if (status === 'connected') greetingExpected = true
  })
  doc.on('afterTransaction', (tr) => {
    const edit = tr.origin !== provider && !loadOrigins.has(tr.origin)
    if (edit && tr.deleteSet.clients.size > 0) deletionPending = true
    recompute()
  })
  recompute()

  return {
    saved: () => saved,
    onChange: (listener) => { listeners.add(listener) }
  }
}
