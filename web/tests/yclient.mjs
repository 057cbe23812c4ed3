#!/usr/bin/env node
// A real, unmodified y-websocket client, driven over JSON lines, for the Python tests.
//
// stdin, one command a line (an optional "id" is echoed in the reply):
//   {"cmd":"connect","url":"ws://127.0.0.1:PORT/sync","room":"ID","params":{...}}
//   {"cmd":"insert","index":N,"text":"..."}      {"cmd":"delete","index":N,"length":N}
//   {"cmd":"text"}        -> {"event":"text","text":"..."}
//   {"cmd":"disconnect"}  {"cmd":"reconnect"}
//   {"cmd":"awareness","state":{...}}          (awareness.setLocalState; null clears it)
//   {"cmd":"peers"}       -> {"event":"peers","states":{"clientId":state}}  (all but our own)
//   {"cmd":"state"}       -> {"event":"state","state":"BASE64"}  (Y.encodeStateAsUpdate)
//   {"cmd":"exit"}
// stdout, one event a line:
//   replies: the event above, or {"event":"reply","cmd":"..."}, with "ok":true and the "id";
//            {"event":"error","ok":false,"error":"..."} for a command that failed;
//            connect's reply carries "clientId" (this doc's Yjs client id)
//   spontaneous: {"event":"status","status":"connected|disconnected|connecting"}
//                {"event":"synced"}
//                {"event":"close","code":N,"reason":"..."}  (the provider's connection-close;
//                    code and reason are null when the client closed the socket itself)
//                {"event":"text","text":"...","remote":bool}  whenever Y.Text 'content' changes
//                {"event":"awareness","states":{...}}  on any awareness change (all but our own)
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import { createInterface } from 'node:readline'

const doc = new Y.Doc()
const text = doc.getText('content')
/** @type {WebsocketProvider | null} */
let provider = null

/** @param {Record<string, unknown>} event */
function emit (event) {
  process.stdout.write(JSON.stringify(event) + '\n')
}

/** @param {WebsocketProvider} p */
function peerStates (p) {
  /** @type {Record<string, unknown>} */
  const states = {}
  p.awareness.getStates().forEach((state, clientId) => {
    if (clientId !== doc.clientID) states[String(clientId)] = state
  })
  return states
}

text.observe((event) => {
  emit({ event: 'text', text: text.toString(), remote: event.transaction.origin === provider })
})

function requireProvider () {
  if (provider === null) throw new Error('not connected: send "connect" first')
  return provider
}

/**
 * @param {any} msg a parsed command
 * @returns {Record<string, unknown>} the reply, before "cmd", "ok" and "id" are added
 */
function run (msg) {
  switch (msg.cmd) {
    case 'connect': {
      if (provider !== null) throw new Error('already connected')
      if (typeof msg.url !== 'string' || typeof msg.room !== 'string') {
        throw new Error('connect needs "url" and "room" strings')
      }
      const p = new WebsocketProvider(msg.url, msg.room, doc, {
        WebSocketPolyfill: /** @type {any} */ (WebSocket),
        disableBc: true,
        params: msg.params || {},
        connect: false
      })
      p.on('status', ({ status }) => emit({ event: 'status', status }))
      p.on('sync', (synced) => { if (synced) emit({ event: 'synced' }) })
      p.on('connection-close', (event) => {
        emit({ event: 'close', code: event ? event.code : null, reason: event ? event.reason : null })
      })
      p.on('connection-error', () => emit({ event: 'connection-error' }))
      p.awareness.on('change', () => emit({ event: 'awareness', states: peerStates(p) }))
      provider = p
      p.connect()
      return { event: 'reply', clientId: doc.clientID }
    }
    case 'insert':
      text.insert(msg.index, String(msg.text))
      return { event: 'reply' }
    case 'delete':
      text.delete(msg.index, msg.length)
      return { event: 'reply' }
    case 'text':
      return { event: 'text', text: text.toString() }
    case 'disconnect':
      requireProvider().disconnect()
      return { event: 'reply' }
    case 'reconnect':
      requireProvider().connect()
      return { event: 'reply' }
    case 'awareness':
      requireProvider().awareness.setLocalState(msg.state === undefined ? null : msg.state)
      return { event: 'reply' }
    case 'peers':
      return { event: 'peers', states: peerStates(requireProvider()) }
    case 'state':
      return { event: 'state', state: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64') }
    case 'exit':
      shutdown(0)
      return { event: 'reply' }
    default:
      throw new Error(`unknown command: ${JSON.stringify(msg.cmd)}`)
  }
}

/** @param {number} code */
function shutdown (code) {
  if (provider !== null) provider.destroy()
  // let stdout drain, then leave even if a socket is still closing
  setTimeout(() => process.exit(code), 20)
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => {
  if (!line.trim()) return
  /** @type {any} */
  let msg = null
  try {
    msg = JSON.parse(line)
    const reply = run(msg)
    emit({ ...reply, cmd: msg.cmd, ok: true, ...(msg.id !== undefined ? { id: msg.id } : {}) })
  } catch (err) {
    emit({
      event: 'error',
      ok: false,
      error: err instanceof Error ? err.message : String(err),
      ...(msg && msg.id !== undefined ? { id: msg.id } : {})
    })
  }
})
lines.on('close', () => shutdown(0))
