/**
 * The document's stage on the editor page: the badge #doc-status (data-status = draft |
 * review | ratified) and, for chairs, what moves it on: #to-review (draft -> review),
 * #to-draft (review -> draft), #ratify-open (review -> ratified, ratify-dialog.js) and
 * #start-revision (a new draft from the ratified text). Links: #ratified-link to the ratified
 * text's page, #revision-link to the draft that revises it, #revision-of-link to the ratified
 * text a draft revises.
 *
 * The status comes from the access tracker (access.js), which asks for the document again
 * whenever the server says the connection became read-only or it reconnects, so a change made
 * by another chair shows here too (review -> ratified changes nothing on the connection, which
 * is read-only already: the document is asked for again when the tab comes back into view).
 * The server enforces the stages; this only offers them.
 */
import { documentUrl, getDocument } from './api.js'
import { h } from './dom.js'
import { translated } from './i18n.js'
import { ratifyDialog } from './ratify-dialog.js'
import { ratifiedUrl, setStatus, startRevision } from './versions-api.js'

/** @type {Record<string, string>} */
const LABELS = { draft: 'docstatus.draft', review: 'docstatus.review', ratified: 'docstatus.ratified' }

/**
 * @param {string} key
 * @param {string} id
 * @param {string} [className]
 */
const button = (key, id, className = 'secondary') =>
  translated(h('button', { id, className, attrs: { type: 'button' } }), key)

/**
 * The status badge, for the top bar.
 * @param {string | null} status
 * @param {HTMLElement} [badge]
 */
export function statusBadge (status, badge = h('span', { className: 'badge doc-status' })) {
  badge.hidden = !status || !LABELS[status]
  if (status && LABELS[status]) {
    badge.dataset.status = status
    translated(badge, LABELS[status])
  }
  return badge
}

/**
 * @param {object} options
 * @param {string} options.id the document
 * @param {import('./access.js').AccessTracker} options.access
 * @param {import('./error-box.js').ErrorBox} options.error
 * @returns {{ badge: HTMLElement, actions: HTMLElement, dialog: HTMLDialogElement }}
 */
export function statusBar ({ id, access, error }) {
  const badge = h('span', { id: 'doc-status', className: 'badge doc-status', attrs: { role: 'status' } })
  badge.hidden = true
  const toReview = button('docstatus.to_review', 'to-review')
  const toDraft = button('docstatus.to_draft', 'to-draft')
  const ratifyOpen = button('docstatus.ratify', 'ratify-open', '')
  const revise = button('docstatus.start_revision', 'start-revision')
  const ratifiedLink = translated(h('a', { id: 'ratified-link', attrs: { href: ratifiedUrl(id) } }), 'docstatus.ratified_link')
  const revisionLink = translated(h('a', { id: 'revision-link', attrs: { href: '#' } }), 'docstatus.revision_link')
  const revisionOfLink = translated(h('a', { id: 'revision-of-link', attrs: { href: '#' } }), 'docstatus.revision_of_link')
  const actions = h('span', { className: 'status-actions' }, [
    toReview, toDraft, ratifyOpen, revise, ratifiedLink, revisionLink, revisionOfLink
  ])
  const dialog = ratifyDialog(id, () => window.location.assign(ratifiedUrl(id)))
  /** @type {{ revision_of?: string | null, revised_by?: string | null }} */
  let links = {}
  /** @type {string | null} */
  let shown = null

  const render = () => {
    const { role, status } = access.get()
    const chair = role === 'chair'
    statusBadge(status, badge)
    toReview.hidden = !(chair && status === 'draft')
    toDraft.hidden = !(chair && status === 'review')
    ratifyOpen.hidden = !(chair && status === 'review')
    revise.hidden = !(chair && status === 'ratified' && !links.revised_by)
    ratifiedLink.hidden = status !== 'ratified'
    revisionLink.hidden = !links.revised_by
    if (links.revised_by) revisionLink.setAttribute('href', documentUrl(links.revised_by))
    revisionOfLink.hidden = !links.revision_of
    if (links.revision_of) revisionOfLink.setAttribute('href', ratifiedUrl(links.revision_of))
  }
  // the links to revisions come with the document: ask again when the status changes
  access.onChange(({ status }) => {
    render()
    if (status === shown) return
    shown = status
    getDocument(id).then((doc) => {
      const detail = /** @type {typeof links} */ (doc)
      links = { revision_of: detail.revision_of, revised_by: detail.revised_by }
      render()
    }, () => {})
  })
  render()
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || access.get().status === null) return
    getDocument(id).then((doc) => {
      const detail = /** @type {typeof links} */ (doc)
      links = { revision_of: detail.revision_of, revised_by: detail.revised_by }
      access.setDocument(doc)
      render()
    }, () => {})
  })

  /**
   * @param {HTMLButtonElement} control
   * @param {() => Promise<unknown>} work
   */
  const act = (control, work) => {
    control.addEventListener('click', async () => {
      control.disabled = true
      error.clear()
      try {
        await work()
      } catch (err) {
        error.fail(err, 'error.status')
      } finally {
        control.disabled = false
      }
    })
  }
  act(toReview, async () => access.setDocument(await setStatus(id, 'review')))
  act(toDraft, async () => access.setDocument(await setStatus(id, 'draft')))
  act(revise, async () => {
    const draft = await startRevision(id)
    window.location.assign(documentUrl(draft.id))
  })
  ratifyOpen.addEventListener('click', () => dialog.open())
  return { badge, actions, dialog: dialog.element }
}
