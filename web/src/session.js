/**
 * The signed-in person: GET /api/me once per page, whose language becomes the page's unless
 * this browser chose one; the way to the login page and back.
 */
import { getMe, onUnauthorized } from './api.js'
import { useAccountLang } from './i18n.js'

/** @type {Promise<import('./api.js').Me> | null} */
let me = null

/** @returns {Promise<import('./api.js').Me>} */
export function currentUser () {
  if (!me) {
    me = getMe()
    me.then((user) => useAccountLang(user.language), () => {})
  }
  return me
}

/**
 * Where to go after signing in: a path on this site, else the documents page.
 * @param {string | null | undefined} next
 */
export function safeNext (next) {
  // "//host" and "/\host" are other sites to a browser
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/'
  return next
}

/**
 * The login page, coming back to `next` (this page by default).
 * @param {string} [next]
 */
export function loginUrl (next = window.location.pathname) {
  return '/login?next=' + encodeURIComponent(next)
}

/** On a signed-in page: a 401 from any call means "sign in again". */
export function requireSignIn () {
  onUnauthorized(() => window.location.assign(loginUrl()))
}
