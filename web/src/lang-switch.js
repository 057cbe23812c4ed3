/**
 * The English / Español switcher (#lang-switch).
 */
import { h } from './dom.js'
import { LANGS, currentLang, setLang, translated } from './i18n.js'

/** @returns {HTMLElement} a label holding the select */
export function langSwitch () {
  const select = h('select', { id: 'lang-switch' }, LANGS.map((lang) => {
    // each language is named in its own tongue, from the catalog like every other string
    const option = translated(h('option', { attrs: { value: lang } }), `lang.${lang}`)
    option.setAttribute('lang', lang)
    return option
  }))
  select.value = currentLang()
  select.addEventListener('change', () => setLang(select.value))
  return h('label', { className: 'lang-switch' }, [
    translated(h('span', { className: 'visually-hidden' }), 'lang.label'),
    select
  ])
}
