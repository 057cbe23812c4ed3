/**
 * The page's <title>: "{title} · Accord", following language changes.
 */
import { onLangChange, t } from './i18n.js'

/** @type {() => string} */
let title = () => ''
let listening = false

const render = () => {
  document.title = t('page.title', { title: title(), app: t('app.name') })
}

/**
 * @param {string | (() => string)} titleOrKey a catalog key, or a function giving the text
 */
export function setPageTitle (titleOrKey) {
  title = typeof titleOrKey === 'string' ? () => t(titleOrKey) : titleOrKey
  if (!listening) {
    listening = true
    onLangChange(render)
  }
  render()
}
