/**
 * #error, the page's one alert. What it shows is a function of the language, so that a message
 * follows a language switch; the server's own text (`{"error": "..."}`) is shown as it came.
 */
import { ApiError } from './api.js'
import { h } from './dom.js'
import { onLangChange, t } from './i18n.js'

/** @typedef {() => Array<Node | string>} Content */

/**
 * The text for a failed call: the network message, or `key` (which has a {message}
 * placeholder) with the server's message.
 * @param {unknown} error
 * @param {string} key
 */
export function errorText (error, key) {
  if (error instanceof ApiError && error.status === 0) return t('error.network')
  return t(key, { message: error instanceof Error ? error.message : String(error) })
}

/**
 * @typedef {object} ErrorBox
 * @property {HTMLParagraphElement} element
 * @property {(content: Content | null) => void} show
 * @property {(error: unknown, key: string) => void} fail show `errorText(error, key)`
 * @property {(key: string) => void} say show the text of `key`
 * @property {() => void} clear
 * @property {(content: Content) => void} final show this, and nothing else from now on
 */

/** @returns {ErrorBox} */
export function errorBox () {
  const element = h('p', { id: 'error', className: 'error', attrs: { role: 'alert' } })
  /** @type {Content | null} */
  let content = null
  let locked = false
  const render = () => {
    element.replaceChildren(...(content ? content() : []))
    element.hidden = content === null
  }
  onLangChange(render)
  render()
  /** @param {Content | null} next */
  const show = (next) => {
    if (locked) return
    content = next
    render()
  }
  return {
    element,
    show,
    fail: (error, key) => show(() => [errorText(error, key)]),
    say: (key) => show(() => [t(key)]),
    clear: () => show(null),
    final: (next) => {
      show(next)
      locked = true
    }
  }
}
