/**
 * localStorage that never throws (private modes and blocked storage make it throw).
 */

/**
 * @param {string} key
 * @returns {string | null}
 */
export function load (key) {
  try {
    return localStorage.getItem(key)
  } catch {
    return null
  }
}

/**
 * @param {string} key
 * @param {string} value
 */
export function save (key, value) {
  try {
    localStorage.setItem(key, value)
  } catch { /* the value lasts for this page only */ }
}
