/**
 * A labelled form field: <div class="field"><label for=id>…</label><input id=…></div>.
 */
import { h } from './dom.js'
import { translated } from './i18n.js'

/**
 * @template {HTMLInputElement | HTMLSelectElement} E
 * @param {string} labelKey
 * @param {E} control it has an id
 * @param {string} [helpKey] a line of help under the control
 * @returns {HTMLDivElement}
 */
export function field (labelKey, control, helpKey) {
  return h('div', { className: 'field' }, [
    translated(h('label', { attrs: { for: control.id } }), labelKey),
    control,
    helpKey ? translated(h('span', { className: 'hint' }), helpKey) : null
  ])
}

/**
 * @param {string} id
 * @param {string} type text, email, password
 * @param {Record<string, string>} [attrs]
 * @returns {HTMLInputElement}
 */
export function input (id, type, attrs = {}) {
  return h('input', { id, attrs: { type, name: id, ...attrs } })
}

/**
 * Disable a form's submit button while `work` runs, showing `busyKey` on it.
 * @param {HTMLButtonElement} button
 * @param {string} busyKey
 * @param {() => Promise<unknown>} work
 */
export async function busy (button, busyKey, work) {
  const key = button.dataset.i18n
  const params = button.dataset.i18nParams ? JSON.parse(button.dataset.i18nParams) : undefined
  button.disabled = true
  translated(button, busyKey)
  try {
    await work()
  } finally {
    button.disabled = false
    if (key) translated(button, key, params)
  }
}
