/**
 * The English / Español switcher (#lang-switch), and the options of any language select.
 */
import { h } from './dom.js'
import { LANGS, currentLang, onLangChange, setLang, translated } from './i18n.js'

/**
 * A select of the app's languages that follows the page's language.
 * @param {string} id
 * @param {(lang: string) => void} onPick after the page switched to the picked language
 * @returns {HTMLSelectElement}
 */
export function langSelect (id, onPick) {
  const select = h('select', { id }, LANGS.map((lang) => {
    // each language is named in its own tongue, from the catalog like every other string
    const option = translated(h('option', { attrs: { value: lang } }), `lang.${lang}`)
    option.setAttribute('lang', lang)
    return option
  }))
  select.value = currentLang()
  onLangChange((lang) => { select.value = lang })
  select.addEventListener('change', () => {
    setLang(select.value)
    onPick(select.value)
  })
  return select
}

/**
 * @param {(lang: string) => void} [onPick] e.g. keep the account's language in step
 * @returns {HTMLElement} a label holding the select
 */
export function langSwitch (onPick = () => {}) {
  return h('label', { className: 'lang-switch' }, [
    translated(h('span', { className: 'visually-hidden' }), 'lang.label'),
    langSelect('lang-switch', onPick)
  ])
}
