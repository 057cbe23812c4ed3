/**
 * The page of a ratified text (/ratified/{id}), readable by everyone signed in: the title
 * (#ratified-title), its fingerprint (#ratified-sha, copied by #copy-sha), the decision
 * (#ratified-body, #ratified-date, #ratified-votes, #ratified-notes, who ratified it and
 * when), the exports (#ratified-exports a[data-format], each carrying the fingerprint), the
 * public permalink (#public-toggle for chairs, #public-url), the adoption status of every
 * organization (#adoption-table, tr[data-org] with .decision[data-decision]) with the form
 * to record one (adoption-form.js) for those allowed, and the text itself (#ratified-text).
 *
 * The same page, without the exports, the forms and the sign-in, is the public permalink
 * (/p/{slug}) of a text a chair published.
 */
import { ApiError } from './api.js'
import { adoptionForm, decisionBadge } from './adoption-form.js'
import { formatDate, parseDate } from './dates.js'
import { h } from './dom.js'
import { errorBox } from './error-box.js'
import { FORMAT_KEYS } from './history-panel.js'
import { onLangChange, t, translated } from './i18n.js'
import { setPageTitle } from './page-title.js'
import { renderMarkdown } from './render.js'
import { topbar } from './topbar.js'
import * as api from './versions-api.js'

/** @typedef {import('./versions-api.js').Ratified} Ratified */

/** @param {string | null | undefined} value */
const when = (value) => {
  const date = parseDate(value)
  return date ? formatDate(date) : ''
}

/**
 * A button that copies `text`: the clipboard API where allowed, else the selection of `source`.
 * @param {HTMLElement} source
 * @param {string} id
 */
export function copyButton (source, id) {
  const button = translated(h('button', { id, className: 'secondary', attrs: { type: 'button' } }), 'ratified.copy')
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(source.textContent || '')
    } catch {
      const range = document.createRange()
      range.selectNodeContents(source)
      const selection = window.getSelection()
      if (selection) {
        selection.removeAllRanges()
        selection.addRange(range)
      }
      document.execCommand('copy')
    }
    translated(button, 'ratified.copied')
    setTimeout(() => translated(button, 'ratified.copy'), 2000)
  })
  return button
}

/**
 * @param {string} labelKey
 * @param {Node | string} value
 * @param {string} [id]
 */
const row = (labelKey, value, id) => [
  translated(h('dt', {}), labelKey),
  h('dd', id ? { id } : {}, [value])
]

/** @param {Ratified} r */
function decisionDetails (r) {
  const sha = h('code', { id: 'ratified-sha', className: 'sha' }, [r.sha256])
  return h('dl', { className: 'details ratified-details' }, [
    ...row('ratified.fingerprint', h('span', { className: 'sha-box' }, [sha, ' ', copyButton(sha, 'copy-sha')])),
    ...row('ratified.body', r.body || '', 'ratified-body'),
    ...row('ratified.date', r.date || '', 'ratified-date'),
    ...row('ratified.votes', t('ratified.votes_text', { for: r.votes.for, against: r.votes.against, abstentions: r.votes.abstentions }), 'ratified-votes'),
    ...(r.notes ? row('ratified.notes', r.notes, 'ratified-notes') : []),
    ...row('ratified.by', t('ratified.by_text', { name: r.ratified_by ? r.ratified_by.name : '—', when: when(r.ratified_at) })),
    ...row('ratified.version', String(r.version ? r.version.number : ''))
  ])
}

/** @param {Ratified} r */
function exportsBox (r) {
  return h('p', { id: 'ratified-exports', className: 'export-links' }, [
    translated(h('span', { className: 'hint' }), 'download.label'),
    ...api.EXPORT_FORMATS.map((format) => translated(h('a', {
      data: { format },
      attrs: { href: api.ratifiedExportUrl(r.document_id, format), download: '' }
    }), FORMAT_KEYS[format]))
  ])
}

/**
 * The public permalink: a checkbox for chairs (can_publish), the link for everyone once published.
 * @param {Ratified} r
 * @param {import('./error-box.js').ErrorBox} error
 */
function publicBox (r, error) {
  const link = h('a', { id: 'public-url' })
  const show = (/** @type {string | null} */ url) => {
    link.hidden = !url
    if (url) {
      const full = new URL(url, window.location.origin).href
      link.setAttribute('href', url)
      link.textContent = full
    }
  }
  show(r.public_url)
  const box = h('div', { className: 'public-box' })
  if (r.can_publish) {
    const toggle = h('input', { id: 'public-toggle', attrs: { type: 'checkbox' } })
    toggle.checked = Boolean(r.public_url)
    toggle.addEventListener('change', async () => {
      toggle.disabled = true
      error.clear()
      try {
        const answer = await api.setPublic(r.document_id, toggle.checked)
        show(answer.public_url)
      } catch (err) {
        toggle.checked = !toggle.checked
        error.fail(err, 'error.publish')
      } finally {
        toggle.disabled = false
      }
    })
    box.append(h('label', { className: 'check' }, [toggle, ' ', translated(h('span', {}), 'ratified.publish')]))
  } else if (!r.public_url) {
    box.hidden = true
  }
  box.append(translated(h('span', { className: 'hint' }), 'ratified.public_hint'), ' ', link)
  return box
}

/**
 * The adoption status of every organization.
 * @param {Ratified} r
 */
function adoptionTable (r) {
  const head = h('tr', {}, ['adoption.organization', 'adoption.decision', 'adoption.body', 'adoption.date', 'adoption.details', 'adoption.recorded']
    .map((key) => translated(h('th', { attrs: { scope: 'col' } }), key)))
  const rows = r.adoptions.map((a) => {
    const details = [
      a.reservations ? h('p', { className: 'reservations' }, [t('adoption.reservations_text', { text: a.reservations })]) : null,
      a.notes ? h('p', { className: 'notes' }, [a.notes]) : null
    ]
    const recorded = a.recorded_by ? t('ratified.by_text', { name: a.recorded_by.name, when: when(a.recorded_at) }) : ''
    return h('tr', { data: { org: a.organization.short_name, decision: a.decision } }, [
      h('th', { attrs: { scope: 'row' } }, [
        h('span', { className: 'org-short' }, [a.organization.short_name]), ' ',
        h('span', { className: 'hint' }, [a.organization.name])
      ]),
      h('td', {}, [decisionBadge(a.decision)]),
      h('td', {}, [a.body || '']),
      h('td', {}, [a.date || '']),
      h('td', {}, details),
      h('td', { className: 'hint' }, [recorded])
    ])
  })
  return h('div', { className: 'table-scroll' }, [
    h('table', { id: 'adoption-table', className: 'grid' }, [h('thead', {}, [head]), h('tbody', {}, rows)])
  ])
}

/**
 * @param {HTMLElement} app
 * @param {string} id the document, or the public slug
 * @param {Promise<import('./api.js').Me> | null} me null on the public page
 */
export function ratifiedPage (app, id, me) {
  const isPublic = me === null
  const error = errorBox()
  const title = translated(h('h1', { id: 'ratified-title' }), 'ratified.loading')
  const body = h('div', { className: 'ratified-main' })
  const adoptions = h('section', { id: 'adoptions', className: 'adoptions' })
  const text = h('article', { id: 'ratified-text', className: 'markdown-body preview ratified-text' })
  /** @type {Ratified | null} */
  let current = null
  /** @type {string | undefined} the organization to offer first: one's own */
  let ownOrganization
  if (me) me.then((user) => { ownOrganization = user.organization ? user.organization.short_name : undefined }, () => {})
  setPageTitle(() => (current ? current.title : t('page.ratified')))
  const form = adoptionForm(id, error, () => load())

  const render = () => {
    const r = current
    if (!r) return
    delete title.dataset.i18n
    title.textContent = r.title || t('docs.untitled')
    body.replaceChildren(
      h('p', { className: 'status-line' }, [
        translated(h('span', { className: 'badge doc-status', data: { status: 'ratified' } }), 'docstatus.ratified'), ' ',
        isPublic ? null : translated(h('a', { attrs: { href: api.ratifiedUrl() } }), 'ratified.all')
      ]),
      h('section', { className: 'card' }, isPublic ? [decisionDetails(r)] : [decisionDetails(r), exportsBox(r), publicBox(r, error)])
    )
    const allowed = new Set(r.can_record || [])
    adoptions.replaceChildren(
      translated(h('h2', {}), 'adoption.heading'),
      adoptionTable(r)
    )
    form.show(r.adoptions.map((a) => a.organization).filter((o) => allowed.has(o.short_name)), ownOrganization)
  }
  const load = async () => {
    current = await (isPublic ? api.getPublic(id) : api.getRatified(id))
    text.innerHTML = renderMarkdown(current.markdown) // markdown-it, raw HTML off (render.js)
    setPageTitle(() => (current ? current.title : t('page.ratified')))
    render()
  }
  onLangChange(render)
  form.element.hidden = true

  app.replaceChildren(
    topbar(me ? { me, error } : {}),
    h('div', { className: 'page wide ratified-page' }, [
      title, error.element, body, adoptions, form.element,
      translated(h('h2', {}), 'ratified.text_heading'), text
    ])
  )
  load().catch((err) => {
    if (err instanceof ApiError && err.status === 404) error.say('error.no_ratified')
    else error.fail(err, 'error.load_ratified')
  })
}
