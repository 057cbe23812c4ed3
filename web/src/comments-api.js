/**
 * Comments and suggestions over the JSON API (docs: the contract of issue 5).
 *
 * Offsets are UTF-16 code units of the current text; an anchor is a pair of base64-encoded
 * Yjs relative positions (anchors.js). Writes go through api.js's request (JSON, CSRF header);
 * a 409 with `retry: true` means the server has not seen the edits the anchor refers to yet.
 */
import { ApiError, enc, request } from './api.js'

const RETRY_MS = 500
const RETRIES = 20

/** @typedef {{ start: string, end: string }} Anchor */
/** @typedef {{ id: number, short_name: string, name: string, country: string }} ReviewOrganization */
/** @typedef {{ id: number, name: string, organization?: ReviewOrganization | null }} Person */
/** @typedef {{ by: Person, at: string, moderated: boolean }} Removal */

/**
 * @typedef {object} Reply
 * @property {number} id
 * @property {Person} author
 * @property {string} body
 * @property {Person[]} mentions
 * @property {string} created_at
 * @property {string | null} edited_at
 * @property {Removal | null} removed
 */

/**
 * @typedef {object} Thread
 * @property {number} id
 * @property {'comment' | 'suggestion'} kind
 * @property {'open' | 'resolved' | 'accepted' | 'rejected'} status
 * @property {Anchor} anchor
 * @property {string} quote the anchored text when the thread was made
 * @property {string | null} replacement a suggestion's new text
 * @property {{ from: number, to: number, line: number, end_line: number } | null} range on the server, now
 * @property {string} current the text between the anchors now
 * @property {boolean} deleted the anchored text is gone
 * @property {boolean} conflict a suggestion whose text changed since it was made
 * @property {Person} author
 * @property {string} body
 * @property {Person[]} mentions
 * @property {string} created_at
 * @property {string | null} edited_at
 * @property {Removal | null} removed
 * @property {{ by: Person, at: string } | null} resolved
 * @property {Reply[]} replies
 * @property {{ reply: boolean, edit: boolean, delete: boolean, resolve: boolean, decide: boolean }} can
 */

/**
 * @typedef {object} ThreadList
 * @property {Thread[]} threads in text order, those on deleted text last
 * @property {boolean} can_comment
 * @property {boolean} can_decide
 * @property {boolean} delegates_decide
 * @property {ReviewOrganization[]} organizations
 */

/**
 * @typedef {object} ThreadFilter
 * @property {'open' | 'resolved' | 'accepted' | 'rejected'} [status]
 * @property {'comment' | 'suggestion'} [kind]
 * @property {boolean} [mine]
 * @property {number} [organization]
 */

/** @param {string} id */
const base = (id) => `/api/documents/${enc(id)}`

/**
 * @param {string} id the document
 * @param {ThreadFilter} [filter]
 * @returns {Promise<ThreadList>}
 */
export async function listThreads (id, filter = {}) {
  const query = new URLSearchParams()
  if (filter.status) query.set('status', filter.status)
  if (filter.kind) query.set('kind', filter.kind)
  if (filter.mine) query.set('mine', '1')
  if (filter.organization !== undefined) query.set('organization', String(filter.organization))
  const qs = query.toString()
  const data = await request('GET', `${base(id)}/comments${qs ? '?' + qs : ''}`)
  return {
    threads: Array.isArray(data && data.threads) ? data.threads : [],
    can_comment: Boolean(data && data.can_comment),
    can_decide: Boolean(data && data.can_decide),
    delegates_decide: Boolean(data && data.delegates_decide),
    organizations: Array.isArray(data && data.organizations) ? data.organizations : []
  }
}

/**
 * @param {string} id
 * @param {{ body: string, anchor: Anchor, quote: string }} comment
 * @returns {Promise<Thread>}
 */
export function createComment (id, comment) {
  return request('POST', `${base(id)}/comments`, comment)
}

/**
 * @param {string} id
 * @param {{ body: string, anchor: Anchor, quote: string, replacement: string }} suggestion
 * @returns {Promise<Thread>}
 */
export function createSuggestion (id, suggestion) {
  return request('POST', `${base(id)}/suggestions`, suggestion)
}

/**
 * @param {string} id
 * @param {number} threadId
 * @param {string} body
 * @returns {Promise<Thread>}
 */
export function reply (id, threadId, body) {
  return request('POST', `${base(id)}/comments/${enc(threadId)}/replies`, { body })
}

/**
 * Change the text of a root comment or a reply (its author only).
 * @param {string} id
 * @param {number} commentId
 * @param {string} body
 * @returns {Promise<Thread>}
 */
export function editComment (id, commentId, body) {
  return request('PATCH', `${base(id)}/comments/${enc(commentId)}`, { body })
}

/**
 * Remove a root comment or a reply: its author, or a chair (moderation).
 * @param {string} id
 * @param {number} commentId
 * @returns {Promise<Thread>}
 */
export function deleteComment (id, commentId) {
  return request('DELETE', `${base(id)}/comments/${enc(commentId)}`)
}

/**
 * @param {string} id
 * @param {number} threadId
 * @returns {Promise<Thread>}
 */
export function resolveThread (id, threadId) {
  return request('POST', `${base(id)}/comments/${enc(threadId)}/resolve`)
}

/**
 * @param {string} id
 * @param {number} threadId
 * @returns {Promise<Thread>}
 */
export function reopenThread (id, threadId) {
  return request('POST', `${base(id)}/comments/${enc(threadId)}/reopen`)
}

/**
 * Apply a suggestion to the text. 409 with `conflict: {quote, current}` if the text changed.
 * @param {string} id
 * @param {number} threadId
 * @returns {Promise<Thread>}
 */
export function acceptSuggestion (id, threadId) {
  return request('POST', `${base(id)}/suggestions/${enc(threadId)}/accept`)
}

/**
 * @param {string} id
 * @param {number} threadId
 * @returns {Promise<Thread>}
 */
export function rejectSuggestion (id, threadId) {
  return request('POST', `${base(id)}/suggestions/${enc(threadId)}/reject`)
}

/**
 * Chairs only: may delegates accept and reject suggestions?
 * @param {string} id
 * @param {boolean} delegatesDecide
 * @returns {Promise<{ delegates_decide: boolean }>}
 */
export function updateReviewSettings (id, delegatesDecide) {
  return request('PUT', `${base(id)}/settings`, { delegates_decide: delegatesDecide })
}

/**
 * Mark my notices on this document (replies to my threads, mentions of me) read.
 * @param {string} id
 * @returns {Promise<{ unread: number }>}
 */
export function markNoticesRead (id) {
  return request('POST', `${base(id)}/notices/read`)
}

/**
 * The live events of a document (Server-Sent Events, same-origin cookie).
 * @param {string} id
 */
export function reviewEventsUrl (id) {
  return `${base(id)}/events`
}

/**
 * `call`, again every RETRY_MS while the server answers 409 with `retry: true` (it has not
 * yet seen the edits a new thread's anchor refers to), at most RETRIES times.
 * @template T
 * @param {() => Promise<T>} call
 * @returns {Promise<T>}
 */
export async function retrying (call) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call()
    } catch (err) {
      const retry = err instanceof ApiError && err.status === 409 && err.data && err.data.retry
      if (!retry || attempt >= RETRIES) throw err
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
    }
  }
}
