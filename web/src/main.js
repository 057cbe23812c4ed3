/**
 * Entry point: the server's HTML shell names the page in <body data-page> (login, link,
 * account, documents, editor, dashboard, ratified, verify, not-found), the document in data-document-id and a one-time
 * link's token in data-token; each page builds itself into <main id="app">.
 *
 * On the pages for signed-in people, /api/me is asked once (the top bar, the language) and a
 * 401 from any call goes to the login page, which comes back here afterwards.
 */
import { accountPage } from './account-page.js'
import { dashboardPage } from './dashboard-page.js'
import { documentsPage } from './documents-page.js'
import { editorPage } from './editor-page.js'
import { h } from './dom.js'
import { translated } from './i18n.js'
import { linkPage } from './link-page.js'
import { loginPage } from './login-page.js'
import { ratifiedPage } from './ratified-page.js'
import { setPageTitle } from './page-title.js'
import { currentUser, requireSignIn } from './session.js'
import { topbar } from './topbar.js'
import { verifyPage } from './verify-page.js'

/**
 * A page without a document (or with a link that cannot work): a heading and #error with
 * the way back.
 * @param {HTMLElement} app
 * @param {string} titleKey
 * @param {string} messageKey
 * @param {Promise<import('./api.js').Me>} [me]
 */
function messagePage (app, titleKey, messageKey, me) {
  setPageTitle(titleKey)
  app.replaceChildren(
    topbar({ me }),
    h('div', { className: 'page documents' }, [
      translated(h('h1', {}), titleKey),
      h('p', { id: 'error', className: 'error', attrs: { role: 'alert' } }, [
        translated(h('span', {}), messageKey),
        ' ',
        translated(h('a', { attrs: { href: '/' } }), 'error.back')
      ])
    ])
  )
}

const app = document.getElementById('app') || document.body.appendChild(document.createElement('main'))
const { page, documentId, token } = document.body.dataset

if (page === 'login') {
  setPageTitle('page.login')
  loginPage(app)
} else if (page === 'link') {
  if (token) linkPage(app, token)
  else messagePage(app, 'page.link', 'link.invalid')
} else if (page === 'editor' && documentId) {
  requireSignIn()
  editorPage(app, documentId, currentUser())
} else if (page === 'editor' || page === 'not-found') {
  requireSignIn()
  messagePage(app, 'page.not_found', page === 'editor' ? 'error.no_document' : 'error.not_found', currentUser())
} else if (page === 'dashboard') {
  requireSignIn()
  setPageTitle('page.dashboard')
  dashboardPage(app, currentUser())
} else if (page === 'ratified' && documentId) {
  requireSignIn()
  setPageTitle('page.ratified')
  ratifiedPage(app, documentId, currentUser())
} else if (page === 'public' && token) {
  setPageTitle('page.public')
  ratifiedPage(app, token, null)
} else if (page === 'verify') {
  // no requireSignIn: whoever the server lets verify may (a 401 is answered on the page)
  setPageTitle('page.verify')
  verifyPage(app, currentUser())
} else if (page === 'account') {
  requireSignIn()
  setPageTitle('page.account')
  accountPage(app, currentUser())
} else {
  requireSignIn()
  setPageTitle('page.documents')
  documentsPage(app, currentUser())
}
