/**
 * The audit trail of a document, for its chairs: #audit (shown to chairs only) opens
 * #audit-panel with GET /api/documents/{id}/audit: whether the hash chain of the whole log
 * verifies (#audit-chain, data-ok="true|false") and the entries, newest first (#audit-list,
 * li[data-seq][data-action]): when, who, what (the action's code, as the log records it, and
 * its details).
 */
import { formatDate, parseDate } from './dates.js'
import { h } from './dom.js'
import { t, translated } from './i18n.js'
import { getAudit } from './versions-api.js'

/**
 * The actor as a name: a person, or the command line or the server itself.
 * @param {unknown} actor
 */
function actorName (actor) {
  if (actor && typeof actor === 'object') {
    const a = /** @type {{ type?: string, name?: string }} */ (actor)
    if (a.name) return a.name
    if (a.type === 'cli') return t('audit.actor_cli')
  }
  return t('audit.actor_system')
}

/**
 * The details as short "key: value" pairs (nested objects by their name or as JSON).
 * @param {Record<string, unknown> | null} details
 */
function detailsText (details) {
  if (!details || typeof details !== 'object') return ''
  return Object.entries(details).map(([key, value]) => {
    if (value && typeof value === 'object' && 'name' in value) return `${key}: ${String(/** @type {{ name: unknown }} */ (value).name)}`
    return `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`
  }).join(' · ')
}

/** @param {import('./versions-api.js').AuditEntry} entry */
function entryItem (entry) {
  const date = parseDate(entry.time)
  return h('li', { data: { seq: String(entry.seq), action: entry.action } }, [
    h('time', { className: 'hint', attrs: { datetime: date ? date.toISOString() : '' } }, [date ? formatDate(date) : '']),
    h('span', { className: 'audit-actor' }, [actorName(entry.actor)]),
    h('code', { className: 'audit-action' }, [entry.action]),
    h('span', { className: 'audit-details hint' }, [detailsText(entry.details)])
  ])
}

/**
 * @param {string} id the document
 * @param {import('./access.js').AccessTracker} access
 * @param {import('./error-box.js').ErrorBox} error
 * @returns {{ button: HTMLButtonElement, panel: HTMLElement }}
 */
export function auditPanel (id, access, error) {
  const button = translated(h('button', {
    id: 'audit',
    className: 'link-button',
    attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'audit-panel' }
  }), 'audit.open')
  button.hidden = true
  access.onChange(({ role }) => { button.hidden = role !== 'chair' })
  const chain = h('p', { id: 'audit-chain', attrs: { role: 'status' } })
  const list = h('ol', { id: 'audit-list', className: 'audit-list' })
  const status = translated(h('p', { className: 'empty' }), 'audit.loading')
  const panel = h('section', { id: 'audit-panel', className: 'card audit-panel', attrs: { 'aria-labelledby': 'audit-heading' } }, [
    translated(h('h2', { id: 'audit-heading' }), 'audit.heading'),
    chain, status, list
  ])
  panel.hidden = true
  const refresh = async () => {
    const data = await getAudit(id)
    chain.dataset.ok = String(data.chain_ok)
    if (data.chain_ok) translated(chain, 'audit.chain_ok')
    else translated(chain, 'audit.chain_broken', { problem: data.chain_problem || '' })
    list.replaceChildren(...data.entries.map(entryItem))
    status.hidden = data.entries.length > 0
    if (data.entries.length === 0) translated(status, 'audit.empty')
  }
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden
    button.setAttribute('aria-expanded', String(!panel.hidden))
    if (panel.hidden) return
    refresh().catch((err) => {
      status.hidden = true
      error.fail(err, 'error.audit')
    })
  })
  return { button, panel }
}
