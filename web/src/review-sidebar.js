/**
 * The review sidebar (#review): "Comment" (#review-comment) and "Suggest a change"
 * (#review-suggest) on the current selection, with the reason when they are off
 * (#review-reason, e.g. for observers); the chair's switch "delegates may decide"
 * (#review-delegates-decide); filters (#review-status, #review-mine, #review-org); and the
 * threads in text order (#review-list), those on deleted text last.
 */
import { h } from './dom.js'
import { onLangChange, t, translated } from './i18n.js'

/** @typedef {{ status: string, mine: boolean, organization: string }} Filter */
/** @typedef {import('./comments-api.js').ReviewOrganization} ReviewOrganization */

const STATUSES = [
  ['', 'review.filter_all'],
  ['open', 'review.status_open'],
  ['resolved', 'review.status_resolved'],
  ['accepted', 'review.status_accepted'],
  ['rejected', 'review.status_rejected']
]

/**
 * @param {string} id
 * @param {string} key
 * @param {HTMLElement} control
 */
function labelled (id, key, control) {
  control.id = id
  return h('span', { className: 'review-filter' }, [translated(h('label', { attrs: { for: id } }), key), control])
}

/**
 * @param {object} handlers
 * @param {(kind: 'comment' | 'suggestion') => void} handlers.onAdd
 * @param {() => void} handlers.onFilter
 * @param {(on: boolean) => void} handlers.onDelegatesDecide
 */
export function reviewSidebar ({ onAdd, onFilter, onDelegatesDecide }) {
  const comment = translated(h('button', { id: 'review-comment', attrs: { type: 'button', 'aria-keyshortcuts': 'Control+Alt+M' } }), 'review.comment')
  const suggest = translated(h('button', { id: 'review-suggest', attrs: { type: 'button', 'aria-keyshortcuts': 'Control+Alt+S' } }), 'review.suggest')
  for (const [button, kind] of /** @type {const} */ ([[comment, 'comment'], [suggest, 'suggestion']])) {
    // the editor keeps the focus (and its cursor): a suggestion may insert at the cursor
    button.addEventListener('mousedown', (event) => event.preventDefault())
    button.addEventListener('click', () => onAdd(kind))
  }
  const reason = h('p', { id: 'review-reason', className: 'hint' })
  const shortcuts = translated(h('p', { className: 'hint review-shortcuts' }), 'review.shortcuts')

  const decide = h('input', { id: 'review-delegates-decide', attrs: { type: 'checkbox' } })
  decide.addEventListener('change', () => onDelegatesDecide(decide.checked))
  const settings = h('p', { className: 'review-settings' }, [
    decide, ' ', translated(h('label', { attrs: { for: 'review-delegates-decide' } }), 'review.delegates_decide')
  ])
  settings.hidden = true

  const status = h('select', {})
  const mine = h('input', { attrs: { type: 'checkbox' } })
  const org = h('select', {})
  /** @type {ReviewOrganization[]} */
  let organizations = []
  const fillSelects = () => {
    const chosen = [status.value, org.value]
    status.replaceChildren(...STATUSES.map(([value, key]) => h('option', { attrs: { value } }, [t(key)])))
    org.replaceChildren(
      h('option', { attrs: { value: '' } }, [t('review.filter_all_orgs')]),
      ...organizations.map((o) => h('option', { attrs: { value: String(o.id) } }, [o.short_name]))
    )
    status.value = chosen[0]
    org.value = organizations.some((o) => String(o.id) === chosen[1]) ? chosen[1] : ''
  }
  onLangChange(fillSelects)
  fillSelects()
  for (const control of [status, mine, org]) control.addEventListener('change', onFilter)

  const count = h('span', { id: 'review-count', className: 'review-count' })
  const list = h('ol', { id: 'review-list', className: 'review-list' })
  const empty = translated(h('p', { id: 'review-empty', className: 'empty' }), 'review.loading')
  const composerSlot = h('div', { className: 'review-composer' })
  const element = h('aside', { id: 'review', className: 'pane review', attrs: { 'aria-labelledby': 'review-heading' } }, [
    h('div', { className: 'review-head' }, [translated(h('h2', { id: 'review-heading' }), 'review.heading'), count]),
    h('div', { className: 'review-actions' }, [comment, suggest]),
    reason,
    shortcuts,
    composerSlot,
    settings,
    h('div', { className: 'review-filters' }, [
      labelled('review-status', 'review.filter_status', status),
      h('span', { className: 'review-filter' }, [mine, ' ', translated(h('label', { attrs: { for: 'review-mine' } }), 'review.filter_mine')]),
      labelled('review-org', 'review.filter_org', org)
    ]),
    empty,
    list
  ])
  mine.id = 'review-mine'

  return {
    element,
    composerSlot,
    list,
    empty,
    /** @param {string | null} key a hint where the reason goes (null: the reason again) */
    say (key) {
      if (key) translated(reason, key)
      else if (reason.dataset.reasonKey) translated(reason, reason.dataset.reasonKey)
      reason.hidden = !key && !reason.dataset.reasonKey
    },
    /** @returns {Filter} */
    filter: () => ({ status: status.value, mine: mine.checked, organization: org.value }),
    /**
     * @param {{ canComment: boolean, reasonKey: string | null, chair: boolean, delegatesDecide: boolean }} state
     */
    setPermissions ({ canComment, reasonKey, chair, delegatesDecide }) {
      comment.disabled = !canComment
      suggest.disabled = !canComment
      reason.hidden = !reasonKey
      if (reasonKey) translated(reason, reasonKey)
      if (reasonKey) reason.dataset.reasonKey = reasonKey
      else delete reason.dataset.reasonKey
      shortcuts.hidden = !canComment
      settings.hidden = !chair
      decide.checked = delegatesDecide
    },
    /** @param {ReviewOrganization[]} next */
    setOrganizations (next) {
      organizations = [...next].sort((a, b) => a.short_name.localeCompare(b.short_name))
      fillSelects()
    },
    /**
     * @param {HTMLElement[]} cards in order
     * @param {number} total threads before filtering
     */
    show (cards, total) {
      const same = cards.length === list.children.length && cards.every((card, i) => list.children[i] === card)
      if (!same) list.replaceChildren(...cards)
      translated(count, 'review.count', { shown: cards.length, total })
      empty.hidden = cards.length > 0
      if (!cards.length) translated(empty, total ? 'review.none_match' : 'review.none')
    }
  }
}
