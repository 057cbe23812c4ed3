/**
 * Entry point: the server's HTML shell names the page in <body data-page> (documents, editor,
 * not-found) and the document in data-document-id; each page builds itself into <main id="app">.
 */
import { documentsPage } from './documents-page.js'
import { editorPage } from './editor-page.js'
import { h } from './dom.js'
import { onLangChange, t, translated } from './i18n.js'
import { langSwitch } from './lang-switch.js'

/**
 * A page without a document: a heading and #error with the way back.
 * @param {HTMLElement} app
 * @param {string} titleKey
 * @param {string} messageKey
 */
function messagePage (app, titleKey, messageKey) {
  app.replaceChildren(
    h('header', { className: 'topbar' }, [
      translated(h('a', { className: 'brand', attrs: { href: '/' } }), 'app.name'),
      h('span', { className: 'spacer' }),
      langSwitch()
    ]),
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

/** @param {string} key */
function keepTitle (key) {
  const set = () => { document.title = t('page.title', { title: t(key), app: t('app.name') }) }
  onLangChange(set)
  set()
}

const app = document.getElementById('app') || document.body.appendChild(document.createElement('main'))
const { page, documentId } = document.body.dataset

if (page === 'editor' && documentId) {
  editorPage(app, documentId)
} else if (page === 'editor' || page === 'not-found') {
  keepTitle('page.not_found')
  messagePage(app, 'page.not_found', page === 'editor' ? 'error.no_document' : 'error.not_found')
} else {
  keepTitle('page.documents')
  documentsPage(app)
}
