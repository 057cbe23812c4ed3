/**
 * The top bar: the app's name (a link to the documents), what the page puts in the middle,
 * and on signed-in pages the links to the ratified texts (#nav-ratified) and to verifying a
 * copy (#nav-verify), the person's name (#account-link, to /account) and #logout.
 */
import { logout, updateMe } from './api.js'
import { h } from './dom.js'
import { translated } from './i18n.js'
import { langSwitch } from './lang-switch.js'

/**
 * @typedef {object} TopbarOptions
 * @property {Promise<import('./api.js').Me>} [me] absent on pages for people not signed in
 * @property {Array<Node | null>} [middle] after the app's name (a title)
 * @property {Array<Node | null>} [end] before the person's name (badges)
 * @property {import('./error-box.js').ErrorBox} [error] where a failed sign-out is told
 */

/**
 * @param {TopbarOptions} [options]
 * @returns {HTMLElement}
 */
export function topbar ({ me, middle = [], end = [], error } = {}) {
  const bar = h('header', { className: 'topbar' }, [
    translated(h('a', { className: 'brand', attrs: { href: '/' } }), 'app.name'),
    ...middle,
    h('span', { className: 'spacer' }),
    ...end
  ])
  if (!me) {
    bar.append(langSwitch())
    return bar
  }
  const account = h('a', { id: 'account-link', className: 'account-link', attrs: { href: '/account' } })
  account.hidden = true
  me.then((user) => {
    account.textContent = user.name
    account.hidden = false
  }, () => {})
  const out = translated(h('button', { id: 'logout', className: 'link-button', attrs: { type: 'button' } }), 'account.logout')
  out.addEventListener('click', async () => {
    out.disabled = true
    try {
      await logout()
      window.location.assign('/login')
    } catch (err) {
      out.disabled = false
      if (error) error.fail(err, 'error.logout')
    }
  })
  // a signed-in person's choice of language is the account's too (for every browser)
  const keepAccountLang = (/** @type {string} */ lang) => { updateMe({ language: lang }).catch(() => {}) }
  const nav = h('nav', { className: 'topnav' }, [
    translated(h('a', { id: 'nav-ratified', attrs: { href: '/ratified' } }), 'nav.ratified'),
    translated(h('a', { id: 'nav-verify', attrs: { href: '/verify' } }), 'nav.verify')
  ])
  bar.append(nav, account, langSwitch(keepAccountLang), out)
  return bar
}
