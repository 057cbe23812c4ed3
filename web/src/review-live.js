/**
 * Live review events: an EventSource on /api/documents/{id}/events (same-origin cookie).
 * `thread` events carry a thread as this viewer sees it, `settings` events the document's
 * review settings, `status` events the document's new status (so that an editor that is
 * already read-only learns that the text was ratified). EventSource reconnects by itself; after a reconnection `onReconnect` asks
 * for the whole list again, since events sent meanwhile are lost.
 */
import { reviewEventsUrl } from './comments-api.js'

/**
 * @param {string} id the document
 * @param {object} handlers
 * @param {(thread: import('./comments-api.js').Thread) => void} handlers.onThread
 * @param {(settings: { delegates_decide: boolean }) => void} handlers.onSettings
 * @param {() => void} handlers.onReconnect
 * @param {(status: { status: string, revised_by: string | null }) => void} [handlers.onStatus]
 *   the document's status changed (draft, review, ratified) or a revision was started
 * @returns {{ close: () => void }}
 */
export function reviewEvents (id, { onThread, onSettings, onReconnect, onStatus }) {
  const source = new EventSource(reviewEventsUrl(id))
  let opened = false
  /** @param {(data: any) => void} handle */
  const json = (handle) => (/** @type {Event} */ event) => {
    try {
      handle(JSON.parse(/** @type {MessageEvent} */ (event).data))
    } catch { /* not JSON: ignore */ }
  }
  source.addEventListener('open', () => {
    if (opened) onReconnect()
    opened = true
  })
  source.addEventListener('thread', json(onThread))
  source.addEventListener('settings', json(onSettings))
  if (onStatus) source.addEventListener('status', json(onStatus))
  window.addEventListener('pagehide', () => source.close())
  return { close: () => source.close() }
}
