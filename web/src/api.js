/**
 * The server's JSON API. Errors arrive as `{"error": "message"}` with a 4xx or 5xx status.
 */

/**
 * @typedef {object} DocumentSummary
 * @property {string} id
 * @property {string} title
 * @property {string | number} created_at
 * @property {string | number} updated_at
 */

/**
 * @typedef {object} DocumentDetail
 * @property {string} id
 * @property {string} title
 * @property {string} markdown
 * @property {string} html
 * @property {string | number} updated_at
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} message
   */
  constructor (status, message) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
async function request (method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } }
  if (body !== undefined) {
    init.headers = { accept: 'application/json', 'content-type': 'application/json' }
    init.body = JSON.stringify(body)
  }
  let response
  try {
    response = await fetch(path, init)
  } catch {
    throw new ApiError(0, 'network')
  }
  let data = null
  try {
    data = await response.json()
  } catch { /* not JSON: keep null */ }
  if (!response.ok) {
    const message = data && typeof data.error === 'string' ? data.error : response.statusText
    throw new ApiError(response.status, message || String(response.status))
  }
  return data
}

/** @returns {Promise<DocumentSummary[]>} */
export async function listDocuments () {
  const data = await request('GET', '/api/documents')
  return Array.isArray(data && data.documents) ? data.documents : []
}

/**
 * @param {string} title
 * @returns {Promise<DocumentSummary>}
 */
export function createDocument (title) {
  return request('POST', '/api/documents', { title })
}

/**
 * @param {string} id
 * @returns {Promise<DocumentDetail>}
 */
export function getDocument (id) {
  return request('GET', `/api/documents/${encodeURIComponent(id)}`)
}

/**
 * The page of one document.
 * @param {string} id
 */
export function documentUrl (id) {
  return `/documents/${encodeURIComponent(id)}`
}
