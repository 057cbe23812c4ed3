/**
 * The server's JSON API. Errors arrive as `{"error": "message"}` with a 4xx or 5xx status.
 *
 * Every call sends the session cookie (same origin) and, unless it is a GET, the CSRF token:
 * header `X-CSRFToken` with the value of the `csrftoken` cookie the server sets. A 401 goes
 * to the handler installed with `onUnauthorized()` (the signed-in pages send the browser to
 * the login page); pages where a 401 is an answer (the login form) install none.
 */

/** @typedef {'chair' | 'delegate' | 'reviewer' | 'observer'} Role */

/**
 * @typedef {object} DocumentSummary
 * @property {string} id
 * @property {string} title
 * @property {string | number} created_at
 * @property {string | number} updated_at
 * @property {Role} [role]
 * @property {number} [unread] replies to my threads and mentions of me not yet read
 */

/**
 * @typedef {object} DocumentDetail
 * @property {string} id
 * @property {string} title
 * @property {string} markdown
 * @property {string} html
 * @property {string | number} updated_at
 * @property {Role} [role]
 */

/**
 * @typedef {object} Organization
 * @property {string} short_name
 * @property {string} name
 * @property {string} country
 */

/**
 * @typedef {object} Me
 * @property {string} id
 * @property {string} email
 * @property {string} name
 * @property {Organization | null} organization
 * @property {string} language
 * @property {boolean} is_admin
 * @property {boolean} can_create
 * @property {string} [color] the colour of the cursor, if the server picks it
 */

/**
 * @typedef {object} LinkInfo
 * @property {'setup' | 'invite' | 'password' | 'document'} kind
 * @property {string | null} email
 * @property {string | null} name
 * @property {{ title: string } | null} document
 * @property {Role | null} role
 * @property {boolean} signed_in
 */

/**
 * @typedef {object} Member
 * @property {string | number} user_id
 * @property {string} name
 * @property {string | null} email null unless the caller is a chair
 * @property {string | null} organization
 * @property {Role} role
 */

/**
 * @typedef {object} Invitation
 * @property {string | number} id
 * @property {Role} role
 * @property {string | null} email
 * @property {string | number} expires_at
 */

/**
 * @typedef {object} Members
 * @property {Member[]} members
 * @property {Invitation[]} invitations only for chairs
 * @property {boolean} can_manage
 */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} message
   * @param {Record<string, any> | null} [data] the whole JSON error body, e.g. {retry: true}
   */
  constructor (status, message, data = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.data = data
  }
}

/** @type {(() => void) | null} */
let unauthorized = null

/**
 * What to do when the server answers 401 (not signed in, or the session ended).
 * @param {() => void} handler
 */
export function onUnauthorized (handler) {
  unauthorized = handler
}

/** @returns {string} the `csrftoken` cookie, or '' */
export function csrfToken () {
  for (const pair of document.cookie.split(';')) {
    const [name, ...value] = pair.trim().split('=')
    if (name === 'csrftoken') return value.join('=') // as sent: the server compares it with the cookie
  }
  return ''
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>} the JSON body, or null when there is none (204)
 */
export async function request (method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  if (method !== 'GET') headers['X-CSRFToken'] = csrfToken()
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers }
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
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
  } catch { /* not JSON (or no body): keep null */ }
  if (response.status === 401 && unauthorized) {
    unauthorized()
    return new Promise(() => {}) // the page is going away: nobody shows an error
  }
  if (!response.ok) {
    const message = data && typeof data.error === 'string' ? data.error : response.statusText
    throw new ApiError(response.status, message || String(response.status), data && typeof data === 'object' ? data : null)
  }
  return data
}

/** @param {string | number} part */
export const enc = (part) => encodeURIComponent(part)

// -- documents ------------------------------------------------------------------------------

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
  return request('GET', `/api/documents/${enc(id)}`)
}

/**
 * The page of one document.
 * @param {string} id
 */
export function documentUrl (id) {
  return `/documents/${enc(id)}`
}

// -- the session and the account ------------------------------------------------------------

/**
 * Sign in. 401: wrong email or password; 429: too many attempts.
 * @param {string} email
 * @param {string} password
 * @returns {Promise<unknown>}
 */
export function login (email, password) {
  return request('POST', '/api/session', { email, password })
}

/** @returns {Promise<unknown>} */
export function logout () {
  return request('DELETE', '/api/session')
}

/** @returns {Promise<Me>} */
export function getMe () {
  return request('GET', '/api/me')
}

/**
 * @param {{ language?: string }} changes
 * @returns {Promise<unknown>}
 */
export function updateMe (changes) {
  return request('PUT', '/api/me', changes)
}

/**
 * @param {string} current
 * @param {string} next
 * @returns {Promise<unknown>}
 */
export function changePassword (current, next) {
  return request('POST', '/api/me/password', { current_password: current, new_password: next })
}

// -- links: first admin, invitations, password resets, invitations to a document -------------

/**
 * @param {string} token
 * @returns {Promise<LinkInfo>}
 */
export function getLink (token) {
  return request('GET', `/api/links/${enc(token)}`)
}

/**
 * @param {string} token
 * @param {{ name?: string, email?: string, password?: string, language?: string }} fields
 * @returns {Promise<{ redirect: string }>}
 */
export function useLink (token, fields) {
  return request('POST', `/api/links/${enc(token)}`, fields)
}

// -- the members of a document --------------------------------------------------------------

/**
 * @param {string} id
 * @returns {Promise<Members>}
 */
export async function listMembers (id) {
  const data = await request('GET', `/api/documents/${enc(id)}/members`)
  return {
    members: Array.isArray(data && data.members) ? data.members : [],
    invitations: Array.isArray(data && data.invitations) ? data.invitations : [],
    can_manage: Boolean(data && data.can_manage)
  }
}

/**
 * Add someone who has an account. 404: no account with that email.
 * @param {string} id
 * @param {string} email
 * @param {Role} role
 * @returns {Promise<unknown>}
 */
export function addMember (id, email, role) {
  return request('POST', `/api/documents/${enc(id)}/members`, { email, role })
}

/**
 * @param {string} id
 * @param {string | number} userId
 * @param {Role} role
 * @returns {Promise<unknown>}
 */
export function setMemberRole (id, userId, role) {
  return request('PUT', `/api/documents/${enc(id)}/members/${enc(userId)}`, { role })
}

/**
 * @param {string} id
 * @param {string | number} userId
 * @returns {Promise<unknown>}
 */
export function removeMember (id, userId) {
  return request('DELETE', `/api/documents/${enc(id)}/members/${enc(userId)}`)
}

/**
 * @param {string} id
 * @param {Role} role
 * @param {string} [email] only this address may use the link
 * @returns {Promise<{ url: string, expires_at: string | number }>}
 */
export function createInvitation (id, role, email) {
  return request('POST', `/api/documents/${enc(id)}/invitations`, email ? { role, email } : { role })
}

/**
 * @param {string} id
 * @param {string | number} invitationId
 * @returns {Promise<unknown>}
 */
export function revokeInvitation (id, invitationId) {
  return request('DELETE', `/api/documents/${enc(id)}/invitations/${enc(invitationId)}`)
}
