/**
 * The federation's ratified texts (/ratified), the way a secretariat follows up: one row per
 * ratified text (tr[data-document-id], a link to its page, its date and deciding body, how
 * many organizations adopted it), one column per organization, each cell the organization's
 * decision (td[data-org][data-decision]). Empty: #ratified-empty.
 */
import { decisionBadge } from './adoption-form.js'
import { h } from './dom.js'
import { errorBox } from './error-box.js'
import { onLangChange, t, translated } from './i18n.js'
import { topbar } from './topbar.js'
import { listRatified, ratifiedUrl } from './versions-api.js'

/** @typedef {import('./versions-api.js').RatifiedSummary} RatifiedSummary */
/** @typedef {import('./versions-api.js').Organization} Organization */

/**
 * @param {RatifiedSummary} text
 * @param {Organization[]} organizations
 */
function textRow (text, organizations) {
  const decided = organizations.filter((o) => {
    const d = text.adoptions[o.short_name]
    return d === 'adopted' || d === 'adopted_with_reservations'
  }).length
  return h('tr', { data: { documentId: text.document_id } }, [
    h('th', { attrs: { scope: 'row' } }, [
      h('a', { attrs: { href: ratifiedUrl(text.document_id) } }, [text.title || t('docs.untitled')]),
      h('span', { className: 'hint dashboard-meta' }, [t('dashboard.meta', { date: text.date || '', body: text.body || '' })]),
      h('span', { className: 'hint dashboard-count' }, [t('dashboard.adopted_count', { count: decided, total: organizations.length })])
    ]),
    ...organizations.map((o) => {
      const decision = text.adoptions[o.short_name] || 'pending'
      return h('td', { data: { org: o.short_name, decision } }, [decisionBadge(decision)])
    })
  ])
}

/**
 * @param {HTMLElement} app
 * @param {Promise<import('./api.js').Me>} me
 */
export function dashboardPage (app, me) {
  const error = errorBox()
  const empty = translated(h('p', { id: 'ratified-empty', className: 'empty' }), 'dashboard.loading')
  const table = h('table', { id: 'ratified-table', className: 'grid dashboard' })
  table.hidden = true
  /** @type {{ texts: RatifiedSummary[], organizations: Organization[] }} */
  let data = { texts: [], organizations: [] }
  const render = () => {
    const head = h('tr', {}, [
      translated(h('th', { attrs: { scope: 'col' } }), 'dashboard.text'),
      ...data.organizations.map((o) => h('th', { attrs: { scope: 'col', title: o.name }, data: { org: o.short_name } }, [o.short_name]))
    ])
    table.replaceChildren(h('thead', {}, [head]), h('tbody', {}, data.texts.map((text) => textRow(text, data.organizations))))
    table.hidden = data.texts.length === 0
  }
  onLangChange(render)
  app.replaceChildren(
    topbar({ me, error }),
    h('div', { className: 'page wide dashboard-page' }, [
      translated(h('h1', {}), 'page.dashboard'),
      translated(h('p', { className: 'intro' }), 'dashboard.intro'),
      error.element,
      empty,
      h('div', { className: 'table-scroll' }, [table]),
      h('p', {}, [translated(h('a', { attrs: { href: '/verify' } }), 'dashboard.verify_link')])
    ])
  )
  listRatified().then((answer) => {
    data = answer
    render()
    empty.hidden = data.texts.length > 0
    if (data.texts.length === 0) translated(empty, 'dashboard.empty')
  }).catch((err) => {
    empty.hidden = true
    error.fail(err, 'error.load_ratified')
  })
}
