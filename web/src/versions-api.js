/**
 * The server's JSON API for versions, the status of a document, ratification, adoption by
 * each organization, verification and the audit trail (see docs/protocol.md). Calls go
 * through api.js (cookie, CSRF header, errors as ApiError), except the verification upload,
 * which sends a file's raw bytes.
 */
import { ApiError, csrfToken, enc, request } from './api.js'

/** @typedef {'draft' | 'review' | 'ratified'} DocStatus */
/** @typedef {'named' | 'auto' | 'status' | 'ratified' | 'restore'} VersionKind */
/** @typedef {'adopted' | 'adopted_with_reservations' | 'rejected' | 'pending'} Decision */
/** @typedef {'md' | 'html' | 'pdf'} ExportFormat */

/** @type {readonly Decision[]} */
export const DECISIONS = ['adopted', 'adopted_with_reservations', 'rejected', 'pending']
/** @type {readonly ExportFormat[]} */
export const EXPORT_FORMATS = ['md', 'html', 'pdf']

/**
 * @typedef {object} Organization
 * @property {string | number} [id]
 * @property {string} short_name
 * @property {string} name
 * @property {string} [country]
 */

/** @typedef {{ id: string | number, name: string }} PersonRef */

/**
 * @typedef {object} Version
 * @property {number} number
 * @property {string | null} name
 * @property {VersionKind} kind
 * @property {DocStatus} status the document's status when it was taken
 * @property {string} sha256
 * @property {string} created_at
 * @property {PersonRef | null} created_by
 * @property {Array<PersonRef & { organization: Organization | null }>} editors who edited since the previous version
 * @property {string[]} organizations their organizations (short names)
 * @property {string} [markdown] only from getVersion
 * @property {string} [html] only from getVersion
 */

/**
 * @typedef {object} Diff
 * @property {number | 'current'} from
 * @property {number | 'current'} to
 * @property {Array<[string, string]>} ops equal | insert | delete | skip, with their text
 * @property {{ inserted_words: number, deleted_words: number }} stats
 */

/**
 * @typedef {object} Adoption
 * @property {Organization} organization
 * @property {Decision} decision
 * @property {string | null} reservations
 * @property {string | null} body
 * @property {string | null} date
 * @property {string | null} notes
 * @property {PersonRef | null} recorded_by
 * @property {string | null} recorded_at
 * @property {Adoption[]} [history]
 */

/**
 * @typedef {object} Ratified
 * @property {string} document_id
 * @property {string} title
 * @property {Version} version
 * @property {string} markdown
 * @property {string} html
 * @property {string} sha256
 * @property {string} body the deciding body
 * @property {string} date
 * @property {{ for: number, against: number, abstentions: number }} votes
 * @property {string | null} notes
 * @property {PersonRef | null} ratified_by
 * @property {string} ratified_at
 * @property {string | null} public_url
 * @property {Adoption[]} adoptions
 * @property {string[]} [can_record] organizations (short names) this person may record for
 * @property {boolean} [can_publish]
 */

/**
 * @typedef {object} RatifiedSummary
 * @property {string} document_id
 * @property {string} title
 * @property {string} sha256
 * @property {string} date
 * @property {string} body
 * @property {string} ratified_at
 * @property {Record<string, Decision>} adoptions by organization short name
 */

/**
 * @typedef {object} Ratification
 * @property {string} body
 * @property {string} date YYYY-MM-DD
 * @property {number} votes_for
 * @property {number} votes_against
 * @property {number} abstentions
 * @property {string} notes
 */

/**
 * @typedef {object} AdoptionRecord
 * @property {string} organization short name
 * @property {Decision} decision
 * @property {string} reservations
 * @property {string} body
 * @property {string} date
 * @property {string} notes
 */

/**
 * @typedef {object} VerifyMatch
 * @property {string} document_id
 * @property {string} title
 * @property {string} sha256
 * @property {'exact' | 'normalized' | 'export' | 'embedded'} how
 * @property {string} ratified_at
 * @property {string} date
 * @property {string} body
 */

/**
 * @typedef {object} VerifyResult
 * @property {VerifyMatch | null} match
 * @property {string} sha256 of what was sent
 * @property {'markdown' | 'html' | 'pdf'} kind
 */

/**
 * @typedef {object} AuditEntry
 * @property {number} seq
 * @property {string} time
 * @property {PersonRef | string | null} actor
 * @property {string} action
 * @property {string | null} document_id
 * @property {Record<string, unknown> | null} details
 */

const doc = (/** @type {string} */ id) => `/api/documents/${enc(id)}`

// -- versions -------------------------------------------------------------------------------

/**
 * @param {string} id
 * @returns {Promise<{ versions: Version[], can_snapshot: boolean }>}
 */
export async function listVersions (id) {
  const data = await request('GET', `${doc(id)}/versions`)
  return {
    versions: Array.isArray(data && data.versions) ? data.versions : [],
    can_snapshot: Boolean(data && data.can_snapshot)
  }
}

/**
 * @param {string} id
 * @param {string} name
 * @returns {Promise<Version>}
 */
export function createVersion (id, name) {
  return request('POST', `${doc(id)}/versions`, { name })
}

/**
 * @param {string} id
 * @param {number} number
 * @returns {Promise<Version>} with its markdown and html
 */
export function getVersion (id, number) {
  return request('GET', `${doc(id)}/versions/${enc(number)}`)
}

/**
 * @param {string} id
 * @param {number | 'current'} from
 * @param {number | 'current'} to
 * @returns {Promise<Diff>}
 */
export function getDiff (id, from, to) {
  return request('GET', `${doc(id)}/diff?from=${enc(from)}&to=${enc(to)}`)
}

/**
 * @param {string} id
 * @param {number} number
 * @returns {Promise<{ version: Version }>}
 */
export function restoreVersion (id, number) {
  return request('POST', `${doc(id)}/versions/${enc(number)}/restore`)
}

/**
 * Where a version's export downloads from.
 * @param {string} id
 * @param {number} number
 * @param {ExportFormat} format
 */
export function versionExportUrl (id, number, format) {
  return `${doc(id)}/versions/${enc(number)}/export?format=${format}`
}

// -- status, ratification, revision ----------------------------------------------------------

/**
 * @param {string} id
 * @param {'draft' | 'review'} status
 * @returns {Promise<import('./api.js').DocumentDetail>}
 */
export function setStatus (id, status) {
  return request('PUT', `${doc(id)}/status`, { status })
}

/**
 * @param {string} id
 * @param {Ratification} decision
 * @returns {Promise<Ratified>}
 */
export function ratify (id, decision) {
  return request('POST', `${doc(id)}/ratify`, decision)
}

/**
 * @param {string} id
 * @returns {Promise<{ id: string }>} the new draft
 */
export function startRevision (id) {
  return request('POST', `${doc(id)}/revision`)
}

// -- ratified texts and adoption ------------------------------------------------------------

/** @returns {Promise<{ texts: RatifiedSummary[], organizations: Organization[] }>} */
export async function listRatified () {
  const data = await request('GET', '/api/ratified')
  return {
    texts: Array.isArray(data && data.texts) ? data.texts : [],
    organizations: Array.isArray(data && data.organizations) ? data.organizations : []
  }
}

/**
 * @param {string} id
 * @returns {Promise<Ratified>}
 */
export function getRatified (id) {
  return request('GET', `/api/ratified/${enc(id)}`)
}

/**
 * A ratified text a chair published, for anyone (no sign-in).
 * @param {string} slug
 * @returns {Promise<Ratified>}
 */
export function getPublic (slug) {
  return request('GET', `/api/public/${enc(slug)}`)
}

/**
 * @param {string} id
 * @param {ExportFormat} format
 */
export function ratifiedExportUrl (id, format) {
  return `/api/ratified/${enc(id)}/export?format=${format}`
}

/**
 * @param {string} id
 * @param {AdoptionRecord} record
 * @returns {Promise<Adoption>}
 */
export function recordAdoption (id, record) {
  return request('POST', `/api/ratified/${enc(id)}/adoptions`, record)
}

/**
 * @param {string} id
 * @param {boolean} published
 * @returns {Promise<{ public_url: string | null }>}
 */
export function setPublic (id, published) {
  return request('PUT', `/api/ratified/${enc(id)}/public`, { public: published })
}

/**
 * The page of a ratified text, and the dashboard of them all.
 * @param {string} [id]
 */
export function ratifiedUrl (id) {
  return id ? `/ratified/${enc(id)}` : '/ratified'
}

// -- verification ---------------------------------------------------------------------------

/**
 * Send a file's bytes, exactly as they are, to be compared with the ratified texts.
 * @param {Blob} bytes a File, or text as a Blob (UTF-8)
 * @returns {Promise<VerifyResult>}
 */
export async function verifyBytes (bytes) {
  let response
  try {
    response = await fetch('/api/verify', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': 'application/octet-stream', 'X-CSRFToken': csrfToken() },
      body: bytes
    })
  } catch {
    throw new ApiError(0, 'network')
  }
  let data = null
  try {
    data = await response.json()
  } catch { /* not JSON */ }
  if (!response.ok) {
    const message = data && typeof data.error === 'string' ? data.error : response.statusText
    throw new ApiError(response.status, message || String(response.status), data)
  }
  return data
}

// -- the audit trail ------------------------------------------------------------------------

/**
 * @param {string} id
 * @returns {Promise<{ entries: AuditEntry[], chain_ok: boolean, chain_problem?: string | null }>}
 */
export async function getAudit (id) {
  const data = await request('GET', `${doc(id)}/audit`)
  return {
    entries: Array.isArray(data && data.entries) ? data.entries : [],
    chain_ok: Boolean(data && data.chain_ok),
    chain_problem: data ? data.chain_problem : null
  }
}
