/**
 * The roles a person has in a document, in the glossary's words, and what each may do.
 */
import { t } from './i18n.js'

/** @typedef {import('./api.js').Role} Role */

/** @type {readonly Role[]} from most to least rights */
export const ROLES = ['chair', 'delegate', 'reviewer', 'observer']

/** @type {Record<Role, string>} the role's name, as a label */
const LABELS = {
  chair: 'role.chair',
  delegate: 'role.delegate',
  reviewer: 'role.reviewer',
  observer: 'role.observer'
}

/**
 * @param {unknown} value
 * @returns {value is Role}
 */
export function isRole (value) {
  return typeof value === 'string' && ROLES.includes(/** @type {Role} */ (value))
}

/**
 * The catalog key of a role's name ('role.unknown' for anything else).
 * @param {unknown} role
 */
export function roleKey (role) {
  return isRole(role) ? LABELS[role] : 'role.unknown'
}

/** @param {unknown} role */
export function roleLabel (role) {
  return t(roleKey(role))
}

/**
 * Whether the role may change the text.
 * @param {unknown} role
 */
export function canEdit (role) {
  return role === 'chair' || role === 'delegate'
}
