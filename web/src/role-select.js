/**
 * A select of the four roles, named in the page's language.
 */
import { h } from './dom.js'
import { translated } from './i18n.js'
import { ROLES, roleKey } from './roles.js'

/**
 * @param {import('./api.js').Role} value
 * @param {{ id?: string, className?: string }} [props]
 * @returns {HTMLSelectElement}
 */
export function roleSelect (value, props = {}) {
  const select = h('select', props, ROLES.map((role) => translated(h('option', { attrs: { value: role } }), roleKey(role))))
  select.value = value
  return select
}
