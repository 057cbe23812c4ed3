/**
 * The documents page: the list of documents (#doc-list, empty state #doc-empty) and the form
 * that creates one (#new-title, #create-doc) and then opens it.
 */
import { ApiError, createDocument, documentUrl, listDocuments } from './api.js'
import { formatDate, parseDate } from './dates.js'
import { h } from './dom.js'
import { onLangChange, t, translated, translatedAttr } from './i18n.js'
import { langSwitch } from './lang-switch.js'

/**
 * @param {unknown} error
 * @param {string} key a message with a {message} placeholder
 */
function errorText (error, key) {
  if (error instanceof ApiError && error.status === 0) return t('error.network')
  return t(key, { message: error instanceof Error ? error.message : String(error) })
}

/** @param {import('./api.js').DocumentSummary} doc */
function documentItem (doc) {
  const link = h('a', { attrs: { href: documentUrl(doc.id) } }, [doc.title || t('docs.untitled')])
  const date = parseDate(doc.updated_at)
  if (!date) return h('li', { data: { documentId: doc.id } }, [link])
  const updated = h('time', { className: 'updated', attrs: { datetime: date.toISOString() } }, [
    t('docs.updated', { date: formatDate(date) })
  ])
  return h('li', { data: { documentId: doc.id } }, [link, updated])
}

/** #doc-list and its status line, filled once the API answers. */
function documentList () {
  const list = h('ul', { id: 'doc-list', className: 'doc-list' })
  const status = translated(h('p', { id: 'doc-empty', className: 'empty' }), 'docs.loading')
  /** @type {import('./api.js').DocumentSummary[]} */
  let documents = []
  const render = () => {
    list.replaceChildren(...documents.map(documentItem))
    list.hidden = documents.length === 0
  }
  onLangChange(render)
  render()
  return {
    list,
    status,
    /** @param {import('./api.js').DocumentSummary[]} docs */
    show (docs) {
      documents = docs
      render()
      if (docs.length === 0) translated(status, 'docs.empty')
      status.hidden = docs.length > 0
    }
  }
}

/**
 * The new-document form; on success the browser goes to the new document.
 * @param {(message: string | null) => void} showError
 */
function newDocumentForm (showError) {
  const title = h('input', { id: 'new-title', attrs: { type: 'text', name: 'title', required: '', autocomplete: 'off' } })
  translatedAttr(title, 'placeholder', 'docs.new.placeholder')
  const create = translated(h('button', { id: 'create-doc', attrs: { type: 'submit' } }), 'docs.new.submit')
  const form = h('form', { id: 'new-doc-form', className: 'card new-doc' }, [
    translated(h('h2', {}), 'docs.new.heading'),
    h('div', { className: 'row' }, [
      translated(h('label', { className: 'visually-hidden', attrs: { for: 'new-title' } }), 'docs.new.label'),
      title,
      create
    ])
  ])
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const text = title.value.trim()
    if (!text) return
    create.disabled = true
    translated(create, 'docs.new.busy')
    showError(null)
    try {
      const doc = await createDocument(text)
      window.location.assign(documentUrl(doc.id))
    } catch (err) {
      showError(errorText(err, 'error.create'))
      create.disabled = false
      translated(create, 'docs.new.submit')
    }
  })
  return form
}

/** @param {HTMLElement} app */
export function documentsPage (app) {
  const error = h('p', { id: 'error', className: 'error', attrs: { role: 'alert' } })
  error.hidden = true
  /** @param {string | null} message */
  const showError = (message) => {
    error.textContent = message || ''
    error.hidden = !message
  }
  const { list, status, show } = documentList()

  app.replaceChildren(
    h('header', { className: 'topbar' }, [
      translated(h('span', { className: 'brand' }), 'app.name'),
      h('span', { className: 'spacer' }),
      langSwitch()
    ]),
    h('div', { className: 'page documents' }, [
      translated(h('h1', {}), 'page.documents'),
      error,
      status,
      list,
      newDocumentForm(showError)
    ])
  )

  listDocuments().then(show).catch((err) => {
    status.hidden = true
    showError(errorText(err, 'error.load_documents'))
  })
}
