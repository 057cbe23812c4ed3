/**
 * The documents page: the documents this person is a member of, each with their role and the
 * number of unread review notices (.unread: replies to my threads, mentions of me) (#doc-list,
 * empty state #doc-empty), and for admins and chairs the form that creates one
 * (#new-doc-form: #new-title, #create-doc) and then opens it.
 */
import { createDocument, documentUrl, listDocuments } from './api.js'
import { formatDate, parseDate } from './dates.js'
import { h } from './dom.js'
import { errorBox } from './error-box.js'
import { onLangChange, t, translated, translatedAttr } from './i18n.js'
import { roleLabel } from './roles.js'
import { statusBadge } from './status-bar.js'
import { topbar } from './topbar.js'

/**
 * The stage of a document that is no longer a draft (in review, ratified).
 * @param {import('./api.js').DocumentSummary & { status?: string }} doc
 */
const stage = (doc) => (doc.status && doc.status !== 'draft' ? statusBadge(doc.status) : null)

/** @param {import('./api.js').DocumentSummary} doc */
function documentItem (doc) {
  const link = h('a', { attrs: { href: documentUrl(doc.id) } }, [doc.title || t('docs.untitled')])
  const role = doc.role ? h('span', { className: 'role', data: { role: doc.role } }, [roleLabel(doc.role)]) : null
  const date = parseDate(doc.updated_at)
  const updated = date
    ? h('time', { className: 'updated', attrs: { datetime: date.toISOString() } }, [
      t('docs.updated', { date: formatDate(date) })
    ])
    : null
  const unread = doc.unread
    ? h('span', { className: 'unread', attrs: { title: t('docs.unread_help') } }, [t('docs.unread', { count: doc.unread })])
    : null
  return h('li', { data: { documentId: doc.id } }, [
    h('span', { className: 'doc-main' }, [link, role, stage(doc), unread]),
    updated
  ])
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
    /**
     * @param {import('./api.js').DocumentSummary[]} docs
     * @param {boolean} canCreate
     */
    show (docs, canCreate) {
      documents = docs
      render()
      if (docs.length === 0) translated(status, canCreate ? 'docs.empty' : 'docs.empty_member')
      status.hidden = docs.length > 0
    }
  }
}

/**
 * The new-document form; on success the browser goes to the new document.
 * @param {import('./error-box.js').ErrorBox} error
 */
function newDocumentForm (error) {
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
    error.clear()
    try {
      const doc = await createDocument(text)
      window.location.assign(documentUrl(doc.id))
    } catch (err) {
      error.fail(err, 'error.create')
      create.disabled = false
      translated(create, 'docs.new.submit')
    }
  })
  return form
}

/**
 * @param {HTMLElement} app
 * @param {Promise<import('./api.js').Me>} me
 */
export function documentsPage (app, me) {
  const error = errorBox()
  const { list, status, show } = documentList()
  const form = newDocumentForm(error)
  form.hidden = true // until we know this person may create documents

  app.replaceChildren(
    topbar({ me, error }),
    h('div', { className: 'page documents' }, [
      translated(h('h1', {}), 'page.documents'),
      error.element,
      status,
      list,
      form
    ])
  )

  Promise.all([listDocuments(), me]).then(([docs, user]) => {
    form.hidden = !user.can_create
    show(docs, user.can_create)
  }).catch((err) => {
    status.hidden = true
    error.fail(err, 'error.load_documents')
  })
}
