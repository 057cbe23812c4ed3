/**
 * The connection badge (#status) and what a deliberate close by the server means.
 *
 * data-status is the provider's own status: connected | connecting | disconnected. The label
 * says "reconnecting" once a connection was lost or failed, and "offline" when the browser
 * knows it has no network or the server closed the connection for good.
 */
import { h } from './dom.js'
import { onLangChange, t } from './i18n.js'

/** @typedef {import('y-websocket').WebsocketProvider} WebsocketProvider */
/** @typedef {'connected' | 'connecting' | 'disconnected'} Status */

/**
 * @param {WebsocketProvider} provider
 * @returns {HTMLElement}
 */
export function connectionBadge (provider) {
  const badge = h('span', { id: 'status', className: 'badge', attrs: { role: 'status' } })
  /** @type {Status} */
  let status = provider.wsconnected ? 'connected' : provider.wsconnecting ? 'connecting' : 'disconnected'
  let retrying = false // a connection was lost, or an attempt failed

  const render = () => {
    badge.dataset.status = status
    let key = 'status.connected'
    if (status === 'disconnected' || (status === 'connecting' && navigator.onLine === false)) {
      key = 'status.offline'
    } else if (status === 'connecting') {
      key = retrying ? 'status.reconnecting' : 'status.connecting'
    }
    badge.textContent = t(key)
  }

  provider.on('status', (event) => {
    // a failed attempt emits no 'disconnected', only the next 'connecting'
    if (event.status === 'disconnected' || (event.status === 'connecting' && status === 'connecting')) {
      retrying = true
    } else if (event.status === 'connected') {
      retrying = false
    }
    status = event.status
    render()
  })
  window.addEventListener('online', render)
  window.addEventListener('offline', render)
  onLangChange(render)
  render()
  return badge
}

/**
 * The message for a close code in the 4400-4499 range (the server's "do not retry").
 * @param {number} code
 * @returns {string}
 */
export function closeMessage (code) {
  if (code === 4404) return t('error.not_found')
  if (code === 4401) return t('error.unauthorized')
  if (code === 4403) return t('error.forbidden')
  return t('error.closed', { code })
}

/**
 * Stop for good when the server closes with 4400-4499, and report the code.
 * @param {WebsocketProvider} provider
 * @param {(code: number) => void} onFinalClose
 */
export function stopOnFinalClose (provider, onFinalClose) {
  provider.on('connection-close', (event) => {
    if (!event || event.code < 4400 || event.code > 4499) return
    // y-websocket 3.1 already stops for these codes; disconnect() makes it explicit (and
    // survives a provider that does not), once the provider has finished handling the close
    queueMicrotask(() => provider.disconnect())
    onFinalClose(event.code)
  })
}

/**
 * y-websocket answers some messages (a SyncStep2 to a SyncStep1, awareness to a query) by
 * sending on the socket the message came from without checking it is still open; a message
 * handled while the socket is closing then makes the browser log an error. Such an answer
 * is useless (the next connection starts with a full exchange), so it is dropped.
 * @param {WebsocketProvider} provider
 */
export function dropAnswersOnClosingSocket (provider) {
  provider.messageHandlers.forEach((handler, type) => {
    provider.messageHandlers[type] = (encoder, decoder, prov, emitSynced, messageType) => {
      handler(encoder, decoder, prov, emitSynced, messageType)
      const ws = provider.ws
      if (emitSynced && ws && ws.readyState !== ws.OPEN) {
        encoder.cpos = 0
        encoder.bufs = []
      }
    }
  })
}

/**
 * Resolves once the provider has synced with the server (at once if it already has).
 * @param {WebsocketProvider} provider
 * @returns {Promise<void>}
 */
export function whenSynced (provider) {
  if (provider.synced) return Promise.resolve()
  return new Promise((resolve) => {
    /** @param {boolean} synced */
    const done = (synced) => {
      if (!synced) return
      provider.off('sync', done)
      resolve()
    }
    provider.on('sync', done)
  })
}
