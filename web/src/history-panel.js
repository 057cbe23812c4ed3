/**
 * The history of a document on the editor page: #history opens #history-panel, which lists
 * the versions, newest first (#version-list, li[data-number][data-kind]): number, name, kind,
 * when and by whom, and who edited since the previous version and from which organizations.
 *
 * - chairs and delegates (`can_snapshot`) save a named version (#snapshot-form: #version-name,
 *   #save-version; not once ratified) and, while the document is a draft, restore one (.version-restore, then an
 *   inline .version-restore-confirm): its text comes back as new edits, history is kept;
 * - everyone opens a version, rendered and read-only (.version-view -> #version-view,
 *   version-view.js);
 * - everyone compares two versions, or a version with the current text (#diff-from, #diff-to,
 *   #diff-show -> #diff-view), and downloads a version (.version-export[data-format]).
 */
import { formatDate, parseDate } from './dates.js'
import { h } from './dom.js'
import { onLangChange, t, translated, translatedAttr } from './i18n.js'
import * as api from './versions-api.js'
import { versionView } from './version-view.js'

/** @typedef {import('./versions-api.js').Version} Version */

/**
 * @typedef {object} HistoryContext
 * @property {string} id
 * @property {import('./access.js').AccessTracker} access
 * @property {import('./error-box.js').ErrorBox} error
 * @property {boolean} canSnapshot
 * @property {() => Promise<void>} refresh
 * @property {(version: Version) => void} view
 * @property {(from: number | 'current', to: number | 'current') => void} compare
 */

/** @type {Record<string, string>} */
const KINDS = {
  named: 'history.kind.named',
  auto: 'history.kind.auto',
  status: 'history.kind.status',
  ratified: 'history.kind.ratified',
  restore: 'history.kind.restore'
}

/** @type {Record<import('./versions-api.js').ExportFormat, string>} */
export const FORMAT_KEYS = { md: 'download.md', html: 'download.html', pdf: 'download.pdf' }

/** @param {string | null | undefined} value */
const when = (value) => {
  const date = parseDate(value)
  return date ? formatDate(date) : ''
}

/** @param {Version} version */
function versionTitle (version) {
  return version.name
    ? t('history.version_named', { number: version.number, name: version.name })
    : t('history.version', { number: version.number })
}

/**
 * "Edited by Ana (FMX), Beto"
 * @param {Version} version
 */
function editorsLine (version) {
  const editors = version.editors || []
  if (editors.length === 0) return translated(h('p', { className: 'version-editors hint' }), 'history.no_edits')
  const names = editors.map((e) => (e.organization ? `${e.name} (${e.organization.short_name})` : e.name)).join(', ')
  const orgs = (version.organizations || []).join(', ')
  return h('p', { className: 'version-editors hint' }, [
    t('history.edited_by', { names }),
    orgs ? ' · ' + t('history.organizations', { organizations: orgs }) : ''
  ])
}

/**
 * The links that download a version: Markdown, HTML, PDF.
 * @param {string} id
 * @param {number} number
 */
export function exportLinks (id, number) {
  return h('span', { className: 'export-links' }, [
    translated(h('span', { className: 'hint' }), 'download.label'),
    ...api.EXPORT_FORMATS.map((format) => translated(h('a', {
      className: 'version-export',
      data: { format },
      attrs: { href: api.versionExportUrl(id, number, format), download: '' }
    }), FORMAT_KEYS[format]))
  ])
}

/**
 * Restore, asking first in place.
 * @param {Version} version
 * @param {HistoryContext} ctx
 */
function restoreControl (version, ctx) {
  const ask = translated(h('button', { className: 'version-restore link-button', attrs: { type: 'button' } }), 'history.restore')
  const confirm = translated(h('button', { className: 'version-restore-confirm danger', attrs: { type: 'button' } }), 'history.restore_confirm')
  const cancel = translated(h('button', { className: 'link-button', attrs: { type: 'button' } }), 'history.cancel')
  const asking = h('span', { className: 'confirm', attrs: { role: 'group' } }, [
    translated(h('span', {}), 'history.restore_question', { number: version.number }), ' ', confirm, ' ', cancel
  ])
  asking.hidden = true
  ask.addEventListener('click', () => { ask.hidden = true; asking.hidden = false; cancel.focus() })
  cancel.addEventListener('click', () => { ask.hidden = false; asking.hidden = true; ask.focus() })
  confirm.addEventListener('click', async () => {
    confirm.disabled = true
    ctx.error.clear()
    try {
      await api.restoreVersion(ctx.id, version.number)
      await ctx.refresh()
    } catch (err) {
      confirm.disabled = false
      ctx.error.fail(err, 'error.history')
    }
  })
  return h('span', { className: 'version-restore-box' }, [ask, asking])
}

/**
 * @param {Version} version
 * @param {HistoryContext} ctx
 */
function versionItem (version, ctx) {
  const view = translated(h('button', { className: 'version-view link-button', attrs: { type: 'button' } }), 'history.view')
  view.addEventListener('click', () => ctx.view(version))
  const compare = translated(h('button', { className: 'version-compare link-button', attrs: { type: 'button' } }), 'history.compare_current')
  compare.addEventListener('click', () => ctx.compare(version.number, 'current'))
  const by = version.created_by ? version.created_by.name : t('history.by_server')
  const draft = ctx.access.get().status === 'draft'
  return h('li', { data: { number: String(version.number), kind: version.kind } }, [
    h('div', { className: 'version-head' }, [
      h('span', { className: 'version-title' }, [versionTitle(version)]),
      translated(h('span', { className: 'version-kind', data: { kind: version.kind } }), KINDS[version.kind] || 'history.kind.auto'),
      h('time', { className: 'hint', attrs: { datetime: version.created_at } }, [t('history.when_by', { when: when(version.created_at), name: by })])
    ]),
    editorsLine(version),
    h('div', { className: 'version-actions' }, [
      view, compare,
      ctx.canSnapshot && draft ? restoreControl(version, ctx) : null,
      exportLinks(ctx.id, version.number)
    ])
  ])
}

/**
 * "Save a named version" (#snapshot-form).
 * @param {HistoryContext} ctx
 */
function snapshotForm (ctx) {
  const name = h('input', { id: 'version-name', attrs: { type: 'text', name: 'version-name', required: '', autocomplete: 'off', maxlength: '200' } })
  translatedAttr(name, 'placeholder', 'history.name_placeholder')
  const save = translated(h('button', { id: 'save-version', attrs: { type: 'submit' } }), 'history.save')
  const form = h('form', { id: 'snapshot-form', className: 'row' }, [
    translated(h('label', { className: 'visually-hidden', attrs: { for: 'version-name' } }), 'history.name_label'),
    name, save
  ])
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const text = name.value.trim()
    if (!text) return
    save.disabled = true
    ctx.error.clear()
    try {
      await api.createVersion(ctx.id, text)
      name.value = ''
      await ctx.refresh()
    } catch (err) {
      ctx.error.fail(err, 'error.history')
    } finally {
      save.disabled = false
    }
  })
  return form
}

/**
 * Two selects (a version, or the current text) and #diff-show.
 * @param {HistoryContext} ctx
 */
function compareForm (ctx) {
  const from = h('select', { id: 'diff-from', attrs: { name: 'diff-from' } })
  const to = h('select', { id: 'diff-to', attrs: { name: 'diff-to' } })
  const show = translated(h('button', { id: 'diff-show', className: 'secondary', attrs: { type: 'submit' } }), 'history.compare')
  const form = h('form', { id: 'compare-form', className: 'row compare-form' }, [
    translated(h('label', { attrs: { for: 'diff-from' } }), 'history.compare_from'), from,
    translated(h('label', { attrs: { for: 'diff-to' } }), 'history.compare_to'), to,
    show
  ])
  /** @param {string} value */
  const pick = (value) => (value === 'current' ? 'current' : Number(value))
  let chosen = false // until the person picks, compare the newest version with the text
  from.addEventListener('change', () => { chosen = true })
  to.addEventListener('change', () => { chosen = true })
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    ctx.compare(pick(from.value), pick(to.value))
  })
  return {
    form,
    /** @param {Version[]} versions newest first */
    fill (versions) {
      const options = () => [
        translated(h('option', { attrs: { value: 'current' } }), 'history.current'),
        ...versions.map((v) => h('option', { attrs: { value: String(v.number) } }, [versionTitle(v)]))
      ]
      const keepFrom = from.value
      const keepTo = to.value
      from.replaceChildren(...options())
      to.replaceChildren(...options())
      /** @param {HTMLSelectElement} select @param {string} value */
      const has = (select, value) => [...select.options].some((o) => o.value === value)
      from.value = chosen && has(from, keepFrom) ? keepFrom : String(versions.length > 0 ? versions[0].number : 'current')
      to.value = chosen && has(to, keepTo) ? keepTo : 'current'
      form.hidden = versions.length === 0
    }
  }
}

/**
 * @param {string} id the document
 * @param {import('./access.js').AccessTracker} access
 * @param {import('./error-box.js').ErrorBox} error
 * @returns {{ button: HTMLButtonElement, panel: HTMLElement }}
 */
export function historyPanel (id, access, error) {
  const button = translated(h('button', {
    id: 'history',
    className: 'link-button',
    attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'history-panel' }
  }), 'history.open')
  const list = h('ol', { id: 'version-list', className: 'version-list' })
  const status = translated(h('p', { className: 'empty' }), 'history.loading')
  const shown = versionView(id, error, versionTitle, (number) => exportLinks(id, number))
  /** @type {Version[]} */
  let versions = []
  /** @type {HistoryContext} */
  const ctx = {
    id,
    access,
    error,
    canSnapshot: false,
    refresh: async () => {},
    view: () => {},
    compare: () => {}
  }
  const snapshot = snapshotForm(ctx)
  snapshot.hidden = true
  const compare = compareForm(ctx)
  const panel = h('section', { id: 'history-panel', className: 'card history-panel', attrs: { 'aria-labelledby': 'history-heading' } }, [
    translated(h('h2', { id: 'history-heading' }), 'history.heading'),
    snapshot,
    compare.form,
    status,
    list,
    shown.element
  ])
  panel.hidden = true

  const render = () => {
    list.replaceChildren(...versions.map((v) => versionItem(v, ctx)))
    compare.fill(versions)
    status.hidden = versions.length > 0
    if (versions.length === 0) translated(status, 'history.empty')
  }
  onLangChange(() => { if (!panel.hidden) render() })
  let lastStatus = access.get().status
  access.onChange(({ status }) => {
    if (panel.hidden) return
    if (status === lastStatus) return render()
    lastStatus = status // a status change takes a version: ask for the list again
    ctx.refresh().catch((err) => error.fail(err, 'error.history'))
  })

  ctx.refresh = async () => {
    const data = await api.listVersions(id)
    versions = data.versions
    ctx.canSnapshot = data.can_snapshot
    lastStatus = access.get().status
    snapshot.hidden = !data.can_snapshot || lastStatus === 'ratified'
    render()
  }
  ctx.view = (version) => { shown.version(version) }
  ctx.compare = (from, to) => { shown.diff(from, to) }

  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden
    button.setAttribute('aria-expanded', String(!panel.hidden))
    if (panel.hidden) return
    ctx.refresh().catch((err) => {
      status.hidden = true
      error.fail(err, 'error.history')
    })
  })
  return { button, panel }
}
