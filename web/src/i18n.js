/**
 * Interface strings, from the one catalog the server shares (server/i18n/messages.json).
 *
 * Elements marked with `translated()` carry their key in data attributes and are rewritten by
 * `setLang()` without a reload; anything else that shows text subscribes with `onLangChange()`.
 */
import messages from '../../server/i18n/messages.json'
import { load, save } from './storage.js'

/** @typedef {'en' | 'es'} Lang */
/** @typedef {Record<string, string | number>} Params */

/** @type {readonly Lang[]} */
export const LANGS = ['en', 'es']
const STORAGE_KEY = 'accord.lang'

/** @type {Record<Lang, Record<string, string>>} */
const catalog = messages

/** @type {Set<(lang: Lang) => void>} */
const listeners = new Set()

/**
 * @param {unknown} value
 * @returns {value is Lang}
 */
function isLang (value) {
  return value === 'en' || value === 'es'
}

/**
 * The stored choice, else Spanish if the first Spanish-or-English preference is Spanish
 * (until the account's language arrives: `useAccountLang()`).
 * @returns {Lang}
 */
function initialLang () {
  const stored = load(STORAGE_KEY)
  if (isLang(stored)) return stored
  const preferred = navigator.languages && navigator.languages.length
    ? navigator.languages
    : [navigator.language || 'en']
  for (const tag of preferred) {
    const base = tag.toLowerCase().split('-')[0]
    if (base === 'es' || base === 'en') return base
  }
  return 'en'
}

/** @type {Lang} */
let lang = initialLang()
document.documentElement.lang = lang

/** @returns {Lang} */
export function currentLang () {
  return lang
}

/**
 * The text for `key` in the current language, with `{name}` placeholders filled in.
 * @param {string} key
 * @param {Params} [params]
 * @returns {string}
 */
export function t (key, params) {
  const text = catalog[lang][key] ?? catalog.en[key] ?? key
  if (!params) return text
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole))
}

/**
 * Give `el` the text of `key` now and after every language change.
 * @template {HTMLElement} E
 * @param {E} el
 * @param {string} key
 * @param {Params} [params]
 * @returns {E}
 */
export function translated (el, key, params) {
  el.dataset.i18n = key
  if (params) el.dataset.i18nParams = JSON.stringify(params)
  else delete el.dataset.i18nParams
  el.textContent = t(key, params)
  return el
}

/**
 * Give attribute `attr` of `el` the text of `key` now and after every language change.
 * @template {HTMLElement} E
 * @param {E} el
 * @param {string} attr e.g. 'placeholder', 'aria-label'
 * @param {string} key
 * @returns {E}
 */
export function translatedAttr (el, attr, key) {
  const pairs = (el.dataset.i18nAttrs || '').split(';').filter((p) => p && !p.startsWith(attr + '='))
  pairs.push(`${attr}=${key}`)
  el.dataset.i18nAttrs = pairs.join(';')
  el.setAttribute(attr, t(key))
  return el
}

/** @param {ParentNode} root */
function retranslate (root) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    const node = /** @type {HTMLElement} */ (el)
    const params = node.dataset.i18nParams ? JSON.parse(node.dataset.i18nParams) : undefined
    node.textContent = t(/** @type {string} */ (node.dataset.i18n), params)
  }
  for (const el of root.querySelectorAll('[data-i18n-attrs]')) {
    const node = /** @type {HTMLElement} */ (el)
    for (const pair of (node.dataset.i18nAttrs || '').split(';')) {
      const [attr, key] = pair.split('=')
      if (attr && key) node.setAttribute(attr, t(key))
    }
  }
}

/** @param {Lang} next */
function apply (next) {
  lang = next
  document.documentElement.lang = next
  retranslate(document)
  for (const listener of listeners) listener(next)
}

/**
 * Switch the language of the whole page and remember it in this browser.
 * @param {string} next
 */
export function setLang (next) {
  if (!isLang(next)) return
  save(STORAGE_KEY, next)
  if (next !== lang) apply(next)
}

/**
 * The account's language: used unless this browser has a choice of its own.
 * @param {string} accountLang
 */
export function useAccountLang (accountLang) {
  if (!isLang(accountLang) || isLang(load(STORAGE_KEY)) || accountLang === lang) return
  apply(accountLang)
}

/**
 * @param {(lang: Lang) => void} listener
 * @returns {() => void} unsubscribe
 */
export function onLangChange (listener) {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
